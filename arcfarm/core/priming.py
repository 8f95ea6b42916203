"""A primed tiny model: the random tiny Llama taught a handful of whole-grid programs.

A random-init model never writes a program that runs, so on it the loop's learning half (relabel,
train) would never fire. Priming fine-tunes the tiny model, for a few seconds on a CPU, on
synthetic tasks solved by simple programs (flips, rotations, transpose, identity-with-colour-swap)
in the BARC response format, then merges the LoRA into the weights and saves an ordinary
checkpoint. Sampling from it gives mostly valid programs, some right and many wrong, which is
what tests, `make demo` and CPU runs need to exercise search-and-learn end to end.

    model: builtin:tiny-primed      # in a config; built on first use (arcfarm.core.model_source)
"""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from arcfarm.core.prompts import render_prompt, response_text
from arcfarm.core.tasks import Pair, Task

# (concept, description, body): each body maps input_grid to output_grid.
PRIMER_PROGRAMS: tuple[tuple[str, str, str], ...] = (
    ("flipping", "flip the grid upside down", "output_grid = np.flipud(input_grid)"),
    ("mirroring", "mirror the grid left to right", "output_grid = np.fliplr(input_grid)"),
    ("rotation", "rotate the grid by 180 degrees", "output_grid = np.rot90(input_grid, k=2)"),
    ("rotation", "rotate the grid by 90 degrees", "output_grid = np.rot90(input_grid)"),
    ("transposition", "transpose the grid", "output_grid = input_grid.T"),
    ("color mapping", "swap blue and red",
     "output_grid = input_grid.copy()\n"
     "    output_grid[input_grid == Color.BLUE] = Color.RED\n"
     "    output_grid[input_grid == Color.RED] = Color.BLUE"),
)


def primer_code(concept: str, description: str, body: str) -> str:
    return ("from common import *\n\nimport numpy as np\nfrom typing import *\n\n"
            f"# concepts:\n# {concept}\n\n# description:\n# In the input you will see a grid. "
            f"To make the output, {description}.\n\n"
            f"def transform(input_grid):\n    {body}\n    return output_grid")


def _apply(body: str, grid: np.ndarray) -> np.ndarray:
    scope: dict = {"np": np, "input_grid": grid,
                   "Color": type("Color", (), {"BLUE": 1, "RED": 2})}
    exec(body.replace("\n    ", "\n"), scope)  # trusted: our own constant programs
    return np.asarray(scope["output_grid"], dtype=np.int64)


def primer_tasks(n: int, seed: int = 0) -> list[tuple[Task, str]]:
    """`n` random small tasks, each with the program (response code) that solves it."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        concept, description, body = PRIMER_PROGRAMS[i % len(PRIMER_PROGRAMS)]
        grids = []
        for _ in range(4):
            h, w = (int(x) for x in rng.integers(2, 5, size=2))
            grids.append(np.where(rng.random((h, w)) < 0.5, 0, rng.integers(1, 10, (h, w))))
        pairs = tuple(Pair(g, _apply(body, g)) for g in grids[:3])
        task = Task(id=f"primer-{i}", train=pairs, test_inputs=(grids[3],))
        out.append((task, primer_code(concept, description, body)))
    return out


def prime_model(source_dir: str | Path, target_dir: str | Path, *, tasks: int = 24,
                epochs: int = 8, seed: int = 0) -> Path:
    """Fine-tune `source_dir`'s model on primer tasks and save the merged model to `target_dir`."""
    import torch

    from arcfarm.core.model import load_model
    from arcfarm.core.trainer import LoraSettings, LoraTrainer, TrainExample

    torch.manual_seed(seed)
    model, tokenizer = load_model(str(source_dir), dtype="float32", device="cpu")
    settings = LoraSettings(rank=32, alpha=32, dropout=0.0, use_rslora=True,
                            target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                            "up_proj", "down_proj"],
                            learning_rate=3e-3, weight_decay=0.0, batch_tokens=4096,
                            max_seq_len=4096, epochs=epochs, gradient_checkpointing=False,
                            continue_optimizer=False)
    trainer = LoraTrainer(model, tokenizer, settings)
    examples = [TrainExample(render_prompt(tokenizer, t), response_text(code))
                for t, code in primer_tasks(tasks, seed)]
    random.Random(seed).shuffle(examples)
    report = trainer.train(examples)
    if report.error:
        raise RuntimeError(f"priming failed: {report.error}")
    merged = trainer.model.merge_and_unload()
    target = Path(target_dir)
    merged.save_pretrained(target)
    tokenizer.save_pretrained(target)
    if getattr(model, "generation_config", None) is not None:
        model.generation_config.save_pretrained(target)
    return target
