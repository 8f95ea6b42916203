#!/bin/bash
# `make toy-augmented` in two lent-GPU calls (10 minutes each; the GPU image has no typer, so the
# python -m entry points): issue 15, item 3.
#   bench/checks/toy_augmented.sh train MINUTES   -> $OUT/model (the committed model had 7 minutes)
#   bench/checks/toy_augmented.sh eval MODEL_DIR  -> $OUT/heldout-{new,committed}.json
# Wheels carried in .whl/ (as for science_calls.sh). Copy the model over models/toy only if its
# held-out pass@n is at least the committed model's.
set -o pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD ARCFARM_SANDBOX=weak PYTHONUNBUFFERED=1
case "$1" in
  train)
    python3 -m arcfarm.toy.synth --n 40000 --heldout 0 --seed 0 --out /tmp/toy-aug/train.jsonl --workers 16 \
      > $OUT/synth.json || exit 1
    python3 -m arcfarm.toy.train --tasks /tmp/toy-aug/train.jsonl --out $OUT/model --minutes "$2" \
      --augment-frames 4 --augment-workers 16 2>&1 | tail -n 5 ;;
  eval)
    # NVIDIA's multi-process service, so 16 Solver processes share the GPU (3-4x faster runs, README)
    export CUDA_MPS_PIPE_DIRECTORY=/tmp/mps-pipe CUDA_MPS_LOG_DIRECTORY=/tmp/mps-log
    mkdir -p $CUDA_MPS_PIPE_DIRECTORY $CUDA_MPS_LOG_DIRECTORY
    nvidia-cuda-mps-control -d || pgrep -x nvidia-cuda-mps >/dev/null || unset CUDA_MPS_PIPE_DIRECTORY
    for pair in new=$2 committed=models/toy; do
      python3 -m arcfarm.toy.eval --model ${pair#*=} --tasks data/toy/heldout.jsonl --limit 100 --only 128+0 \
        --set engine=fast --set compile_decode=false --seeds 1 --workers 16 --out $OUT/heldout-${pair%%=*}.json 2>&1 | tail -n 3
    done ;;
  *) echo "usage: $0 train MINUTES | eval MODEL_DIR" >&2; exit 2 ;;
esac
ls -la $OUT
