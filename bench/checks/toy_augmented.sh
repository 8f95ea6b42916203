#!/bin/bash
# `make toy-augmented` in two lent-GPU calls (10 minutes each; python -m entry points): issue 15,
# item 3. Differences from the Makefile target: up to 7 minutes of training (as the committed model
# had; the call limit leaves no room for 12), ended early if the setup leaves less before the call's
# end (the first try, serial setup, spent 192.5 s of its 600 s there and was cut off mid-training),
# the fast engine, no frame probe (run `toy frames` on the CPU).
#   bench/checks/toy_augmented.sh train MINUTES   -> $OUT/model/ (its 8 files: all that comes back)
#   bench/checks/toy_augmented.sh eval MODEL_DIR  -> $OUT/heldout-{new,committed}.json
# For `eval`, copy the trained model into a git-ignored folder of the checkout (e.g. .gpu/toy-aug)
# and carry it. Copy it over models/toy only if its held-out pass@n is at least the committed model's.
[ -n "$2" ] || { echo "usage: $0 train MINUTES | eval MODEL_DIR" >&2; exit 2; }
. bench/checks/device_env.sh
case "$1" in
  train)
    python3 -m arcfarm.toy.synth --n 40000 --heldout 0 --seed 0 --out /tmp/toy-aug/train.jsonl --workers 16 \
      > /tmp/synth.json || exit 1
    # the call ends at 600 s and keeps nothing of a model not saved: training stops in time to save
    deadline=$(python3 -c "print(round((575 - $SECONDS) / 60, 2))")
    python3 -m arcfarm.toy.train --tasks /tmp/toy-aug/train.jsonl --out $OUT/model --minutes "$2" \
      --deadline-minutes $deadline --augment-frames 4 --augment-workers 16 > /tmp/train.log 2>&1 \
      || { tail -n 20 /tmp/train.log; exit 1; }
    grep -m 2 '"event"' $OUT/model/train_log.jsonl
    tail -n 3 $OUT/model/train_log.jsonl ;;
  eval)
    mps_on
    for pair in new=$2 committed=models/toy; do
      python3 -m arcfarm.toy.eval --model ${pair#*=} --tasks data/toy/heldout.jsonl --limit 100 --only 128+0 \
        --set engine=fast --set compile_decode=false --seeds 1 --workers 16 \
        --out $OUT/heldout-${pair%%=*}.json > /tmp/eval.log 2>&1 || { tail -n 20 /tmp/eval.log; exit 1; }
      tail -n 2 /tmp/eval.log
    done ;;
  *) echo "usage: $0 train MINUTES | eval MODEL_DIR" >&2; exit 2 ;;
esac
ls -la $OUT $OUT/model 2>/dev/null
