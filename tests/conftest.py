"""Shared fixtures. Nothing in the tests may reach the network."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """The tiny random-init Llama + tokenizer (arcfarm make-tiny-model), built once per session."""
    from arcfarm.learn.tiny_model import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny-model"), seed=0)
