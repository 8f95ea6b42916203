"""Retrying database calls across a lost connection (PostgreSQL restarted, a failover, a blip).

    result = retry_db(lambda: do_something_in_a_new_session(), what="record epoch 2", budget_s=60)

`call` must open its own session, so every try starts on a fresh connection (the pool's
pre-ping drops the dead ones), and must be safe to repeat: the worker's writes are (upserts,
claims by the same worker, status updates). Only connection-shaped errors are retried
(OperationalError, InterfaceError, or any DBAPIError that invalidated its connection), with
exponential backoff until `budget_s` is spent; anything else (a constraint, bad SQL) is raised
at once.
"""
from __future__ import annotations

import logging
import time
from typing import Callable, TypeVar

import sqlalchemy.exc as sa_exc

log = logging.getLogger(__name__)
T = TypeVar("T")


def is_connection_error(exc: BaseException) -> bool:
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and bool(exc.connection_invalidated)


def retry_db(call: Callable[[], T], *, what: str, budget_s: float = 60.0, first_s: float = 0.25,
             max_wait_s: float = 8.0) -> T:
    """`call()`, tried again after 0.25, 0.5, 1, ... s (at most `max_wait_s` apart) while the
    database is unreachable; the last error is raised once `budget_s` seconds have passed."""
    deadline = time.monotonic() + budget_s
    wait = first_s
    while True:
        try:
            return call()
        except Exception as exc:
            if not is_connection_error(exc) or time.monotonic() + wait > deadline:
                raise
            log.warning("%s: database unreachable (%s); retrying in %.2f s", what,
                        str(exc).splitlines()[0][:200], wait)
            time.sleep(wait)
            wait = min(wait * 2, max_wait_s)
