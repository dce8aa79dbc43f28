#!/usr/bin/env bash
# Quick start, command 1: set everything up and run the default pipeline end to end
# (offline, CPU). Extra arguments go to snakemake, e.g. `bash scripts/run.sh -n`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/snakemake --cores all "$@"
