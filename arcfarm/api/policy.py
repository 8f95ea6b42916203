"""What a run submitted through the API may change: the operator's policy.

Anyone with the API token can submit runs, and in embedded mode the API runs them in its own
process; so the API lets a run override only the keys listed here, each within a range, and load
only approved models. `RunConfig` has wider ceilings for the CLI on one's own machine; the API
never goes past them either, since every config is a `RunConfig` first.

The operator sets it with a YAML file named by ARCFARM_API_POLICY:

    overrides:            # replaces the default list: the keys a run may override
      initial_predictions: [0, 512]    # numbers: [min, max]
      engine: null                     # anything RunConfig accepts
    models:               # replaces the default list of approved models
      - barc0/Llama-3.1-ARC-Potpourri-Induction-8B
      - /models/my-finetune

and ARCFARM_API_MODELS (comma-separated) adds models to whichever list is in force. By default
the approved models are the bundled configs' models plus `builtin:tiny` and `models/toy`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from arcfarm.learn.config import CONFIG_DIR, ConfigError, RunConfig, bundled_configs, training_id
from arcfarm.settings import Settings, SettingsError

REPO_ROOT = CONFIG_DIR.parent

# key: (min, max) for numbers, None for any value RunConfig accepts. Keys not listed (`device`,
# `model` outside the approved list) cannot be overridden through the API.
DEFAULT_OVERRIDES: dict[str, tuple[float, float] | None] = {
    "engine": None, "compile_decode": None, "dtype": None, "seed": None,
    "initial_predictions": (0, 1024), "predictions_per_epoch": (0, 1024), "max_epochs": (0, 16),
    "samples_per_prompt": (1, 128), "permute_background": None, "time_budget_s": (1, 6 * 3600),
    "stop_after_agreeing": (0, 1024),
    "temperature": (0, 2), "later_epochs_temperature": (0, 2), "top_p": None,
    "max_new_tokens": (1, 4096), "sample_batch_size": (1, 512),
    "exec_timeout_s": (0.1, 10), "exec_memory_mb": (64, 4096), "exec_workers": (0, 8),
    "relabel_cap": (0, 1024), "relabel_min_train_correct": (0, 10),
    "lora_rank": (1, 256), "lora_alpha": (0, 1024), "lora_dropout": None, "use_rslora": None,
    "lora_target_modules": None, "learning_rate": (0, 0.01), "train_epochs_per_round": (1, 8),
    "train_batch_tokens": (1, 65_536), "max_seq_len": (16, 16_384),
    "gradient_checkpointing": None, "continue_optimizer": None, "weight_decay": (0, 1),
    "cold_prompts_per_round": (0, 1024), "cold_temperature": (0, 2), "shuffle_train_pairs": None,
    "learning": None, "relabel_policy": None, "relabel_top_k": (1, 1024),
    "lr_warmup_ratio": None, "lr_schedule": None, "train_examples_per_step": (0, 1024),
    "train_pad_to_multiple": (0, 4096), "train_kernels": None,
    "model": None,  # any of the approved models
    "base_adapter": None,  # training:<id>, or a folder among the approved models
}
# Keys only the operator sets (in a bundled config): which device a worker uses.
OPERATOR_ONLY = ("device",)
TINY_MODELS = ("builtin:tiny", "models/toy")


class ApiPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    overrides: dict[str, tuple[float, float] | None]
    models: list[str]

    @model_validator(mode="after")
    def _known_keys(self) -> "ApiPolicy":
        unknown = sorted(set(self.overrides) - set(RunConfig.model_fields))
        if unknown:
            raise ValueError(f"overrides: unknown config keys {', '.join(unknown)}")
        for key, bounds in self.overrides.items():
            if bounds is None:
                continue
            if RunConfig.model_fields[key].annotation not in (int, float, float | None):
                raise ValueError(f"overrides: {key!r} is not a number, give it null, not a range")
            if bounds[0] > bounds[1]:
                raise ValueError(f"overrides: {key!r}: the range {bounds[0]:g}..{bounds[1]:g} is empty")
        return self

    def check(self, overrides: dict[str, Any], config: RunConfig) -> None:
        """ConfigError unless every override is allowed and in range and the model is approved.
        Ranges are checked on the validated config, so "100000" counts as the number it becomes."""
        for key in overrides:
            if key not in RunConfig.model_fields:
                continue  # RunConfig has already refused it by name
            if key not in self.overrides:
                raise ConfigError(f"config key {key!r}: runs submitted through the API may not "
                                  f"override it (allowed: {', '.join(sorted(self.overrides))})")
            bounds, value = self.overrides[key], getattr(config, key)
            if bounds is not None and value is not None and not bounds[0] <= value <= bounds[1]:
                raise ConfigError(f"config key {key!r}: {value:g} is outside the API's range "
                                  f"{bounds[0]:g}..{bounds[1]:g}")
        if not self.approves(config.model):
            raise ConfigError(f"config key 'model': {config.model!r} is not a model the API may "
                              f"load (approved: {', '.join(self.models)})")
        adapter = config.base_adapter
        if adapter is not None and training_id(adapter) is None and not self.approves(adapter):
            raise ConfigError(f"config key 'base_adapter': {adapter!r}: the API takes training:<id> "
                              "or a folder among the approved models")

    def approves(self, model: str) -> bool:
        """The model string itself, or a local path that resolves to an approved local path
        (folders given as `base_adapter` are held to the same list)."""
        if model in self.models:
            return True
        if ":" in model.split("/", 1)[0]:  # builtin:..., hf:..., never a path of ours
            return False
        approved = {_resolved(m) for m in self.models}
        return _resolved(model) in approved


def _resolved(model: str) -> Path:
    """As the model loader reads it: relative paths from the repository root."""
    path = Path(model)
    return (path if path.is_absolute() else REPO_ROOT / path).resolve()


def default_models() -> list[str]:
    models = []
    for name in bundled_configs():
        model = yaml.safe_load((CONFIG_DIR / f"{name}.yaml").read_text()).get("model")
        if isinstance(model, str):
            models.append(model)
    return list(dict.fromkeys([*models, *TINY_MODELS]))


def load_policy(settings: Settings) -> ApiPolicy:
    """The policy from ARCFARM_API_POLICY (defaults otherwise), plus ARCFARM_API_MODELS."""
    data: dict[str, Any] = {}
    if settings.api_policy is not None:
        try:
            data = yaml.safe_load(settings.api_policy.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise SettingsError(f"ARCFARM_API_POLICY: cannot read {str(settings.api_policy)!r}: {exc}") from None
        if not isinstance(data, dict):
            raise SettingsError("ARCFARM_API_POLICY: the file must hold a mapping "
                                "(keys `overrides` and `models`)")
    extra = [m.strip() for m in (settings.api_models or "").split(",") if m.strip()]
    try:
        return ApiPolicy(overrides=data.get("overrides", DEFAULT_OVERRIDES),
                         models=[*data.get("models", default_models()), *extra],
                         **{k: v for k, v in data.items() if k not in ("overrides", "models")})
    except ValidationError as exc:
        raise SettingsError(f"ARCFARM_API_POLICY: {exc.errors()[0]['loc']}: "
                            f"{exc.errors()[0]['msg']}") from None
