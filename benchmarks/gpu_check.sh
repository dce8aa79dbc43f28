#!/usr/bin/env bash
# The GPU check: what to run when a CUDA machine is at hand (about 5 minutes on one GPU).
#   bash benchmarks/gpu_check.sh      (from anywhere; uses .venv, or $PYTHON)
# 1. torch and CUDA facts; 2. the tiny preset end to end with `device: cuda` (a private copy
# of the workflow in a temporary folder); 3. IG throughput on CUDA, fused against Captum, for
# the default and the full-width backbone at 50 steps (benchmarks/ig_throughput.py); 4. the
# estimated IG time of the paper's protocol at full width, 50 steps: the projection of
# docs/performance.md (~290 (clip, class) pairs, and the sanity job's 24 instances x 9 levels).
# Without CUDA it says so in one line and exits 0. Put the figures in docs/performance.md.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$repo/.venv/bin/python}
snakemake=$(dirname "$python")/snakemake
paper_pairs=290  # 193 val + test clips x ~1.5 detected classes (docs/performance.md)
sanity_pairs=216  # sanity.n_instances 24 x 9 randomisation levels, one job

if ! "$python" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  echo "gpu_check: no CUDA device visible to torch ($("$python" -c 'import torch; print(torch.__version__)' 2>/dev/null || echo 'torch missing')): nothing to check"
  exit 0
fi

echo "== 1. torch and CUDA"
"$python" - <<'PY'
import torch
props = torch.cuda.get_device_properties(0)
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}")
print(f"{torch.cuda.device_count()} device(s); 0: {props.name}, {props.total_memory / 2**30:.0f} GiB, "
      f"compute capability {props.major}.{props.minor}")
PY

echo "== 2. the tiny preset end to end on CUDA"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for name in Snakefile config.yaml rules workflow envs src; do cp -r "$repo/$name" "$work/"; done
started=$(date +%s)
(cd "$work" && PATH="$(dirname "$python"):$PATH" "$snakemake" --cores 4 --quiet rules \
  --configfile workflow/presets/tiny.yaml \
  --config "backbone={device: cuda}" "attribution={device: cuda}")
echo "tiny preset on CUDA: $(( $(date +%s) - started )) s; summary: $work/results/report/summary.md"
grep -rh "shard .* on cuda" "$work"/results/logs/attribute | head -1

echo "== 3. IG throughput on CUDA, fused against Captum (50 steps)"
"$python" "$repo/benchmarks/ig_throughput.py" --devices cuda --backbones default,full \
  --steps 50 --full-steps 50 --classes 1,2 --repeats 2 --no-flops --workdir "$work" \
  --out "$work/ig_throughput.tsv"

echo "== 4. the paper's protocol, estimated from the full-width fused rows"
"$python" - "$work/ig_throughput.tsv" "$paper_pairs" "$sanity_pairs" <<'PY'
import sys
import pandas as pd
table = pd.read_csv(sys.argv[1], sep="\t")
full = table[table["backbone"] == "CNN14 w1"]
per_pair = float((full["fused_s"] / full["classes"]).min())
pairs, sanity = int(sys.argv[2]), int(sys.argv[3])
print(f"full-width fused IG, 50 steps: {per_pair:.2f} s per (clip, class); "
      f"{pairs} pairs (the paper's protocol): about {pairs * per_pair / 60:.1f} min of IG; "
      f"the sanity job's {sanity} attributions: about {sanity * per_pair / 60:.1f} min")
PY
