"""A tiny random-init Llama with a Llama-3.1-like tokenizer, for tests and CPU runs; no network.

    arcfarm make-tiny-model models/tiny --seed 0      # or make_tiny_model("models/tiny")

The directory looks like a real checkpoint (config.json, model.safetensors, tokenizer.json,
tokenizer_config.json with the chat template, generation_config.json), so it goes through the same
`load_model` / `from_pretrained` path as BARC's 8B model. The tokenizer is a byte-level BPE (any
text round-trips) trained on an in-code corpus of BARC prompt text, colour words and small
BARC-style programs, with Llama-3's pre-tokenizer split rule and Llama-3.1's special tokens.
The same seed and arguments give the same files' contents.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from arcfarm.arc import prompts
from arcfarm.arc.chat_template import LLAMA3_CHAT_TEMPLATE
from arcfarm.arc.tasks import Pair, Task

SPECIAL_TOKENS = ("<|begin_of_text|>", "<|end_of_text|>", "<|finetune_right_pad_id|>",
                  "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>")
STOP_TOKENS = ("<|eot_id|>", "<|end_of_text|>", "<|eom_id|>")
HEAD_DIM = 32  # vLLM's CPU attention wants head_dim >= 32
# Llama's 0.02 caps the logits of a 256-wide model near 5, so no LoRA on top of it could ever make
# a confident prediction (a tiny model that cannot memorise makes learning untestable).
INIT_STD = 0.1
# Llama-3's pre-tokenizer split (so ":\n", " Blue" and 3-digit numbers chunk as in the real model).
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

_PROGRAMS = [
    '''from common import *

import numpy as np
from typing import *

# concepts:
# color mapping, symmetry

# description:
# In the input you will see a grid with a pattern of colored pixels.
# To make the output, mirror the grid horizontally and change every blue pixel to red.

def transform(input_grid):
    output_grid = np.fliplr(input_grid).copy()
    output_grid[output_grid == Color.BLUE] = Color.RED
    return output_grid''',
    '''from common import *

import numpy as np
from typing import *

# concepts:
# objects, counting, filling

# description:
# In the input you will see several objects on a black background.
# To make the output, fill the largest object with yellow and remove the others.

def transform(input_grid: np.ndarray) -> np.ndarray:
    objects = find_connected_components(input_grid, background=Color.BLACK, connectivity=4, monochromatic=False)
    largest = max(objects, key=lambda obj: np.sum(obj != Color.BLACK))
    output_grid = np.full_like(input_grid, Color.BLACK)
    for x, y in np.argwhere(largest != Color.BLACK):
        output_grid[x, y] = Color.YELLOW
    if len(objects) == 0:
        return input_grid
    return output_grid''',
    '''from common import *

import numpy as np
from typing import *

def transform(input_grid):
    width, height = input_grid.shape
    output_grid = np.zeros((width * 2, height * 2), dtype=int)
    for i in range(2):
        for j in range(2):
            blit_sprite(output_grid, input_grid, x=i * width, y=j * height)
    while False:
        break
    return output_grid''',
]
_KEYWORDS = ("False None True and as assert break class continue def del elif else except finally for "
             "from global if import in is lambda nonlocal not or pass raise return try while with yield "
             "np.array np.zeros np.copy range len enumerate zip min max sum sorted list tuple dict set")


def _corpus() -> list[str]:
    """Texts the BPE merges are learned from: prompts, code, colours, digits."""
    rng = np.random.default_rng(0)
    grids = [rng.integers(0, 10, size=(h, w)) for h, w in [(3, 4), (4, 4), (5, 3), (2, 6), (6, 5)]]
    task = Task("corpus", tuple(Pair(grids[i], grids[i + 1]) for i in range(3)), (grids[4],))
    chat = ("<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n"
            "Today Date: 26 Jul 2024\n\n<|start_header_id|>user<|end_header_id|>\n\n"
            "<|start_header_id|>assistant<|end_header_id|>\n\n")
    words = " ".join(prompts.COLOR_WORDS) + "\n" + " ".join(str(i) for i in range(200))
    texts = [prompts.SYSTEM_PROMPT, prompts.user_message(task), chat, words, _KEYWORDS]
    texts += [prompts.response_text(code) for code in _PROGRAMS]
    return texts * 4  # repeats make every merge frequent enough


def build_tokenizer(vocab_size: int = 2048) -> PreTrainedTokenizerFast:
    """Byte-level BPE with Llama-3.1's special tokens (ids after the learned vocabulary)."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(_corpus(), trainer)
    tok.add_special_tokens(list(SPECIAL_TOKENS))
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|begin_of_text|>", eos_token="<|eot_id|>",
        pad_token="<|finetune_right_pad_id|>", model_max_length=131072, clean_up_tokenization_spaces=False)
    fast.chat_template = LLAMA3_CHAT_TEMPLATE
    return fast


def build_model(tokenizer, seed: int = 0, layers: int = 2, hidden: int = 256) -> LlamaForCausalLM:
    """Random-init Llama sized to the tokenizer; `hidden` must be a multiple of 32 (head_dim)."""
    if hidden % HEAD_DIM or hidden <= 0:
        raise ValueError(f"hidden={hidden} must be a positive multiple of {HEAD_DIM}")
    heads = hidden // HEAD_DIM
    stops = [tokenizer.convert_tokens_to_ids(t) for t in STOP_TOKENS]
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
        num_hidden_layers=layers, num_attention_heads=heads,
        num_key_value_heads=heads // 2 if heads % 2 == 0 else heads, head_dim=HEAD_DIM,
        max_position_embeddings=32768, rope_theta=500000.0, tie_word_embeddings=False,
        initializer_range=INIT_STD,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=stops, pad_token_id=tokenizer.pad_token_id)
    with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's RNG
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=stops, pad_token_id=tokenizer.pad_token_id)
    return model.eval()


def make_tiny_model(directory: str | Path, seed: int = 0, layers: int = 2, hidden: int = 256) -> Path:
    """Build and save the tiny model and tokenizer into `directory`; returns the path."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer()
    model = build_model(tokenizer, seed=seed, layers=layers, hidden=hidden)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    _portable_tokenizer_class(path / "tokenizer_config.json")
    return path


def _portable_tokenizer_class(config_file: Path) -> None:
    """Name the class as real Llama-3.1 checkpoints do: transformers 5 writes its new backend
    name, which older readers (and some vLLM builds) do not know."""
    config = json.loads(config_file.read_text())
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    config_file.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
