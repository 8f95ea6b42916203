"""Degrading loudly: a missing required layer stops the executor unless weak mode is asked for,
and the isolation in force is always reported."""
from __future__ import annotations

import os

import numpy as np
import pytest

from arcfarm.sandbox import Executor, ProgramRun, landlock_rules, layers
from arcfarm.sandbox.errors import SandboxUnavailable
from arcfarm.sandbox.layers import Isolation

pytestmark = pytest.mark.slow


def test_a_missing_required_layer_is_refused_in_strict_mode_and_named():
    iso = Isolation(active={"user": "uid 65534", "seccomp": "allow-list"},
                    missing={"landlock": "not supported by this kernel", "namespaces": "bwrap missing"})
    assert iso.level == "weak"
    with pytest.raises(SandboxUnavailable, match="landlock: not supported by this kernel.*ARCFARM_SANDBOX=weak"):
        layers.enforce(iso, "strict")
    layers.enforce(iso, "weak")  # allowed, and reported as weak
    assert iso.summary() == "weak: user, seccomp (missing: landlock, namespaces)"
    strict = Isolation(active={"user": "u", "landlock": "l", "seccomp": "s"}, missing={"namespaces": "n"})
    layers.enforce(strict, "strict")
    assert strict.level == "strict"


def test_a_kernel_without_landlock_is_detected(monkeypatch, tmp_path):
    monkeypatch.setattr(landlock_rules, "abi_version", lambda: 0)
    plan, iso = layers.prepare({"landlock", "seccomp"}, 256, str(tmp_path), None, (65534, 65534), str(tmp_path))
    assert not plan.landlock and iso.missing["landlock"] == "not supported by this kernel"
    assert "seccomp" in iso.active and iso.level == "weak"


def test_mode_comes_from_the_argument_or_the_environment(monkeypatch):
    monkeypatch.setenv("ARCFARM_SANDBOX", "weak")
    assert layers.mode_from_env(None) == "weak" and layers.mode_from_env("strict") == "strict"
    monkeypatch.setenv("ARCFARM_SANDBOX", "off")
    with pytest.raises(ValueError, match="ARCFARM_SANDBOX"):
        layers.mode_from_env(None)


def test_leaving_out_a_layer_needs_weak_mode_and_is_reported():
    with pytest.raises(ValueError, match="weak"):
        Executor(workers=1, layers={"seccomp"}, sandbox="strict")
    with pytest.raises(ValueError, match="unknown sandbox layers"):
        Executor(workers=1, layers={"seccomp", "apparmor"}, sandbox="weak")
    with Executor(workers=1, layers={"seccomp"}, sandbox="weak") as ex:
        assert ex.isolation.level == "weak" and set(ex.isolation.active) == {"seccomp"}
        assert ex.isolation.missing["landlock"] == "switched off by the caller"
        assert ex.run([ProgramRun("def transform(grid):\n    return grid\n", (np.array([[1]]),))])[0].ok


@pytest.mark.skipif(os.geteuid() != 0, reason="the strict default here needs root for the uid switch")
def test_the_default_is_strict_with_every_layer():
    with Executor(workers=1) as ex:
        assert ex.isolation.level == "strict" and not ex.isolation.missing, ex.isolation.missing
        assert ex.isolation.summary() == "strict: namespaces, user, landlock, seccomp"
