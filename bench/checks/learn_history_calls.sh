#!/bin/bash
# Issue 19's experiment (`arcfarm bench learn-history`) in one lent-GPU call: every seed in two
# processes side by side (--part adapter: A, learn, B+, U+; --part control: B0, U0), each on its
# own embedded database, under NVIDIA's multi-process service so they share the GPU.
#   usage (on the device; wheels in .whl/ from bench/checks/device_wheels.sh, the commit in .gpu/commit):
#     bench/checks/learn_history_calls.sh LIMIT SEEN_FAMILY UNSEEN_FAMILY [SEEDS...]
# Then, here: python -m arcfarm.bench.learn_history_bench --merge PARTS... --out bench/results/learn-from-history.json
limit=$1 seen=$2 unseen=$3; shift 3; seeds=${*:-0 1 2}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD ARCFARM_SANDBOX=weak PYTHONUNBUFFERED=1 ARCFARM_GIT_COMMIT=$(cat .gpu/commit)
unset ARCFARM_DATABASE_URL ARCFARM_BROKER_URL
export CUDA_MPS_PIPE_DIRECTORY=/tmp/mps-pipe CUDA_MPS_LOG_DIRECTORY=/tmp/mps-log
mkdir -p $CUDA_MPS_PIPE_DIRECTORY $CUDA_MPS_LOG_DIRECTORY
nvidia-cuda-mps-control -d || pgrep -x nvidia-cuda-mps >/dev/null || unset CUDA_MPS_PIPE_DIRECTORY
for s in $seeds; do
  for part in adapter control; do
    ARCFARM_HOME=/tmp/lh-$s-$part ARCFARM_ARTIFACTS=/tmp/lh-$s-$part/artifacts \
    python3 -m arcfarm.bench.learn_history_bench --tasks data/toy/families/$seen.test.jsonl --seen-kinds "" \
      --unseen-tasks data/toy/families/$unseen.test.jsonl --unseen-kinds "" --limit $limit --budget 128 \
      --seeds $s --part $part -c toy-cpu --set device=cuda --set dtype=bfloat16 --set engine=fast \
      --set compile_decode=false --set sample_batch_size=128 --out $OUT/lh-$s-$part.json \
      > $OUT/lh-$s-$part.log 2>&1 &
  done
done
wait
tail -n 3 $OUT/*.log; ls -la $OUT
