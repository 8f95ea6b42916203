#!/bin/bash
# One call of the science experiment on a lent GPU machine (10 minutes a call), as run on
# 2026-12-03 for bench/results/science-v2-parts/: items in order, each continuing from every
# earlier part (--skip-runs-in), each with a deadline that leaves time to finish the runs in flight.
#   usage (on the device; wheels in .whl/ from device_wheels.sh, earlier parts in .gpu/, the commit
#   in .gpu/commit):   [MPS=1] bench/checks/science_calls.sh SECONDS FAMILY[:ARMS]...
#   ARMS: the test arms beside the chosen recipe (default learning-off), e.g. sampling-only,committed.
#   MPS=1 starts CUDA MPS first (device_env.sh). At most 8 files come back from $OUT: one result
#   per item, the checkpoint of an item that did not finish, gpu.txt.
# Then, here: arcfarm bench science-merge PARTS... --out bench/results/science-v2.json --plots ...
end=$(( $(date +%s) + $1 )); shift
. bench/checks/device_env.sh
nvidia-smi --query-gpu=name,memory.used --format=csv > $OUT/gpu.txt
[ "${MPS:-0}" = 1 ] && { mps_on > /tmp/mps.txt; cat /tmp/mps.txt >> $OUT/gpu.txt; }  # not a pipe: a subshell would lose its exports
status=0
for item in "$@"; do
  fam=${item%%:*}; arms=learning-off; [ "$item" != "$fam" ] && arms=${item#*:}
  left=$(( end - $(date +%s) )); [ $left -lt 90 ] && break
  skips=""; for f in .gpu/*.json $OUT/*.json; do [ -f "$f" ] && skips="$skips --skip-runs-in $f"; done
  out=$OUT/$fam-$(date +%s).json
  echo "== $fam ($arms), $left s left"
  python3 -m arcfarm.bench.science --family $fam=data/toy/families/$fam.test.jsonl --budget 128 --seeds 3 \
    --val-tasks 0 --test-tasks 48 --workers 16 --deadline-s $((left-70)) --test-arms $arms \
    --chosen new-outputs-lr1e-4 --validation-from bench/results/science-v2-run1.json \
    --set engine=fast --set compile_decode=false $skips --out $out > /tmp/science.log 2>&1 || status=1
  grep -v -e Warning -e "Loading weights" /tmp/science.log | tail -n 20
  [ -f $out ] && rm -f ${out%.json}.partial.json  # the result holds every run of its checkpoint
done
ls -la $OUT
exit $status
