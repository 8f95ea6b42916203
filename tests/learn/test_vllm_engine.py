"""VLLMEngine on the tiny model (CPU build of vLLM): same greedy text as HFEngine, LoRA adapters
from LoraTrainer.save change the samples, a new epoch's adapter replaces the old one, the loop
hands the engine adapter files.

Runs only where vLLM imports (`make vllm-test` builds .venv-vllm); `make test` skips it.
One Solver (model, trainer, vLLM engine) is shared by the module: vLLM starts in ~20 s here.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

# Not a bare "vllm": any folder of that name on the path would satisfy it.
pytest.importorskip("vllm.lora.request", reason="vLLM is the arcfarm[vllm] extra; run make vllm-test")

from arcfarm.arc.prompts import response_text  # noqa: E402
from arcfarm.arc.tasks import parse_task  # noqa: E402
from arcfarm.learn.config import load_config  # noqa: E402
from arcfarm.learn.engines.base import AdapterRef, SamplingParams  # noqa: E402
from arcfarm.learn.engines.hf import HFEngine  # noqa: E402
from arcfarm.learn.engines.vllm_engine import VLLMEngine  # noqa: E402
from arcfarm.learn.loop import LoopHooks  # noqa: E402
from arcfarm.learn.solver import Solver  # noqa: E402
from arcfarm.learn.trainer import TrainExample  # noqa: E402

GREEDY = SamplingParams(temperature=0.0, max_new_tokens=40)
CODES = ("def transform(grid):\n    return grid[::-1]", "def transform(x):\n    return x.T")
TASK = {"train": [{"input": [[1, 2], [3, 4]], "output": [[3, 4], [1, 2]]}],
        "test": [{"input": [[7, 8], [0, 9]]}]}


@pytest.fixture(scope="module")
def solver(tiny_model_dir):
    cfg = load_config("tiny-cpu", [f"model={tiny_model_dir}", "engine=vllm", "max_epochs=1",
                                   "initial_predictions=4", "predictions_per_epoch=4",
                                   "samples_per_prompt=2", "max_new_tokens=16", "exec_workers=1"])
    with Solver(cfg) as s:
        yield s


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # for the HF reference and training, in this process
    yield
    torch.set_num_threads(before)


def _prompt(tok, user: str) -> str:
    return tok.apply_chat_template([{"role": "system", "content": "Solve it."},
                                    {"role": "user", "content": user}],
                                   tokenize=False, add_generation_prompt=True)


def _train_and_save(solver, example: TrainExample, directory: Path) -> None:
    """A fresh LoRA memorises `example` (as in tests/learn/test_trainer.py), saved for vLLM."""
    trainer = solver.trainer
    trainer.reset(seed=0)
    report = trainer.train([example], dataclasses.replace(trainer.settings, learning_rate=3e-3,
                                                          epochs=30))
    assert report.error is None and report.loss < 0.05, report
    trainer.save(directory)


def test_made_by_make_engine_from_the_solver(solver):
    engine = solver.engine
    assert isinstance(engine, VLLMEngine) and engine.needs_adapter_path
    assert engine.model_path == str(solver.config.model)


def test_greedy_matches_hf_engine_with_no_adapter(solver):
    tok = solver.tokenizer
    prompts = [_prompt(tok, "Blue Red\nRed Blue"), _prompt(tok, "Black " * 40), _prompt(tok, "x")]
    solver.trainer.reset(seed=0)
    got = solver.engine.generate(prompts, 2, GREEDY)
    want = HFEngine(solver.trainer.model, tok, batch_size=8).generate(prompts, 2, GREEDY)
    # float32 on both sides (make_engine passes the model's dtype): identical, not just close.
    assert got == want
    assert all(len(cs) == 2 for cs in got)


def test_lora_reproduces_its_example_and_a_new_epoch_replaces_the_old(solver, tmp_path):
    tok, engine = solver.tokenizer, solver.engine
    prompt = _prompt(tok, "Blue Red\nRed Blue")
    first, second = (TrainExample(prompt, response_text(code)) for code in CODES)
    params = SamplingParams(temperature=0.0, max_new_tokens=120)
    base = engine.generate([prompt], 1, params)[0][0]

    _train_and_save(solver, first, tmp_path / "epoch-1")
    epoch1 = AdapterRef("task", 1, str(tmp_path / "epoch-1"))
    tuned = engine.generate([prompt], 1, params, epoch1)[0][0]
    assert tuned.text == first.response != base.text and tuned.finish_reason == "stop"
    assert tuned.completion_tokens == len(tok(first.response, add_special_tokens=False)["input_ids"]) + 1
    # The same adapter through peft in this process: same text (LoRA scaling, rsLoRA included).
    assert HFEngine(solver.trainer.model, tok).generate([prompt], 1, params, epoch1)[0][0] == tuned

    _train_and_save(solver, second, tmp_path / "epoch-2")
    epoch2 = AdapterRef("task", 2, str(tmp_path / "epoch-2"))
    assert engine.generate([prompt], 1, params, epoch2)[0][0].text == second.response
    # adapter=None is still the base model; the old epoch's request is reused, not reloaded.
    assert engine.generate([prompt], 1, params)[0][0] == base
    assert engine._lora_request(epoch1) is engine._lora_request(epoch1)
    r1, r2 = engine._lora_request(epoch1), engine._lora_request(epoch2)
    assert (r1.lora_name, r2.lora_name) == ("task-v1", "task-v2") and r1.lora_int_id != r2.lora_int_id


def test_rewritten_adapter_files_get_a_new_name_and_id(solver, tmp_path):
    """Same name, version and path, new weights (a re-run): a new request, never the cached one."""
    tok, engine = solver.tokenizer, solver.engine
    prompt = _prompt(tok, "Yellow Orange")
    params = SamplingParams(temperature=0.0, max_new_tokens=120)
    ref = AdapterRef("rerun", 1, str(tmp_path / "adapter"))
    for code in CODES:
        example = TrainExample(prompt, response_text(code))
        _train_and_save(solver, example, tmp_path / "adapter")
        assert engine.generate([prompt], 1, params, ref)[0][0].text == example.response


def test_n_per_prompt_seeds_and_token_counts(solver):
    tok, engine = solver.tokenizer, solver.engine
    prompts = [_prompt(tok, "Blue Red"), _prompt(tok, "Gray " * 30)]
    params = SamplingParams(temperature=1.0, top_p=0.95, max_new_tokens=8, seed=7)
    out = engine.generate(prompts, 3, params)
    assert [len(cs) for cs in out] == [3, 3]
    for prompt, completions in zip(prompts, out):
        n_prompt = len(tok(prompt, add_special_tokens=False)["input_ids"])
        for c in completions:
            assert c.prompt_tokens == n_prompt and 1 <= c.completion_tokens <= 8
            assert c.finish_reason == ("length" if c.completion_tokens == 8 else "stop")
    texts = [c.text for cs in out for c in cs]
    assert len(set(texts)) > 1  # every sample has its own seed
    assert [c.text for cs in engine.generate(prompts, 3, params) for c in cs] == texts
    greedy = engine.generate(prompts[:1], 3, GREEDY)[0]
    assert len(greedy) == 3 and len({c.text for c in greedy}) == 1


def test_loop_passes_a_saved_adapter_to_vllm(solver):
    """Epoch 1 samples through the LoRA the loop saved to a temporary folder, gone afterwards."""
    calls = []
    generate = solver.engine.generate

    def recording(prompts, n, params, adapter=None, *, batch_size=None):
        if adapter is not None:
            calls.append((adapter, sorted(p.name for p in Path(adapter.path).iterdir())))
        return generate(prompts, n, params, adapter, batch_size=batch_size)

    solver.engine.generate = recording
    try:
        task, _ = parse_task("t1", TASK)
        result = solver.solve(task, hooks=LoopHooks())
    finally:
        del solver.engine.generate
    assert [e.predictions for e in result.epochs] == [4, 4]
    assert calls and all(a.name == "t1" and a.version == 1 for a, _ in calls)
    assert all("adapter_model.safetensors" in files for _, files in calls)
    assert not Path(calls[0][0].path).exists()  # the task's temporary folder is removed
