"""Periodic reconcile inside every worker process: Redis may lose messages, PostgreSQL does not.

Every `ARCFARM_RECONCILE_S` seconds (default 60) a daemon thread of the worker runs the same
pass as `arcfarm reconcile`: jobs PostgreSQL says are queued, and running jobs whose heartbeat
is stale (their worker died), get a message unless one is already waiting in the broker. A
broker-wide lock lets one worker per interval do it. This is what brings a run back after the
broker was flushed or restarted empty, or after a worker was killed mid-job: a stale job is
re-sent and the worker that takes it resumes from its last committed epoch.

    reconciler = Reconciler(settings, session_factory); reconciler.start(); ...; reconciler.stop()
"""
from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from arcfarm.db.retry import is_connection_error
from arcfarm.settings import Settings

log = logging.getLogger(__name__)


class Reconciler:
    def __init__(self, settings: Settings, session_factory: sessionmaker[Session]):
        self.settings, self.session_factory = settings, session_factory
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="arcfarm-reconcile", daemon=True)

    def start(self) -> "Reconciler":
        if self.settings.reconcile_s > 0:
            self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout=10)

    def _loop(self) -> None:
        while not self.stopping.wait(self.settings.reconcile_s):
            self._pass()

    def _pass(self) -> None:
        """One pass on a fresh broker connection: after a flush, its queue declarations (and so
        the routing of its messages) are made again."""
        from arcfarm.jobs import submit
        from arcfarm.jobs.queue import CeleryQueue

        queue = CeleryQueue(self.settings)
        try:
            if not queue.try_lock("reconcile", self.settings.reconcile_s * 0.8):
                return
            with self.session_factory() as session:
                sent = submit.reconcile(session=session, queue=queue,
                                        stale_after_s=self.settings.stale_after_s)
            if sent["queued"] or sent["stale"]:
                log.warning("reconcile re-sent queued jobs %s and stale jobs %s",
                            sent["queued"], sent["stale"])
        except Exception as exc:  # noqa: BLE001 - the next pass tries again
            level = logging.INFO if is_connection_error(exc) else logging.WARNING
            log.log(level, "reconcile pass failed: %s", exc, exc_info=not is_connection_error(exc))
        finally:
            queue.close()
