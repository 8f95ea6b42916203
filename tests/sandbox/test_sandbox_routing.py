"""Lean and scipy slots (routing.py): a program runs in a slot of the kind its text asks for,
finds scipy loaded only there, and a program sent to a lean slot by mistake still works."""
from __future__ import annotations

import numpy as np
import pytest

from arcfarm.sandbox import Executor, ProgramRun
from arcfarm.sandbox.executor import DEFAULT_COMMON
from arcfarm.sandbox.routing import needs_scipy, scipy_functions

A = np.array([[1, 1, 0], [0, 0, 2]])

# The program reports (as its output's colour) whether scipy was loaded before it ran.
PROBE = ("import sys\nLOADED = 'sci' + 'py.ndimage' in sys.modules\n{extra}\n"
         "def transform(grid):\n    {body}\n    return grid * 0 + (1 if LOADED else 0)\n")


def test_the_functions_of_common_that_need_scipy_callers_included():
    names = scipy_functions(DEFAULT_COMMON)
    assert {"find_connected_components", "is_contiguous", "object_boundary"} <= names
    assert "detect_objects" in names  # calls find_connected_components, imports nothing itself
    assert not {"flood_fill", "crop", "blit_sprite", "bounding_box"} & names


def test_the_route_reads_whole_names_in_the_text():
    names = scipy_functions(DEFAULT_COMMON)
    assert needs_scipy("from scipy.ndimage import label", names)
    assert needs_scipy("objs = find_connected_components(g, monochromatic=False)", names)
    assert not needs_scipy("def transform(g):\n    return g[::-1]", names)
    assert not needs_scipy("my_find_connected_components_here = 1; scipyish = 2", names)


@pytest.mark.slow
def test_programs_run_where_their_text_sends_them_and_a_wrong_guess_still_works():
    lean = PROBE.format(extra="", body="pass")
    named = PROBE.format(extra="from common import find_connected_components",
                         body="assert len(find_connected_components(grid)) == 2")
    hidden = PROBE.format(extra="import importlib", body="importlib.import_module('sci' + 'py.ndimage').label(grid)")
    with Executor(workers=2, timeout_s=5.0) as ex:
        results = ex.run([ProgramRun(code, (A,)) for code in (lean, named, hidden, lean, named)])
    assert all(r.ok for r in results), [(r.error, r.message) for r in results]
    loaded = [int(r.outputs[0].max()) for r in results]
    assert loaded == [0, 1, 0, 0, 1]  # scipy only in the slots of programs that name it


@pytest.mark.slow
def test_a_closed_executor_says_so_instead_of_spinning():
    ex = Executor(workers=1, timeout_s=1.0)
    assert ex.run([ProgramRun("def transform(grid):\n    return grid\n", (A,))])[0].ok
    ex.close()
    with pytest.raises(RuntimeError, match="the executor is closed"):
        ex.run([ProgramRun("def transform(grid):\n    return grid\n", (A,))])
