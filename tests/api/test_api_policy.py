"""The operator's API policy: which keys a run may override, in which ranges, which models it may
load; read from ARCFARM_API_POLICY and ARCFARM_API_MODELS, checked on the validated config."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from arcfarm.api.main import create_app
from arcfarm.api.policy import (
    DEFAULT_OVERRIDES,
    OPERATOR_ONLY,
    ApiPolicy,
    default_models,
    load_policy,
)
from arcfarm.learn.config import ConfigError, RunConfig, load_config
from arcfarm.settings import Settings, SettingsError

from farm_helpers import TASKS, row_counts


def test_default_policy_approves_the_bundled_and_tiny_models_only():
    assert default_models() == ["barc0/Llama-3.1-ARC-Potpourri-Induction-8B", "builtin:tiny",
                                "models/toy"]
    policy = load_policy(Settings())
    assert policy.approves("models/toy") and policy.approves("./models/toy")
    for model in ("/etc", "models", "models/../configs", "someone/repo", "builtin:other", ""):
        assert not policy.approves(model), model


def test_every_default_range_lies_inside_runconfig():
    """The API never allows what RunConfig (the CLI's ceilings) refuses."""
    for key, bounds in DEFAULT_OVERRIDES.items():
        if bounds is None:
            continue
        field = RunConfig.model_fields[key]
        ceilings = [m.le for m in field.metadata if getattr(m, "le", None) is not None]
        assert ceilings and bounds[1] <= ceilings[0], key


def test_every_runconfig_key_is_either_overridable_or_operator_only():
    """A new config key must be placed by decision, not left out of the API by accident."""
    assert set(DEFAULT_OVERRIDES) | set(OPERATOR_ONLY) == set(RunConfig.model_fields)
    assert not set(DEFAULT_OVERRIDES) & set(OPERATOR_ONLY)


def test_check_uses_the_validated_value():
    policy = load_policy(Settings())
    config = load_config("tiny-cpu", values={"exec_workers": "100"})
    with pytest.raises(ConfigError, match="exec_workers.*0..8"):
        policy.check({"exec_workers": "100"}, config)
    policy.check({"exec_workers": "8"}, load_config("tiny-cpu", values={"exec_workers": "8"}))


def test_policy_file_replaces_keys_and_models_and_env_adds_models(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("overrides:\n  max_epochs: [0, 1]\n  engine: null\nmodels: [builtin:tiny]\n")
    policy = load_policy(Settings(api_policy=path, api_models="/models/a, /models/b"))
    assert policy.overrides == {"max_epochs": (0, 1), "engine": None}
    assert policy.models == ["builtin:tiny", "/models/a", "/models/b"]
    config = load_config("tiny-cpu", values={"max_epochs": 2})
    with pytest.raises(ConfigError, match="max_epochs.*0..1"):
        policy.check({"max_epochs": 2}, config)
    with pytest.raises(ConfigError, match="'temperature': runs submitted through the API may not"):
        policy.check({"temperature": 1.0}, load_config("tiny-cpu"))
    with pytest.raises(ConfigError, match="'models/toy' is not a model the API may load"):
        policy.check({}, load_config("toy-cpu"))


@pytest.mark.parametrize("text, words", [
    ("overrides: {max_epoch: [0, 1]}", "unknown config keys max_epoch"),
    ("overrides: {engine: [0, 1]}", "'engine' is not a number"),
    ("overrides: {max_epochs: [5, 1]}", "range 5..1 is empty"),
    ("- a list", "must hold a mapping"),
    ("overrides: [", "cannot read"),
    ("colour: blue", "colour"),
])
def test_a_bad_policy_file_stops_the_api_naming_the_variable(text, words, tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    settings = Settings(home=tmp_path, api_policy=path)
    with pytest.raises(SettingsError, match="ARCFARM_API_POLICY") as caught:
        create_app(settings)
    assert words in str(caught.value)


def test_missing_policy_file_stops_the_api(tmp_path):
    with pytest.raises(SettingsError, match="ARCFARM_API_POLICY: cannot read"):
        load_policy(Settings(api_policy=tmp_path / "nope.yaml"))


def test_the_api_applies_the_operators_policy(tmp_path):
    """SQLite, embedded: only refused requests (an accepted run would run in this process)."""
    from arcfarm.db.connection import make_db_engine, make_session_factory

    path = tmp_path / "policy.yaml"
    path.write_text("overrides:\n  max_epochs: [0, 1]\nmodels: [builtin:tiny]\n")
    settings = Settings(home=tmp_path, api_policy=path)
    engine = make_db_engine(settings.db_url)
    with TestClient(create_app(settings)) as client:
        factory = make_session_factory(engine)
        before = row_counts(factory)
        for overrides, words in (({"max_epochs": 2}, "0..1"), ({"temperature": 0.5}, "may not"),
                                 ({"model": "models/toy"}, "may not override")):
            r = client.post("/runs", json={"tasks": {"flip": TASKS["flip"]}, "config": "tiny-cpu",
                                           "overrides": overrides})
            assert r.status_code == 422 and words in r.json()["detail"], r.text
        r = client.post("/runs", json={"tasks": {"flip": TASKS["flip"]}, "config": "toy-cpu"})
        assert r.status_code == 422 and "'models/toy' is not a model" in r.json()["detail"]
        assert row_counts(factory) == before
    engine.dispose()


def test_policy_model_rejects_range_on_list():
    with pytest.raises(ValueError):
        ApiPolicy(overrides={"lora_target_modules": (0, 1)}, models=[])


def test_base_adapter_is_a_recorded_training_or_an_approved_folder(tmp_path):
    policy = load_policy(Settings(api_models=str(tmp_path)))
    for adapter in ("training:3", str(tmp_path)):
        policy.check({"base_adapter": adapter}, load_config("tiny-cpu", values={"base_adapter": adapter}))
    for adapter in ("/etc", "models/../configs"):
        with pytest.raises(ConfigError, match="'base_adapter'.*training:<id>"):
            policy.check({"base_adapter": adapter},
                         load_config("tiny-cpu", values={"base_adapter": adapter}))
