"""The farm's HTTP API: `create_app(settings)` builds it; `arcfarm api` serves it with uvicorn.

    uvicorn --factory arcfarm.api.main:create_app --port 8000

Without ARCFARM_API_TOKEN the app answers loopback clients only (arcfarm.api.loopback), whatever
host the server listens on.

Settings are read when the app is built, never at import. In embedded mode (no database or
broker URL) the SQLite database is migrated here and jobs run in a thread of this process
(arcfarm.workers.embedded, imported only then); otherwise jobs go to the broker as Celery
messages. Importing this module imports neither Celery nor torch.

/docs (Swagger UI) and /redoc load their JavaScript and CSS from this server (the files the
fastapi-offline package ships, under /docs-static), never from a CDN: farms are often offline.
The dashboard's pages are under /ui/ (arcfarm.api.ui).
"""
from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from arcfarm.api.browser_guard import BrowserGuard
from arcfarm.api.deps import describe_errors, require_token
from arcfarm.api.loopback import LoopbackOnly
from arcfarm.api.policy import load_policy
from arcfarm.api.routes import health, runs
from arcfarm.api.ui import routes as ui
from arcfarm.arc.grids import TaskError
from arcfarm.db.connection import make_db_engine, make_session_factory
from arcfarm.db.migrate import upgrade_embedded
from arcfarm.jobs.queue import CeleryQueue, JobQueue
from arcfarm.learn.config import ConfigError
from arcfarm.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    policy = load_policy(settings)  # a bad policy file stops the API here, not at the first run
    if settings.embedded:
        upgrade_embedded(settings)
    engine = make_db_engine(settings.db_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        app.state.queue.close()
        engine.dispose()

    app = FastAPIOffline(title="arcfarm", lifespan=lifespan, static_url="/docs-static")
    app.state.settings = settings
    app.state.policy = policy
    app.state.session_factory = make_session_factory(engine)
    app.state.queue = _job_queue(settings)
    app.include_router(health.router)
    app.include_router(runs.router, dependencies=[Depends(require_token)])
    ui.install(app)
    app.add_api_route("/ui", lambda: RedirectResponse("/ui/"), include_in_schema=False)
    app.add_exception_handler(TaskError, _unprocessable)
    app.add_exception_handler(ConfigError, _unprocessable)
    app.add_exception_handler(RequestValidationError, _bad_parameters)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(BrowserGuard, token_set=settings.api_token is not None)
    if settings.api_token is None:  # here, not in `arcfarm api`: uvicorn --factory skips that
        app.add_middleware(LoopbackOnly)
    return app


def _job_queue(settings: Settings) -> JobQueue:
    if settings.embedded:
        from arcfarm.workers.embedded import EmbeddedQueue  # the consumer, in this process

        return EmbeddedQueue(settings)
    return CeleryQueue(settings)


async def _unprocessable(_request: Request, exc: Exception) -> JSONResponse:
    """Bad task data or config: the message names the task (or key) and the field."""
    return JSONResponse(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, content={"detail": str(exc)})


def _in_dashboard(request: Request) -> bool:
    return request.url.path == "/ui" or request.url.path.startswith("/ui/")


async def _bad_parameters(request: Request, exc: RequestValidationError) -> Response:
    """Path and query parameters out of range: one line naming each, like a bad body (a page in
    the dashboard's look under /ui/)."""
    detail = describe_errors(exc.errors())
    if _in_dashboard(request):
        return await ui.page_error(request, ui.PageError(status.HTTP_422_UNPROCESSABLE_CONTENT, detail))
    return JSONResponse(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, content={"detail": detail})


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """FastAPI's JSON errors, except under /ui/ (an unknown page, a bad id): the dashboard's page."""
    if _in_dashboard(request):
        return await ui.page_error(request, ui.PageError(exc.status_code, str(exc.detail)))
    return await http_exception_handler(request, exc)
