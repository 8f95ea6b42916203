"""The one configuration model of a search-and-learn run, loaded from YAML with `key=value` overrides.

`configs/*.yaml` hold named settings; `--set key=value` overrides any top-level key (values are
parsed as YAML scalars, so `--set lora_rank=16` is an int and `--set model=./models/tiny` a str).
Unknown keys are errors that name the key: a typo must never be silently ignored.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"  # the repository's configs/


class ConfigError(ValueError):
    """A config file or override that cannot be used; the message names the key."""


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # model and engine
    model: str = "builtin:tiny"
    engine: Literal["auto", "hf", "fast", "vllm"] = "auto"
    compile_decode: bool = True  # engine `fast` on CUDA: torch.compile the decode step
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    device: str = "auto"
    seed: int = 0

    # search budget
    initial_predictions: int = Field(128, ge=0)
    predictions_per_epoch: int = Field(128, ge=0)
    max_epochs: int = Field(3, ge=0)  # learning rounds after the initial search
    samples_per_prompt: int = Field(8, ge=1)
    permute_background: bool = False
    time_budget_s: float = Field(3600.0, gt=0)
    stop_after_agreeing: int = Field(0, ge=0)  # 0 = never stop early

    # sampling
    temperature: float = Field(1.0, ge=0)
    # epochs >= 1 (after a training round) sample at this temperature instead; None = the same.
    # Training narrows what the model samples: a hotter search may win the diversity back.
    later_epochs_temperature: float | None = Field(None, ge=0)
    # A per-round temperature mix: the first `cold_prompts_per_round` prompts of every round sample
    # at `cold_temperature` (e.g. 1 prompt at 0.1: the model's most likely programs), the rest as above.
    cold_prompts_per_round: int = Field(0, ge=0)
    cold_temperature: float = Field(0.1, ge=0)
    # Shuffle the order of the train pairs in every sampling and training prompt (the reference
    # does); the order the programs are run and scored in stays the task's.
    shuffle_train_pairs: bool = False
    top_p: float = Field(0.95, gt=0, le=1)
    max_new_tokens: int = Field(1024, ge=1)
    sample_batch_size: int = Field(64, ge=1)  # sequences decoded together

    # execution
    exec_timeout_s: float = Field(2.0, gt=0)
    exec_memory_mb: int = Field(1024, ge=64)
    exec_workers: int = Field(0, ge=0)  # 0 = one per CPU core

    # hindsight relabeling. false = sample on the same schedule and prompts, never train (the
    # learning-off control of an experiment).
    learning: bool = True
    # new_outputs: the last round's valid programs, one per output never trained on before;
    # all_valid: every valid program of the last round, no dedup (the reference's per-task recipe);
    # top_k_by_train_score: the `relabel_top_k` best distinct outputs of the task so far, by
    # share of train grids right (the reference's Iteration 22).
    relabel_policy: Literal["new_outputs", "all_valid", "top_k_by_train_score"] = "new_outputs"
    relabel_top_k: int = Field(8, ge=1)
    relabel_cap: int = Field(0, ge=0)  # 0 = no cap per epoch
    relabel_min_train_correct: int = Field(0, ge=0)

    # LoRA and training
    lora_rank: int = Field(32, ge=1)
    lora_alpha: float = Field(64.0, gt=0)
    lora_dropout: float = Field(0.0, ge=0, lt=1)
    use_rslora: bool = True
    lora_target_modules: list[str] = ["q_proj", "k_proj", "v_proj", "o_proj"]
    learning_rate: float = Field(1e-4, gt=0)
    train_epochs_per_round: int = Field(1, ge=1)
    train_batch_tokens: int = Field(8192, ge=1)
    max_seq_len: int = Field(8192, ge=16)
    gradient_checkpointing: bool = False
    continue_optimizer: bool = False
    weight_decay: float = Field(0.0, ge=0)
    # learning-rate schedule of each round's training: linear warm-up over this share of the
    # round's optimizer steps, then constant, linear or cosine decay to 0.
    lr_warmup_ratio: float = Field(0.0, ge=0, lt=1)
    lr_schedule: Literal["constant", "linear", "cosine"] = "constant"
    # examples per optimizer step; 0 = as many as fit `train_batch_tokens` (1 = the reference)
    train_examples_per_step: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _check(self) -> "RunConfig":
        if self.initial_predictions == 0 and self.max_epochs == 0:
            raise ValueError("initial_predictions and max_epochs are both 0: nothing to do")
        return self


def _parse_override(item: str) -> tuple[str, Any]:
    if "=" not in item:
        raise ConfigError(f"override {item!r} is not of the form key=value")
    key, raw = item.split("=", 1)
    key = key.strip()
    if key not in RunConfig.model_fields:
        raise ConfigError(f"unknown config key {key!r} in override {item!r}")
    return key, yaml.safe_load(raw) if raw.strip() else ""


def resolve_config_path(name: str | Path) -> Path:
    """A path as given, else a bundled config by name (`tiny-cpu` -> configs/tiny-cpu.yaml)."""
    path = Path(name)
    if path.exists():
        return path
    bundled = CONFIG_DIR / (path.name if path.suffix else f"{path.name}.yaml")
    if bundled.exists():
        return bundled
    raise ConfigError(f"config file {str(name)!r} not found (bundled: {', '.join(bundled_configs())})")


def bundled_configs() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))


def load_config(path: str | Path | None = None, overrides: list[str] | None = None,
                values: dict[str, Any] | None = None) -> RunConfig:
    """Build a RunConfig from a YAML file, then a dict of values, then `key=value` overrides."""
    data: dict[str, Any] = {}
    if path is not None:
        source = resolve_config_path(path)
        loaded = yaml.safe_load(source.read_text()) or {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {str(source)!r} must hold a mapping of keys to values")
        data.update(loaded)
    data.update(values or {})
    for item in overrides or []:
        key, value = _parse_override(item)
        data[key] = value
    try:
        return RunConfig(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "config"
        if err["type"] == "extra_forbidden":
            parts.append(f"unknown config key {key!r}")
        else:
            parts.append(f"config key {key!r}: {err['msg']}")
    return "; ".join(parts)
