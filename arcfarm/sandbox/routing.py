"""Which slot a program runs in: a lean one (numpy, `common`) or one that also holds scipy.

Why two kinds: every program process is a fork of its slot, and fork and exit cost grow with
what the slot has loaded. One run on the dev machine (fork, a tiny numpy call, exit; 300 times):
1.5 ms of CPU from a process with numpy (142 memory mappings, 13.5 MB anonymous) against 5.0 ms
with scipy.ndimage as well (377 mappings, 29.6 MB). Importing scipy inside a program costs
~200 ms, so a program that uses it must find it loaded. The choice is by the program's text:
it names scipy, or a function of `common` that uses scipy (found here from common.py's source,
callers included). A wrong guess harms only the program itself: in a lean slot, a program that
reaches scipy another way (a computed name, fullwidth letters) imports it out of its own time
limit (~0.3 s) and memory allowance (~100 MB of address space); no other program is affected.
"""
from __future__ import annotations

import ast
import re
from functools import lru_cache

SCIPY = "scipy"


@lru_cache(maxsize=8)
def scipy_functions(common_path: str) -> frozenset[str]:
    """Names of `common`'s functions that import scipy, or call one that does (transitively)."""
    with open(common_path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), common_path)
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    calls = {name: {n.func.id for n in ast.walk(node) if isinstance(n, ast.Call)
                    and isinstance(n.func, ast.Name)} for name, node in functions.items()}
    uses = {name for name, node in functions.items() if _imports_scipy(node)}
    grew = True
    while grew:
        callers = {name for name, called in calls.items() if called & uses} - uses
        uses |= callers
        grew = bool(callers)
    return frozenset(uses)


def _imports_scipy(node: ast.AST) -> bool:
    for n in ast.walk(node):
        if isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] == SCIPY:
            return True
        if isinstance(n, ast.Import) and any(a.name.split(".")[0] == SCIPY for a in n.names):
            return True
    return False


@lru_cache(maxsize=8)
def _pattern(names: frozenset[str]) -> re.Pattern:
    words = sorted(names | {SCIPY})
    return re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b")


def needs_scipy(code: str, names: frozenset[str]) -> bool:
    """Whether the program's text names scipy or one of `names` (scipy_functions of common)."""
    return _pattern(names).search(code) is not None
