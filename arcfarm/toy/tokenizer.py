"""A compact byte-level BPE tokenizer for the toy model, trained on the synthetic corpus itself.

Trained on prompts and responses, so colour words (" Black", " Red" ...) and common code tokens are
single tokens and a 15x15 grid costs about 240 tokens. It carries the Llama-3.1 special tokens the
rest of arcfarm expects (`<|eot_id|>` ends a turn, `<|finetune_right_pad_id|>` pads) and the
Llama-3.1 chat template, so `render_prompt` and `load_model` treat it like a real BARC tokenizer.
"""
from __future__ import annotations

from typing import Iterable

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from arcfarm.arc.chat_template import LLAMA3_CHAT_TEMPLATE

BOS, EOT, END, PAD = "<|begin_of_text|>", "<|eot_id|>", "<|end_of_text|>", "<|finetune_right_pad_id|>"
SPECIAL_TOKENS = [BOS, END, "<|start_header_id|>", "<|end_header_id|>", EOT, "<|eom_id|>", PAD]
# GPT-2's split, except that identifiers keep their underscores (output_grid can be one token).
SPLIT = r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z_][A-Za-z0-9_]*| ?[0-9]+| ?[^\sA-Za-z0-9_]+|\s+(?!\S)|\s+"""


def train_tokenizer(texts: Iterable[str], vocab_size: int = 3072) -> PreTrainedTokenizerFast:
    """Byte-level BPE (GPT-2-like pre-tokenisation, no prefix space) with the special tokens first."""
    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, min_frequency=2,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    core.train_from_iterator(texts, trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=core, bos_token=BOS, eos_token=EOT, pad_token=PAD,
                                  clean_up_tokenization_spaces=False)
    tok.chat_template = LLAMA3_CHAT_TEMPLATE
    return tok
