"""The search-and-learn loop for one ARC task: sample -> execute -> score -> relabel -> train.

    result = solve_task(solver, task, config, lora_settings(config), hooks, resume)

usually through `Solver.solve` (arcfarm.learn.solver, which builds model, trainer, engine and
sandbox pool once per process). Epoch 0 samples `initial_predictions` programs from the model as
it is (a fresh, zero adapter). Each later epoch trains the task's LoRA on the hindsight-relabeled
programs of the epoch before, then samples `predictions_per_epoch` more with the adapter active
(`learning: false`: same prompts, no training). The adapter is re-initialised in place per task.
The loop sees the task's train pairs and test inputs only; solutions are for scoring afterwards
(`scoring.task_score`).

Paired prompts: the task's prompts are numbered across rounds (prompt i = the i-th group of
`samples_per_prompt` predictions), and prompt i's frame (augmentation), train-pair order and
sampling seed depend on (seed, task, i) only. So 128 + 0 and 32 + 3x32 ask the same prompts, and
arms of an experiment differ only in what they learn (on engines with per-prompt seeds: hf, fast, vllm).

Out of memory: sampling that runs out of (GPU) memory is retried with half the batch, down to
one sequence, and only then fails the task (`SamplingOutOfMemory`); training that runs out is
retried with half the batch tokens (at most TRAIN_OOM_HALVINGS times), then skipped for that
epoch (the previous adapter is kept and `EpochRecord.train_error` says why). Before a training
step reports out of memory, `FastLoraTrainer` first retries it with more gradient checkpointing
(fast_train.py); the loop only sees what that could not absorb. A halved batch size
holds for the rest of the task; the next task starts from its config's.

Run it from the command line with `arcfarm solve TASK_OR_DATASET --config configs/tiny-cpu.yaml`.
"""
from __future__ import annotations

import hashlib
import logging
import math
import random
import tempfile
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Callable

import numpy as np
import torch

from arcfarm.arc.augment import Augmentation, augmentations_for
from arcfarm.arc.prompts import extract_code, render_prompt
from arcfarm.arc.scoring import Candidate, fingerprint, score_train, select_attempts
from arcfarm.arc.tasks import Task, shuffled_pairs
from arcfarm.learn.config import RunConfig
from arcfarm.learn.engines.base import AdapterRef, Completion, SamplingParams
from arcfarm.learn.records import EpochRecord, PredictionRecord, TaskResult
from arcfarm.learn.relabel import relabel_prediction, select_for_training
from arcfarm.learn.trainer import LoraSettings, TrainExample, TrainReport, is_out_of_memory
from arcfarm.sandbox import ProgramRun, RunResult

if TYPE_CHECKING:  # the Solver builds the parts and calls solve_task; the loop only uses them
    from arcfarm.learn.solver import Solver

log = logging.getLogger(__name__)
TRAIN_OOM_HALVINGS = 3
SAMPLER_RELEASE_FREE_FRACTION = 0.4  # free GPU memory below this share -> drop the sampler's caches


class SamplingOutOfMemory(RuntimeError):
    """Sampling ran out of memory even one sequence at a time."""


@dataclass
class LoopHooks:
    """Callbacks through which the farm persists progress and asks the loop to stop."""

    on_predictions: Callable[[list[PredictionRecord]], None] | None = None
    on_epoch: Callable[[EpochRecord, list[PredictionRecord]], None] | None = None
    should_stop: Callable[[], bool] | None = None


@dataclass
class ResumeState:
    """What a redelivered job had already committed: replayed, not recomputed."""

    epochs: list[EpochRecord] = field(default_factory=list)
    predictions: list[PredictionRecord] = field(default_factory=list)
    adapter_dir: str | None = None


def solve_task(solver: Solver, task: Task, config: RunConfig, settings: LoraSettings,
               hooks: LoopHooks | None = None, resume: ResumeState | None = None) -> TaskResult:
    """Run the loop on `task` with the solver's parts; `settings` train the task's LoRA."""
    run = _TaskRun(solver, task, config, settings, hooks or LoopHooks(), resume)
    try:
        return run.run()
    finally:
        run.close()


