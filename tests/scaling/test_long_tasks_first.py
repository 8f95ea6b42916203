"""Within a run, messages leave largest expected cost first (prompt length: cells of every grid;
the budget is the same for every job of a run), so the run's tail is its shortest tasks. Read
back from the real Redis list in the order a worker would pop them. And a run's queue is where
its messages go: nothing lands on another queue."""
from __future__ import annotations

import base64
import json

import redis
import sqlalchemy as sa

from arcfarm.arc.tasks import parse_task
from arcfarm.jobs import submit
from arcfarm.jobs.queue import CeleryQueue
from arcfarm.learn.config import load_config


def _task(name: str, side: int, pairs: int):
    grid = [[1] * side for _ in range(side)]
    return parse_task(name, {"train": [{"input": grid, "output": grid}] * pairs,
                             "test": [{"input": grid}]})


def _job_id(raw: bytes) -> int:
    body = json.loads(raw)["body"]
    return json.loads(base64.b64decode(body))[0][0]


def test_a_runs_messages_are_sent_longest_task_first(session_factory, farm_settings, redis_url,
                                                      queue_name):
    queue = f"{queue_name}-order"
    tasks = [_task("small", 3, 1), _task("huge", 30, 4), _task("medium", 10, 2), _task("big", 20, 3)]
    with session_factory() as s:
        run_id = submit.create_run(session=s, settings=farm_settings, name="order", dataset="order",
                                   tasks=tasks, config=load_config("tiny-cpu"), queue=queue)
        jobs = CeleryQueue(farm_settings)
        try:
            assert submit.enqueue_run(session=s, queue=jobs, run_id=run_id) == 4
        finally:
            jobs.close()
        rows = s.execute(sa.text("SELECT j.id, t.task_id, j.expected_cost FROM jobs j JOIN tasks t "
                                 "ON t.id = j.task_pk WHERE j.run_id = :r"), {"r": run_id}).all()
    by_id = {r.id: (r.task_id, r.expected_cost) for r in rows}
    client = redis.Redis.from_url(redis_url)
    # Run priority 0 is Redis priority step 9: one list "<queue>\x06\x169" (kombu's naming).
    keys = list(client.scan_iter(f"{queue_name}-order*"))
    assert [k.decode() for k in keys] == [f"{queue}\x06\x169"]
    popped = [_job_id(raw) for raw in reversed(client.lrange(keys[0], 0, -1))]  # LPUSH / BRPOP
    client.delete(*keys)
    assert [by_id[j][0] for j in popped] == ["huge", "big", "medium", "small"]
    costs = [by_id[j][1] for j in popped]
    assert costs == sorted(costs, reverse=True) and costs[0] == 30 * 30 * 9
