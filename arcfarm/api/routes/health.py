"""GET /health: can this API reach its database and its broker?"""
from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Response, status

from arcfarm.api.deps import QueueDep, SessionDep, SettingsDep
from arcfarm.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(session: SessionDep, queue: QueueDep, settings: SettingsDep, response: Response) -> Health:
    database = _check(lambda: session.execute(sa.text("SELECT 1")).scalar_one())
    broker = "embedded" if settings.embedded else _check(queue.ping)
    ok = database == "ok" and broker in ("ok", "embedded")
    if not ok:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Health(status="ok" if ok else "degraded", database=database, broker=broker)


def _check(probe) -> str:
    try:
        probe()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return f"{type(exc).__name__}: {exc}"[:500]
