"""Only arcfarm's own lines on a new user's terminal: library warnings, log chatter and
progress bars (transformers' weight loading, hub downloads) are switched off unless asked for.

Environment variables are set before the libraries are imported (they read them then), and
their loggers are turned down for when they already are. arcfarm's own warnings still show.
"""
from __future__ import annotations

import logging
import os
import sys
import warnings

_QUIET_ENV = {
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TOKENIZERS_PARALLELISM": "false",  # its fork warning
}
_LIBRARIES = ("transformers", "huggingface_hub", "peft", "accelerate", "torch", "datasets")


def quiet_libraries() -> None:
    """Silence the libraries for this process (a user's explicit environment settings win)."""
    for key, value in _QUIET_ENV.items():
        os.environ.setdefault(key, value)
    warnings.simplefilter("ignore")
    warnings.filterwarnings("default", module=r"arcfarm(\.|$)")
    for name in _LIBRARIES:
        logging.getLogger(name).setLevel(logging.ERROR)
    if "transformers" in sys.modules:  # imported already: its switches, not its environment
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
