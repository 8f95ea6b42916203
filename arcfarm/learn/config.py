"""The one configuration model of a search-and-learn run, loaded from YAML with `key=value` overrides.

`configs/*.yaml` hold named settings; `--set key=value` overrides any top-level key (values are
parsed as YAML scalars, so `--set lora_rank=16` is an int and `--set model=./models/tiny` a str).
Unknown keys are errors that name the key: a typo must never be silently ignored.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"  # the repository's configs/


class ConfigError(ValueError):
    """A config file or override that cannot be used; the message names the key."""


# Ceilings that a real run of an 8B model never needs to pass (the reference spends 128 + 3x128
# predictions, 1,024 new tokens, 8,192-token sequences); a value past one is a typo or an abuse.
# The CLI on one's own machine gets these; the API narrows them further (arcfarm.api.policy).
MAX_PREDICTIONS = 100_000
MAX_TOKENS = 131_072  # Llama 3.1's context


class RunConfig(BaseModel):
    # allow_inf_nan: "inf" or NaN would be stored as JSON that PostgreSQL refuses, and mean nothing.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    # model and engine
    model: str = Field("builtin:tiny", min_length=1, max_length=500)  # runs.model is 500 wide
    # An adapter merged into the base weights before any job (once per worker): `training:<id>`
    # (what `arcfarm learn` recorded; the farm fetches it) or a folder holding a peft adapter.
    base_adapter: str | None = Field(None, max_length=500)
    engine: Literal["auto", "hf", "fast", "vllm"] = "auto"
    compile_decode: bool = True  # engine `fast` on CUDA: torch.compile the decode step
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    device: str = Field("auto", min_length=1, max_length=50)
    seed: int = Field(0, ge=0, le=2**32 - 1)

    # search budget
    initial_predictions: int = Field(128, ge=0, le=MAX_PREDICTIONS)
    predictions_per_epoch: int = Field(128, ge=0, le=MAX_PREDICTIONS)
    max_epochs: int = Field(3, ge=0, le=100)  # learning rounds after the initial search
    samples_per_prompt: int = Field(8, ge=1, le=MAX_PREDICTIONS)
    permute_background: bool = False
    time_budget_s: float = Field(3600.0, gt=0, le=7 * 86400)
    stop_after_agreeing: int = Field(0, ge=0, le=MAX_PREDICTIONS)  # 0 = never stop early

    # sampling
    temperature: float = Field(1.0, ge=0, le=10)
    # epochs >= 1 (after a training round) sample at this temperature instead; None = the same.
    # Training narrows what the model samples: a hotter search may win the diversity back.
    later_epochs_temperature: float | None = Field(None, ge=0, le=10)
    # A per-round temperature mix: the first `cold_prompts_per_round` prompts of every round sample
    # at `cold_temperature` (e.g. 1 prompt at 0.1: the model's most likely programs), the rest as above.
    cold_prompts_per_round: int = Field(0, ge=0, le=MAX_PREDICTIONS)
    cold_temperature: float = Field(0.1, ge=0, le=10)
    # Shuffle the order of the train pairs in every sampling and training prompt (the reference
    # does); the order the programs are run and scored in stays the task's.
    shuffle_train_pairs: bool = False
    top_p: float = Field(0.95, gt=0, le=1)
    max_new_tokens: int = Field(1024, ge=1, le=MAX_TOKENS)
    sample_batch_size: int = Field(64, ge=1, le=4096)  # sequences decoded together

    # execution
    exec_timeout_s: float = Field(2.0, gt=0, le=600)
    exec_memory_mb: int = Field(1024, ge=64, le=65536)
    exec_workers: int = Field(0, ge=0, le=256)  # 0 = one per CPU core

    # hindsight relabeling. false = sample on the same schedule and prompts, never train (the
    # learning-off control of an experiment).
    learning: bool = True
    # new_outputs: the last round's valid programs, one per output never trained on before;
    # all_valid: every valid program of the last round, no dedup (the reference's per-task recipe);
    # top_k_by_train_score: the `relabel_top_k` best distinct outputs of the task so far, by
    # share of train grids right (the reference's Iteration 22).
    relabel_policy: Literal["new_outputs", "all_valid", "top_k_by_train_score"] = "new_outputs"
    relabel_top_k: int = Field(8, ge=1, le=MAX_PREDICTIONS)
    relabel_cap: int = Field(0, ge=0, le=MAX_PREDICTIONS)  # 0 = no cap per epoch
    relabel_min_train_correct: int = Field(0, ge=0, le=100)

    # LoRA and training
    lora_rank: int = Field(32, ge=1, le=1024)
    lora_alpha: float = Field(64.0, gt=0, le=10_000)
    lora_dropout: float = Field(0.0, ge=0, lt=1)
    use_rslora: bool = True
    lora_target_modules: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        ["q_proj", "k_proj", "v_proj", "o_proj"], min_length=1, max_length=64)
    learning_rate: float = Field(1e-4, gt=0, le=1.0)
    train_epochs_per_round: int = Field(1, ge=1, le=100)
    train_batch_tokens: int = Field(8192, ge=1, le=MAX_TOKENS * 32)
    max_seq_len: int = Field(8192, ge=16, le=MAX_TOKENS)
    gradient_checkpointing: bool = False
    continue_optimizer: bool = False
    weight_decay: float = Field(0.0, ge=0, le=10)
    # learning-rate schedule of each round's training: linear warm-up over this share of the
    # round's optimizer steps, then constant, linear or cosine decay to 0.
    lr_warmup_ratio: float = Field(0.0, ge=0, lt=1)
    lr_schedule: Literal["constant", "linear", "cosine"] = "constant"
    # examples per optimizer step; 0 = as many as fit `train_batch_tokens` (1 = the reference)
    train_examples_per_step: int = Field(0, ge=0, le=MAX_PREDICTIONS)
    # each training batch's width rounded up to a multiple of this; 0 = the longest row's width
    train_pad_to_multiple: int = Field(0, ge=0, le=MAX_TOKENS)
    # the fused trainer's RMSNorm, RoPE and SiLU x up: Liger Kernel's where they run (auto: on
    # CUDA with liger-kernel installed, for steps of >= 4,096 padded tokens, else torch's; liger:
    # every step, the solve refused when they cannot load)
    train_kernels: Literal["auto", "torch", "liger"] = "auto"

    @model_validator(mode="after")
    def _check(self) -> "RunConfig":
        if self.initial_predictions == 0 and self.max_epochs == 0:
            raise ValueError("initial_predictions and max_epochs are both 0: nothing to do")
        if self.base_adapter is not None:
            if not self.base_adapter.strip():
                raise ValueError("base_adapter: empty; use training:<id> or an adapter folder")
            if self.base_adapter.startswith("training:") and training_id(self.base_adapter) is None:
                raise ValueError(f"base_adapter {self.base_adapter!r}: expected training:<id>, "
                                 "e.g. training:3")
            if self.engine == "vllm":
                raise ValueError("base_adapter: engine vllm loads its own copy of the weights, "
                                 "without it; use engine hf or fast")
        return self


MAX_TRAINING_ID = 2**31 - 1  # trainings.id is a 32-bit INTEGER on PostgreSQL


def training_id(base_adapter: str | None) -> int | None:
    """3 for `training:3`; None for a folder, nothing, or a malformed reference."""
    if base_adapter is None or not base_adapter.startswith("training:"):
        return None
    number = base_adapter.removeprefix("training:")
    # ASCII digits only (str.isdigit takes "³" and Arabic digits), within trainings.id's int4.
    if not (number.isascii() and number.isdigit()) or len(number) > 10:
        return None
    return int(number) if 0 < int(number) <= MAX_TRAINING_ID else None


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
        key = ".".join(str(p) for p in err["loc"])
        if not key:  # a check across keys (the model validator): its message names the keys
            parts.append("config: " + err["msg"].removeprefix("Value error, "))
        elif err["type"] == "extra_forbidden":
            parts.append(f"unknown config key {key!r}")
        else:
            parts.append(f"config key {key!r}: {err['msg']}")
    return "; ".join(parts)
