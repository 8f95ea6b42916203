#!/bin/bash
# One call of the science experiment on a lent GPU machine (10 minutes a call), as run on
# 2026-12-03 for bench/results/science-v2-parts/: items in order, each continuing from every
# earlier part (--skip-runs-in), each with a deadline that leaves time to finish the runs in flight.
#   usage (on the device, wheels carried in .whl/, earlier parts in .gpu/, commit in .gpu/commit):
#     [MPS=1] bench/checks/science_calls.sh SECONDS FAMILY[:ARMS]...
#   ARMS: the test arms beside the chosen recipe (default learning-off), e.g. sampling-only,committed.
#   MPS=1 starts NVIDIA's multi-process service first, so the 16 Solver processes' kernels share the
#   GPU instead of taking turns; if a CUDA client cannot start under it, the call goes on without it.
# Then, here: arcfarm bench science-merge PARTS... --out bench/results/science-v2.json --plots ...
end=$(( $(date +%s) + $1 )); shift
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD ARCFARM_SANDBOX=weak ARCFARM_GIT_COMMIT=$(cat .gpu/commit) PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.used --format=csv > $OUT/gpu.txt
if [ "${MPS:-0}" = 1 ]; then
  export CUDA_MPS_PIPE_DIRECTORY=/tmp/mps-pipe CUDA_MPS_LOG_DIRECTORY=/tmp/mps-log
  mkdir -p $CUDA_MPS_PIPE_DIRECTORY $CUDA_MPS_LOG_DIRECTORY
  if { nvidia-cuda-mps-control -d || pgrep -x nvidia-cuda-mps >/dev/null; } && timeout 60 python3 -c "import torch; torch.ones(1).cuda().sum().item()"; then
    echo "mps: on" | tee -a $OUT/gpu.txt
  else
    echo quit | nvidia-cuda-mps-control 2>/dev/null; unset CUDA_MPS_PIPE_DIRECTORY CUDA_MPS_LOG_DIRECTORY
    echo "mps: failed to start, running without it" | tee -a $OUT/gpu.txt
  fi
fi
for item in "$@"; do
  fam=${item%%:*}; arms=learning-off; [ "$item" != "$fam" ] && arms=${item#*:}
  left=$(( end - $(date +%s) )); [ $left -lt 90 ] && break
  skips=""; for f in .gpu/*.json $OUT/*.json; do [ -f "$f" ] && skips="$skips --skip-runs-in $f"; done
  echo "== $fam ($arms), $left s left"
  python3 -m arcfarm.bench.science --family $fam=data/toy/families/$fam.test.jsonl --budget 128 --seeds 3 \
    --val-tasks 0 --test-tasks 48 --workers 16 --deadline-s $((left-70)) --test-arms $arms \
    --chosen new-outputs-lr1e-4 --validation-from bench/results/science-v2-run1.json \
    --set engine=fast --set compile_decode=false $skips --out $OUT/$fam-$(date +%s).json 2>&1 | grep -v Warning | tail -n 30
done
[ -d /tmp/mps-log ] && cp /tmp/mps-log/*.log $OUT/ 2>/dev/null
ls -la $OUT
