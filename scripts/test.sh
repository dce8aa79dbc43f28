#!/usr/bin/env bash
# Quick start, command 2: set everything up and run the whole test suite, with the
# linters and formatters that CI enforces. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
export PATH="$PWD/.venv/bin:$PATH"

echo "== ruff check"; ruff check src tests workflow/scripts benchmarks
echo "== ruff format --check"; ruff format --check src tests workflow/scripts benchmarks
echo "== snakefmt --check"; snakefmt --check Snakefile rules/
echo "== snakemake --lint"; snakemake --lint --cores 1 >/tmp/igsed-lint.txt 2>&1 || { cat /tmp/igsed-lint.txt; exit 1; }
if grep -q "Lints for" /tmp/igsed-lint.txt; then cat /tmp/igsed-lint.txt; exit 1; fi
echo "== pytest"; exec pytest "$@"