class _TaskRun:
    """One task's loop state; `run()` reads like the algorithm."""

    def __init__(self, solver: Solver, task: Task, config: RunConfig, settings: LoraSettings,
                 hooks: LoopHooks, resume: ResumeState | None):
        self.s, self.task, self.cfg, self.hooks = solver, task, config, hooks
        self.train_settings = settings  # fewer batch_tokens for the task after an out of memory
        self.resume = resume or ResumeState()
        self.records: list[PredictionRecord] = list(self.resume.predictions)
        self.epochs: list[EpochRecord] = list(self.resume.epochs)
        self.trained: set[str] = set()
        self.sample_batch_size = config.sample_batch_size  # halved for the task on out of memory
        self.started = time.perf_counter()
        self.adapter_tmp: tempfile.TemporaryDirectory | None = None  # see _adapter_path

    def close(self) -> None:
        if self.adapter_tmp is not None:
            self.adapter_tmp.cleanup()

    def run(self) -> TaskResult:
        trainer = self.s.trainer
        t0 = time.perf_counter()
        trainer.reset(seed=_derived_seed(self.cfg.seed, self.task.id, "lora"))
        if self.resume.adapter_dir and self.epochs:
            trainer.load(self.resume.adapter_dir)
        reset_s = time.perf_counter() - t0
        self._replay_trained()
        stop_reason = "max_epochs"
        for epoch in range(len(self.epochs), self.cfg.max_epochs + 1):
            if self.hooks.should_stop and self.hooks.should_stop():
                stop_reason = "cancelled"
                break
            if time.perf_counter() - self.started > self.cfg.time_budget_s:
                stop_reason = "time_budget"
                break
            self._epoch(epoch, reset_s if epoch == len(self.resume.epochs) else 0.0)
            if self._agreement_reached():
                stop_reason = "agreement"
                break
        return TaskResult(task_id=self.task.id, epochs=self.epochs, attempts=self._attempts(),
                          stop_reason=stop_reason, seconds=time.perf_counter() - self.started)

    # -- one epoch --------------------------------------------------------------------------
    def _epoch(self, epoch: int, reset_s: float) -> None:
        n = self.cfg.initial_predictions if epoch == 0 else self.cfg.predictions_per_epoch
        relabeled, loss, train_error, train_tokens, relabel_s, train_s = 0, None, None, 0, 0.0, 0.0
        if epoch > 0 and self.cfg.learning:
            t0 = time.perf_counter()
            examples = self._relabel(epoch - 1)
            relabel_s = time.perf_counter() - t0
            relabeled = len(examples)
            if examples:
                report = self._train(examples)
                loss, train_error, train_tokens = report.loss, report.error, report.tokens
                train_s = report.seconds
        t0 = time.perf_counter()
        batch = self._sample(epoch, n)
        sample_s = time.perf_counter() - t0
        sample_warning = self.s.engine.take_note()
        t0 = time.perf_counter()
        new = self._execute(epoch, batch)
        execute_s = time.perf_counter() - t0
        self.records.extend(new)
        if self.hooks.on_predictions:
            self.hooks.on_predictions(new)
        record = EpochRecord(
            epoch=epoch, predictions=len(new), valid=sum(r.valid for r in new),
            unique_outputs=len({r.fingerprint for r in new if r.valid}), relabeled=relabeled,
            train_loss=loss, train_error=train_error,
            best_train_correct=max((r.train_correct for r in new), default=0),
            passes_train=sum(r.passes_train for r in new), sample_s=sample_s,
            execute_s=execute_s, relabel_s=relabel_s, train_s=train_s, reset_s=reset_s,
            train_tokens=train_tokens, sample_warning=sample_warning)
        self.epochs.append(record)
        if self.hooks.on_epoch:
            self.hooks.on_epoch(record, new)

    def _train(self, examples: list[TrainExample]) -> TrainReport:
        """Train; after an out-of-memory, again with half the batch tokens (a few times, and for
        the rest of the task)."""
        trainer, engine = self.s.trainer, self.s.engine
        self._free_sampler_memory()
        engine.before_training()  # e.g. vLLM's sleep mode gives the GPU back
        try:
            report = trainer.train(examples, self.train_settings)
            for _ in range(TRAIN_OOM_HALVINGS):
                tokens = self.train_settings.batch_tokens
                if not report.out_of_memory or tokens <= 1:
                    break
                self.train_settings = replace(self.train_settings, batch_tokens=max(1, tokens // 2))
                log.warning("task %s: training out of memory; retrying with batch_tokens=%d",
                            self.task.id, self.train_settings.batch_tokens)
                report = trainer.train(examples, self.train_settings)
        finally:
            engine.after_training()
        return report

    def _free_sampler_memory(self) -> None:
        """The fast engine keeps its KV caches and CUDA graphs between calls (no re-capture per
        epoch); at the longest prompts they and training do not fit in 80 GB together
        (bench/results/gpu-*: CUBLAS_STATUS_ALLOC_FAILED), so give them back when memory is tight."""
        if not torch.cuda.is_available():
            return
        free, total = torch.cuda.mem_get_info()
        if free < SAMPLER_RELEASE_FREE_FRACTION * total:
            self.s.engine.release()

    def _select(self, source_epoch: int) -> list[PredictionRecord]:
        cfg = self.cfg
        if cfg.relabel_policy == "top_k_by_train_score":  # the best of everything so far
            pool = [r for r in self.records if r.epoch <= source_epoch]
        else:
            pool = [r for r in self.records if r.epoch == source_epoch]
        return select_for_training(pool, seen=self.trained, cap=cfg.relabel_cap,
                                   min_train_correct=cfg.relabel_min_train_correct,
                                   policy=cfg.relabel_policy, top_k=cfg.relabel_top_k)

    def _relabel(self, source_epoch: int) -> list[TrainExample]:
        examples = []
        for rec in self._select(source_epoch):
            relabeled = relabel_prediction(self.task, rec)
            if relabeled is not None:
                shown = relabeled.task
                if self.cfg.shuffle_train_pairs:
                    shown = shuffled_pairs(shown, _derived_seed(self.cfg.seed, self.task.id,
                                                                rec.sample_index, "train-pairs"))
                prompt = render_prompt(self.s.tokenizer, shown)
                examples.append(TrainExample(prompt=prompt, response=relabeled.response))
        return examples

    def _replay_trained(self) -> None:
        """On resume, mark what earlier epochs trained on so it is not trained on twice."""
        if not self.cfg.learning:
            return
        for epoch in range(1, len(self.epochs)):
            self._select(epoch - 1)

    # -- search ---------------------------------------------------------------------------------
    def _first_prompt(self, epoch: int) -> int:
        """The task-wide number of the epoch's first prompt (rounds never share a prompt)."""
        if epoch == 0:
            return 0
        per = self.cfg.samples_per_prompt
        return math.ceil(self.cfg.initial_predictions / per) + \
            (epoch - 1) * math.ceil(self.cfg.predictions_per_epoch / per)

    def _sample(self, epoch: int, n: int) -> list[tuple[Augmentation, Completion]]:
        if n == 0:
            return []
        cfg = self.cfg
        per_prompt = cfg.samples_per_prompt
        n_prompts = math.ceil(n / per_prompt)
        first = self._first_prompt(epoch)
        # One list of frames for the whole task (identity first, dihedral transforms cycling);
        # each round takes its slice, so prompt i has the same frame whatever the schedule.
        rng = random.Random(_derived_seed(cfg.seed, self.task.id, "aug"))
        augs = augmentations_for(first + n_prompts, rng,
                                 permute_background=cfg.permute_background)[first:]
        numbers = range(first, first + n_prompts)
        shown = [aug.apply_task(self.task) for aug in augs]
        if cfg.shuffle_train_pairs:
            shown = [shuffled_pairs(t, _derived_seed(cfg.seed, self.task.id, i, "pairs"))
                     for t, i in zip(shown, numbers)]
        prompts = [render_prompt(self.s.tokenizer, t) for t in shown]
        seeds = [_derived_seed(cfg.seed, self.task.id, i, "sample") for i in numbers]
        adapter = None
        if epoch > 0 and cfg.learning:
            adapter = AdapterRef(f"{self.task.id}", epoch, self._adapter_path(epoch))
        temperature = cfg.temperature
        if epoch > 0 and cfg.later_epochs_temperature is not None:
            temperature = cfg.later_epochs_temperature
        # (count, temperature) per prompt; one engine call per run of equal ones, in order.
        plan = [(min(per_prompt, n - k * per_prompt),
                 cfg.cold_temperature if k < cfg.cold_prompts_per_round else temperature)
                for k in range(n_prompts)]
        out: list[list[Completion]] = []
        start = 0
        while start < n_prompts:
            end = start
            while end < n_prompts and plan[end] == plan[start]:
                end += 1
            count, temp = plan[start]
            params = SamplingParams(temperature=temp, top_p=cfg.top_p,
                                    max_new_tokens=cfg.max_new_tokens,
                                    seed=_derived_seed(cfg.seed, self.task.id, epoch, start, "sample"),
                                    prompt_seeds=seeds[start:end])
            out.extend(self._generate(prompts[start:end], count, params, adapter, epoch))
            start = end
        return [(aug, c) for aug, comps in zip(augs, out) for c in comps]

    def _adapter_path(self, epoch: int) -> str | None:
        """Engines in another process (vLLM) read the LoRA from disk: save this epoch's adapter to
        a fresh directory under the task's temporary folder. In-process engines need no copy."""
        if not self.s.engine.needs_adapter_path:
            return None
        if self.adapter_tmp is None:
            self.adapter_tmp = tempfile.TemporaryDirectory(prefix="arcfarm-adapter-")
        directory = f"{self.adapter_tmp.name}/epoch-{epoch}"
        self.s.trainer.save(directory)
        return directory

    def _generate(self, prompts: list[str], n: int, params: SamplingParams,
                  adapter: AdapterRef | None, epoch: int) -> list[list[Completion]]:
        """engine.generate; out of memory halves the task's batch and tries again, down to 1.

        The one out-of-memory policy for sampling, here rather than in each engine: the batch
        size is the task's state (it stays halved for the rest of the task), the failure must
        name task and epoch, and it is the same for every engine."""
        while True:
            size = self.sample_batch_size
            try:
                return self.s.engine.generate(prompts, n, params, adapter, batch_size=size)
            except Exception as exc:
                if not is_out_of_memory(exc):
                    raise
                reason = str(exc).splitlines()[0][:300]
            # Out of the except block, so the traceback's frames (and their tensors) are freed.
            if size <= 1:
                raise SamplingOutOfMemory(f"task {self.task.id!r} epoch {epoch}: sampling ran out "
                                          f"of memory even at batch size 1 ({reason})")
            self.sample_batch_size = size // 2
            self.s.engine.release()  # caches sized for the old batch
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            log.warning("task %s epoch %d: sampling out of memory at batch size %d; retrying "
                        "with %d", self.task.id, epoch, size, size // 2)

    def _execute(self, epoch: int, batch: list[tuple[Augmentation, Completion]]
                 ) -> list[PredictionRecord]:
        codes = [extract_code(c.text) for _, c in batch]
        inputs = {aug: aug.apply_task(self.task).all_inputs() for aug, _ in batch}  # once per prompt
        runs = [ProgramRun(code, inputs[aug]) for code, (aug, _) in zip(codes, batch)]
        results = self.s.executor.run(runs)
        first_index = len(self.records)
        return [self._record(epoch, first_index + i, aug, comp, code, res)
                for i, (code, (aug, comp), res) in enumerate(zip(codes, batch, results))]

    def _record(self, epoch: int, index: int, aug: Augmentation, comp: Completion, code: str,
                res: RunResult) -> PredictionRecord:
        outputs = [None if g is None else aug.invert_grid(g) for g in res.outputs]
        n_train = len(self.task.train)
        train_out, test_out = outputs[:n_train], outputs[n_train:]
        score = score_train([p.output for p in self.task.train], train_out)
        return PredictionRecord(
            epoch=epoch, sample_index=index, augmentation=aug.to_json(),
            prompt_tokens=comp.prompt_tokens, completion_tokens=comp.completion_tokens,
            response=comp.text, code=code,
            code_hash=hashlib.sha256(code.encode()).hexdigest()[:16],
            train_outputs=train_out, test_outputs=test_out, grid_errors=list(res.grid_errors),
            error=res.error, error_message=res.message, train_correct=score.train_correct,
            train_total=score.train_total, pixel_score=score.pixel_score,
            passes_train=score.passes_train, fingerprint=fingerprint(outputs),
            seconds=res.seconds)

    # -- answers ----------------------------------------------------------------------------------
    def _candidates(self) -> list[Candidate]:
        return [Candidate(code=r.code, train_correct=r.train_correct, passes_train=r.passes_train,
                          test_outputs=r.test_outputs) for r in self.records]

    def _attempts(self) -> list[list[np.ndarray]]:
        return select_attempts(self._candidates(), len(self.task.test_inputs))

    def _agreement_reached(self) -> bool:
        """Stop once k distinct programs pass every train pair and agree on the test outputs."""
        k = self.cfg.stop_after_agreeing
        if k <= 0:
            return False
        votes: dict[str, set[str]] = {}
        for r in self.records:
            if r.passes_train and all(g is not None for g in r.test_outputs):
                key = fingerprint(r.test_outputs) or ""
                votes.setdefault(key, set()).add(r.code_hash)
        return any(len(codes) >= k for codes in votes.values())


def _derived_seed(*parts: object) -> int:
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:4], "little")
