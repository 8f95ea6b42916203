"""The BARC induction prompt format, exactly as the BARC Llama-3.1 induction models were trained on.

Source of truth: ../shared/spec/barc-prompt-format.md (BARC `gen_dataset_both.py`, version 0.3).
The strings below are a data format: a changed space or newline is a different prompt from the one
the model saw in training. Grids render row by row (JSON row i = text line i), cells as colour words.
"""
from __future__ import annotations

import re
from typing import Any

import numpy as np

from arcfarm.arc.tasks import Task

SYSTEM_PROMPT = (
    "You are a world-class puzzle solver with exceptional pattern recognition skills and expertise "
    "in Python programming. Your task is to analyze puzzles and provide Python solutions."
)

ANSWER_PREFIX = (
    "Let's solve this puzzle using Python code with the common library functions. We'll first reason "
    "about the problem and then write the code to solve it. The `transform` function will take the "
    "input grid and return the output grid. Here is the Python code with the comments describing how "
    "to solve the problem:\n```python\n"
)

COLOR_WORDS: tuple[str, ...] = (
    "Black", "Blue", "Red", "Green", "Yellow", "Gray", "Pink", "Orange", "Purple", "Brown",
)

_HEADER = (
    "Given input-output grid pairs as reference examples, carefully observe the patterns to predict "
    "the output grid for new test input. Each pair follows the same transformation rule. Grids are 2D "
    "arrays represented as strings, with cells (colors) separated by spaces and rows by newlines."
    "\nHere are the input and output grids for the reference examples:\n"
)
_TEST_HEADER = "Here is the input grid for the test example:\nInput:\n"
_CLOSING = (
    "\n\nWrite a Python function `transform` that can convert any given input grid to its "
    "corresponding output grid based on the pattern observed in the reference examples."
)


def grid_to_text(grid: np.ndarray) -> str:
    """One line per row, colour words separated by one space; no trailing newline."""
    return "\n".join(" ".join(COLOR_WORDS[v] for v in row) for row in np.asarray(grid).tolist())


def user_message(task: Task) -> str:
    """The user turn: every train pair in task order, then all test inputs under one `Input:`."""
    # Two blank lines after every output grid, the last one included (as BARC's builder does).
    examples = "".join(
        f"Example {i}\nInput:\n{grid_to_text(p.input)}\n\nOutput:\n{grid_to_text(p.output)}\n\n\n"
        for i, p in enumerate(task.train, start=1))
    tests = "\n\n".join(grid_to_text(g) for g in task.test_inputs)
    return _HEADER + examples + _TEST_HEADER + tests + _CLOSING


def chat_messages(task: Task) -> list[dict[str, str]]:
    """System and user messages, ready for a chat template."""
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": user_message(task)},
    ]


def render_prompt(tokenizer: Any, task: Task) -> str:
    """The full prompt string, through the tokenizer's own chat template, ending at the assistant header."""
    return tokenizer.apply_chat_template(chat_messages(task), tokenize=False, add_generation_prompt=True)


def response_text(code: str) -> str:
    """The assistant turn the model is trained to write for a program `code`."""
    return ANSWER_PREFIX + code + "\n```"


_PYTHON_BLOCK = re.compile(r"```python(.*?)```", re.DOTALL)
_ANY_BLOCK = re.compile(r"```(.*?)```", re.DOTALL)


def extract_code(response: str) -> str:
    """BARC `parse_code`: the first ```python block, else the first ``` block, else ""."""
    blocks = [b.strip() for b in _PYTHON_BLOCK.findall(response)]
    if not blocks:
        blocks = [b.strip() for b in _ANY_BLOCK.findall(response)]
    return blocks[0] if blocks else ""
