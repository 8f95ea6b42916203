"""Checks of untrusted text and JSON that the API and the CLI make before anything is stored.

PostgreSQL refuses NUL in text and JSONB, and SQLite's driver cannot encode an unpaired UTF-16
surrogate (JSON's "\\ud800" escape decodes to one): either would reach the database as a server
error halfway through a transaction. A deeply nested body would exhaust Python's recursion in the
parser or the validators. So every string of a submission (keys included) is checked here, and its
nesting is bounded, with a message that names where the problem is.
"""
from __future__ import annotations

from typing import Any

from arcfarm.arc.grids import TaskError

# A task is 7 levels deep (body, tasks, task, train, pair, grid, row); 32 leaves ample room.
MAX_JSON_DEPTH = 32
_SCALARS = {int, float, bool, type(None)}


class UntrustedInputError(TaskError):
    """Text or JSON that cannot be stored; the message names the field."""


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored, or None when it can."""
    if "\x00" in text:
        return "contains a NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired UTF-16 surrogate"
    return None


def check_text(text: str, where: str) -> None:
    problem = text_problem(text)
    if problem is not None:
        raise UntrustedInputError(f"{where}: {problem}")


def too_deep_message(where: str = "body") -> str:
    return f"{where}: JSON nested deeper than {MAX_JSON_DEPTH} levels"


def _child(path: str, key: str) -> str:
    name = key if key.isidentifier() else ascii(key)
    return f"{path}.{name}" if path else name


def check_json_tree(data: Any, where: str = "body") -> None:
    """Every string (keys too) storable and nesting at most MAX_JSON_DEPTH; walks without recursion.
    Paths in messages read `tasks.'t1'.train[0]` (`where` for the top level)."""
    stack: list[tuple[Any, str, int]] = [(data, "", 1)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, str):
            check_text(node, path or where)
            continue
        if not isinstance(node, (dict, list)):
            continue
        if depth > MAX_JSON_DEPTH:
            raise UntrustedInputError(too_deep_message(where))
        if isinstance(node, dict):
            for key, value in node.items():
                key_path = _child(path, key)
                check_text(key, f"{key_path} (key)")
                if isinstance(value, (str, dict, list)):
                    stack.append((value, key_path, depth + 1))
        elif not set(map(type, node)) <= _SCALARS:  # rows of grid cells: one C-level pass
            for i, value in enumerate(node):
                if isinstance(value, (str, dict, list)):
                    stack.append((value, f"{path}[{i}]", depth + 1))
