#!/bin/bash
# Issue 19's experiment (`arcfarm bench learn-history`) in one lent-GPU call: every seed in two
# processes side by side (--part adapter: A, learn, B+, U+; --part control: B0, U0), each on its
# own embedded database, under CUDA MPS (device_env.sh). Each process rewrites its result after
# every run, and all are stopped at SECONDS, so a call cut short still returns what finished.
#   usage (on the device; wheels in .whl/ from device_wheels.sh, the commit in .gpu/commit):
#     bench/checks/learn_history_calls.sh SECONDS LIMIT SEEN_FAMILY UNSEEN_FAMILY [SEEDS...]
#   (at most 4 seeds: 8 files come back from $OUT, one per process)
# Then, here: python -m arcfarm.bench.learn_history_bench --merge PARTS... --out bench/results/learn-from-history.json
[ $# -ge 4 ] || { echo "usage: $0 SECONDS LIMIT SEEN_FAMILY UNSEEN_FAMILY [SEEDS...]" >&2; exit 2; }
seconds=$1 limit=$2 seen=$3 unseen=$4; shift 4; seeds=${*:-0 1 2}
. bench/checks/device_env.sh
python3 -c "import trl, datasets, sqlalchemy, alembic" || { python3 -m pip list 2>/dev/null | grep -i arrow; exit 1; }
unset ARCFARM_DATABASE_URL ARCFARM_BROKER_URL
mps_on
pids=""
for s in $seeds; do
  for part in adapter control; do
    ARCFARM_HOME=/tmp/lh-$s-$part ARCFARM_ARTIFACTS=/tmp/lh-$s-$part/artifacts timeout $seconds \
    python3 -m arcfarm.bench.learn_history_bench --tasks data/toy/families/$seen.test.jsonl --seen-kinds "" \
      --unseen-tasks data/toy/families/$unseen.test.jsonl --unseen-kinds "" --limit $limit --budget 128 \
      --seeds $s --part $part -c toy-cpu --set device=cuda --set dtype=bfloat16 --set engine=fast \
      --set compile_decode=false --set sample_batch_size=128 --out $OUT/lh-$s-$part.json \
      > /tmp/lh-$s-$part.log 2>&1 &
    pids="$pids $!"
  done
done
status=0
for p in $pids; do wait $p || status=1; done
for f in /tmp/lh-*.log; do echo "== $f"; grep -v -i -e warn -e "Loading weights" $f | tail -n 4; done
ls -la $OUT
exit $status
