"""The farm's HTTP API: `create_app(settings)` builds it; `arcfarm api` serves it with uvicorn.

    uvicorn --factory arcfarm.api.main:create_app --port 8000

Settings are read when the app is built, never at import. In embedded mode (no database or
broker URL) the SQLite database is migrated here and jobs run in a thread of this process.
"""
from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request, status
from fastapi.responses import JSONResponse

from arcfarm.api.deps import require_token
from arcfarm.api.routes import health, runs
from arcfarm.learn.config import ConfigError
from arcfarm.arc.grids import TaskError
from arcfarm.db.engine import make_engine, make_session_factory
from arcfarm.settings import Settings, get_settings
from arcfarm.workers.embedded import prepare_database
from arcfarm.jobs.queue import make_queue


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    if settings.embedded:
        prepare_database(settings)
    engine = make_engine(settings.db_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        app.state.queue.close()
        engine.dispose()

    app = FastAPI(title="arcfarm", lifespan=lifespan)
    app.state.settings = settings
    app.state.session_factory = make_session_factory(engine)
    app.state.queue = make_queue(settings)
    app.include_router(health.router)
    app.include_router(runs.router, dependencies=[Depends(require_token)])
    app.add_exception_handler(TaskError, _unprocessable)
    app.add_exception_handler(ConfigError, _unprocessable)
    return app


async def _unprocessable(_request: Request, exc: Exception) -> JSONResponse:
    """Bad task data or config: the message names the task (or key) and the field."""
    return JSONResponse(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, content={"detail": str(exc)})
