#!/bin/bash
# One call of the science experiment on a lent GPU machine (10 minutes a call), as run on
# 2026-12-03 for bench/results/science-v2-parts/: families in order, each continuing from every
# earlier part (--skip-runs-in), each with a deadline that leaves time to finish the runs in flight.
#   usage (on the device, wheels carried in .whl/, earlier parts in .gpu/, commit in .gpu/commit):
#     bench/checks/science_calls.sh SECONDS FAMILY...
# Then, here: arcfarm bench science-merge PARTS... --out bench/results/science-v2.json --plots ...
end=$(( $(date +%s) + $1 )); shift
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD ARCFARM_SANDBOX=weak ARCFARM_GIT_COMMIT=$(cat .gpu/commit) PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.used --format=csv > $OUT/gpu.txt
for fam in "$@"; do
  left=$(( end - $(date +%s) )); [ $left -lt 90 ] && break
  skips=""; for f in .gpu/*.json $OUT/*.json; do [ -f "$f" ] && skips="$skips --skip-runs-in $f"; done
  echo "== $fam, $left s left"
  python3 -m arcfarm.bench.science --family $fam=data/toy/families/$fam.test.jsonl --budget 128 --seeds 3 \
    --val-tasks 0 --test-tasks 48 --workers 16 --deadline-s $((left-70)) --test-arms learning-off \
    --chosen new-outputs-lr1e-4 --validation-from bench/results/science-v2-run1.json \
    --set engine=fast --set compile_decode=false $skips --out $OUT/$fam-$(date +%s).json 2>&1 | grep -v Warning | tail -n 30
done
ls -la $OUT
