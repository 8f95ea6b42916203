"""Loading a causal language model and its tokenizer, set up for sampling and LoRA training.

`load_model` takes a local directory (e.g. one written by `arcfarm make-tiny-model`) or a hub id
(e.g. `barc0/Llama-3.1-ARC-Potpourri-Induction-8B`) and returns `(model, tokenizer)` in eval mode.

The tokenizer is fixed up once here so every caller sees the same thing:
- pad token = `<|finetune_right_pad_id|>` when the vocabulary has it. The released BARC tokenizer
  uses `<|eot_id|>` as pad, and a collator that masks pad labels would then mask the real end of
  turn, so the model unlearns stopping (spec section 5). No token is ever added and the
  embeddings are never resized: a resize would bloat every saved adapter.
- left padding, as batched generation needs.
"""
from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase

PAD_TOKEN = "<|finetune_right_pad_id|>"
# Tokens that end a Llama-3.1 turn; BARC was trained to emit <|eot_id|> after the closing fence.
STOP_TOKENS = ("<|eot_id|>", "<|end_of_text|>", "<|eom_id|>")

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def resolve_device(device: str = "auto") -> torch.device:
    """`auto` = the first CUDA device when there is one, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """`auto` = bfloat16 on CUDA (what BARC was trained in), float32 elsewhere."""
    if dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    if dtype not in _DTYPES:
        raise ValueError(f"dtype {dtype!r} is not one of auto, {', '.join(_DTYPES)}")
    return _DTYPES[dtype]


def token_id(tokenizer: PreTrainedTokenizerBase, token: str) -> int | None:
    """The id of `token` if it is a single entry of the vocabulary, else None."""
    tid = tokenizer.convert_tokens_to_ids(token)
    if tid is None or (tid == tokenizer.unk_token_id and token != tokenizer.unk_token):
        return None
    return int(tid)


def stop_token_ids(tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """Ids that end a completion: the Llama-3.1 end tokens present in the vocabulary, plus eos."""
    ids = [token_id(tokenizer, t) for t in STOP_TOKENS]
    if tokenizer.eos_token_id is not None:
        ids.append(int(tokenizer.eos_token_id))
    return sorted({i for i in ids if i is not None})


def setup_tokenizer(tokenizer: PreTrainedTokenizerBase) -> PreTrainedTokenizerBase:
    """Pick a pad token that is not a stop token, without adding tokens; pad on the left."""
    if token_id(tokenizer, PAD_TOKEN) is not None:
        tokenizer.pad_token = PAD_TOKEN
    elif tokenizer.pad_token is None or tokenizer.pad_token_id in stop_token_ids(tokenizer):
        stops = set(stop_token_ids(tokenizer))
        # Named special tokens first, then added ones such as Llama's reserved tokens.
        added = [t.content for t in tokenizer.added_tokens_decoder.values() if t.special]
        spare = [t for t in [*tokenizer.all_special_tokens, *added] if token_id(tokenizer, t) not in stops]
        if not spare:
            raise ValueError("tokenizer has no special token to use as pad besides its stop tokens")
        tokenizer.pad_token = spare[0]
    tokenizer.padding_side = "left"
    return tokenizer


def load_model(name_or_path: str, dtype: str = "auto", device: str = "auto"):
    """Load `(model, tokenizer)`; a directory is read with `local_files_only` (no network)."""
    local = Path(name_or_path).is_dir()
    dev = resolve_device(device)
    tokenizer = AutoTokenizer.from_pretrained(name_or_path, local_files_only=local)
    setup_tokenizer(tokenizer)
    model = AutoModelForCausalLM.from_pretrained(
        name_or_path, dtype=resolve_dtype(dtype, dev), local_files_only=local)
    model.to(dev)
    model.eval()
    # generate() reads pad from the generation config; keep it in step with the tokenizer.
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def merge_base_adapter(model, directory: str):
    """`model` with the peft adapter in `directory` merged into its weights (a plain model again,
    for the per-task LoRA to wrap). Merged rather than stacked: sampling then costs what the
    base model costs, and the engines (the fast engine reads exactly one LoRA in place) and the
    per-task LoRA's reset need no change. In bf16 the merge rounds once per weight."""
    from peft import PeftModel

    if directory.startswith("training:"):
        raise ValueError(f"base_adapter {directory!r} names a recorded training: the farm "
                         "(arcfarm submit, a worker) fetches it; here give the adapter's folder")
    path = Path(directory)
    if not (path / "adapter_model.safetensors").is_file() or not (path / "adapter_config.json").is_file():
        raise ValueError(f"base_adapter {directory!r}: not a folder with adapter_config.json and "
                         "adapter_model.safetensors")
    merged = PeftModel.from_pretrained(model, str(path), is_trainable=False).merge_and_unload()
    merged.eval()
    return merged
