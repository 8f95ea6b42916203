#!/bin/bash
# Issue 17, item 1's GPU check: the compiled decode step (compile_decode: true) in the real loop on
# 100 held-out toy tasks (32 + 3x32: prompts of many lengths, a new adapter every round), 16 Solver
# processes under CUDA MPS. The result's `compile` says {processes, graphs, fallbacks, first_error}
# (target: 0 fallbacks); every schedule's `sample_warnings` counts the rounds that fell back.
#   usage (on the device; wheels in .whl/ from bench/checks/device_wheels.sh): bench/checks/compile_100.sh
. bench/checks/device_env.sh
mps_on
python3 -m arcfarm.toy.eval --model models/toy --tasks data/toy/heldout.jsonl --limit 100 --only 32+3x32 \
  --seeds 1 --workers 16 --set engine=fast --set compile_decode=true --out $OUT/compile-100.json \
  > /tmp/eval.log 2>&1 || { tail -n 20 /tmp/eval.log; exit 1; }
python3 -c "import json; d = json.load(open('$OUT/compile-100.json')); print(d['compile'], d['seconds'], 's')"
