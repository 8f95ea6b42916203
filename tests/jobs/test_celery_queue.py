"""The producer side against a real Redis: one message per job on the run's queue, in the
priority list its run priority maps to, and `waiting_job_ids` reads back exactly those jobs."""
from __future__ import annotations

import redis

from arcfarm.jobs.broker import PRIORITY_SEP, message_priority
from arcfarm.jobs.queue import CeleryQueue, QueuedJob


def test_enqueue_puts_one_message_per_job_on_its_queue_and_priority(farm_settings, queue_name, redis_url):
    queue = CeleryQueue(farm_settings)
    other = f"{queue_name}-other"
    try:
        queue.enqueue([QueuedJob(11, queue=queue_name), QueuedJob(12, queue=queue_name, priority=9),
                       QueuedJob(13, queue=other, priority=3)])
        assert queue.waiting_job_ids({queue_name}) == {11, 12}
        assert queue.waiting_job_ids({queue_name, other}) == {11, 12, 13}
        client = redis.Redis.from_url(redis_url)
        assert client.llen(f"{queue_name}{PRIORITY_SEP}{message_priority(0)}") == 1
        assert client.llen(queue_name) == 1  # priority 9 = most urgent = Redis's list 0
        assert client.llen(f"{other}{PRIORITY_SEP}{message_priority(3)}") == 1
    finally:
        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(f"{queue_name}*"):
            client.delete(key)
        queue.close()


def test_priorities_are_clamped_and_higher_is_served_first():
    assert [message_priority(p) for p in (-5, 0, 5, 9, 42)] == [9, 9, 4, 0, 0]
