#!/usr/bin/env bash
# Installs what igsed needs on a fresh Debian machine (as root): system packages, a
# virtual environment in .venv and the package itself. Idempotent: a second run only
# checks. Usage: bash scripts/setup.sh [--test]   (--test adds the test tools and SLURM)
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
[[ "${1:-}" == "--test" ]] && with_tests=1

apt_packages=(sox libsox-dev)
if [[ $with_tests == 1 ]]; then
  apt_packages+=(slurmctld slurmd slurm-client munge)
fi

missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if (( ${#missing[@]} )); then
  if [[ $(id -u) != 0 ]]; then
    echo "setup: missing Debian packages: ${missing[*]} (run as root, or install them first)" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  echo "setup: creating .venv with $($python --version)"
  "$python" -m venv .venv
fi

extra=""
[[ $with_tests == 1 ]] && extra="[test]"
stamp=".venv/.igsed-installed${extra}"
# Reinstall only when the dependency list changed since the last install.
digest=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$digest" ]]; then
  echo "setup: installing igsed${extra} into .venv (torch 2.11, captum, scaper, snakemake 9)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".${extra}"
  echo "$digest" > "$stamp"
fi
echo "setup: ready (.venv/bin/snakemake $(.venv/bin/snakemake --version))"
