"""The BARC prompt format, golden-tested against the worked example of barc-prompt-format.md
section 7, and BARC's code extraction."""
from __future__ import annotations

import json

import numpy as np
import pytest
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from arcfarm.arc.chat_template import LLAMA3_CHAT_TEMPLATE
from arcfarm.arc.prompts import (
    ANSWER_PREFIX,
    COLOR_WORDS,
    SYSTEM_PROMPT,
    chat_messages,
    extract_code,
    grid_to_text,
    render_prompt,
    response_text,
    user_message,
)
from arcfarm.arc.tasks import parse_task

# Copied verbatim from the spec (section 7): the escaped user message and the full prompt.
SPEC_USER_MESSAGE = json.loads(r'''"Given input-output grid pairs as reference examples, carefully observe the patterns to predict the output grid for new test input. Each pair follows the same transformation rule. Grids are 2D arrays represented as strings, with cells (colors) separated by spaces and rows by newlines.\nHere are the input and output grids for the reference examples:\nExample 1\nInput:\nBlack Blue\nRed Green\n\nOutput:\nGreen Red\nBlue Black\n\n\nExample 2\nInput:\nGray Black Black\nBlack Purple Black\nBlack Black Brown\n\nOutput:\nBrown Black Black\nBlack Purple Black\nBlack Black Gray\n\n\nHere is the input grid for the test example:\nInput:\nYellow Pink\nOrange Black\n\nWrite a Python function `transform` that can convert any given input grid to its corresponding output grid based on the pattern observed in the reference examples."''')
SPEC_FULL_PROMPT = json.loads(r'''"<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nYou are a world-class puzzle solver with exceptional pattern recognition skills and expertise in Python programming. Your task is to analyze puzzles and provide Python solutions.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nGiven input-output grid pairs as reference examples, carefully observe the patterns to predict the output grid for new test input. Each pair follows the same transformation rule. Grids are 2D arrays represented as strings, with cells (colors) separated by spaces and rows by newlines.\nHere are the input and output grids for the reference examples:\nExample 1\nInput:\nBlack Blue\nRed Green\n\nOutput:\nGreen Red\nBlue Black\n\n\nExample 2\nInput:\nGray Black Black\nBlack Purple Black\nBlack Black Brown\n\nOutput:\nBrown Black Black\nBlack Purple Black\nBlack Black Gray\n\n\nHere is the input grid for the test example:\nInput:\nYellow Pink\nOrange Black\n\nWrite a Python function `transform` that can convert any given input grid to its corresponding output grid based on the pattern observed in the reference examples.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"''')

ROTATE_180 = {
    "train": [
        {"input": [[0, 1], [2, 3]], "output": [[3, 2], [1, 0]]},
        {"input": [[5, 0, 0], [0, 8, 0], [0, 0, 9]], "output": [[9, 0, 0], [0, 8, 0], [0, 0, 5]]},
    ],
    "test": [{"input": [[4, 6], [7, 0]]}],
}


def _llama_style_tokenizer() -> PreTrainedTokenizerFast:
    """A tiny word-level tokenizer with Llama-3 special tokens; built locally, no download."""
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                "<|eot_id|>", "<|finetune_right_pad_id|>", "[UNK]"]
    core = Tokenizer(models.WordLevel(vocab={t: i for i, t in enumerate(specials)}, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=core, bos_token="<|begin_of_text|>", eos_token="<|eot_id|>",
                                  unk_token="[UNK]", pad_token="<|finetune_right_pad_id|>")
    tok.chat_template = LLAMA3_CHAT_TEMPLATE
    return tok


def test_user_message_matches_the_spec_byte_for_byte():
    task, _ = parse_task("rotate180", ROTATE_180)
    assert user_message(task) == SPEC_USER_MESSAGE


def test_render_prompt_matches_the_spec_full_prompt():
    task, _ = parse_task("rotate180", ROTATE_180)
    assert render_prompt(_llama_style_tokenizer(), task) == SPEC_FULL_PROMPT


def test_chat_template_trims_and_renders_assistant_turns():
    tok = _llama_style_tokenizer()
    text = tok.apply_chat_template([{"role": "user", "content": "  hi \n"}, {"role": "assistant", "content": "yo\n"}],
                                   tokenize=False)
    assert text == ("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: "
                    "December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>"
                    "\n\nhi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nyo<|eot_id|>")


def test_several_test_inputs_share_one_input_label():
    obj = dict(ROTATE_180, test=[{"input": [[1]]}, {"input": [[2, 3]]}])
    task, _ = parse_task("two", obj)
    message = user_message(task)
    assert message.count("Input:\n") == 3
    assert "for the test example:\nInput:\nBlue\n\nRed Green\n\nWrite a Python" in message


def test_grid_rendering_is_row_major_colour_words():
    assert COLOR_WORDS[5] == "Gray" and COLOR_WORDS[8] == "Purple" and COLOR_WORDS[9] == "Brown"
    assert grid_to_text(np.array([[5, 0, 0, 5, 0], [9, 1, 2, 3, 4]])) == (
        "Gray Black Black Gray Black\nBrown Blue Red Green Yellow")


def test_messages_and_response_shape():
    task, _ = parse_task("rotate180", ROTATE_180)
    assert chat_messages(task) == [{"role": "system", "content": SYSTEM_PROMPT},
                                   {"role": "user", "content": SPEC_USER_MESSAGE}]
    assert ANSWER_PREFIX.startswith("Let's solve this puzzle") and ANSWER_PREFIX.endswith("problem:\n```python\n")
    code = "def transform(input_grid):\n    return input_grid"
    assert response_text(code) == ANSWER_PREFIX + code + "\n```"
    assert extract_code(response_text(code)) == code


@pytest.mark.parametrize("response, code", [
    ("text\n```python\nx = 1\n```\nmore", "x = 1"),
    ("```\ny = 2\n```", "y = 2"),  # bare block when no python block exists
    ("no code at all", ""),
    ("```python\na = 1\n```\n```python\nb = 2\n```", "a = 1"),  # first of several
    ("```\nbare\n```\n```python\npy\n```", "py"),  # a python block beats an earlier bare one
    ("```python\nunclosed = True\n", ""),  # unclosed, and no second fence to fall back on
    ("```python\nunclosed\n```python\nx\n", "unclosed"),  # BARC's regex closes on the next fence
])
def test_extract_code(response, code):
    assert extract_code(response) == code
