"""The dashboard's pages: runs, a run, a task of a run, two runs compared; and the login.

Read-only: every number comes from arcfarm.db.reads (the researcher views and a few reads of
the task, its programs and attempts). Test outputs are read only for an operator
(`Viewer.sees_solutions`); a reader's page never asks for them.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from arcfarm.api.deps import RunId, SessionDep, TaskIdDep, read_body
from arcfarm.api.routes.runs import eta_seconds
from arcfarm.api.ui import access, charts, shape
from arcfarm.api.ui.grids import grid_shape, palette_css
from arcfarm.api.ui.task_table import seconds, task_rows
from arcfarm.db import reads
from arcfarm.db.status import JOB_TERMINAL, RUN_OPEN
from arcfarm.jobs.limits import MAX_RUN_ID

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
TEMPLATES.env.globals.update(palette_css=Markup(palette_css()), grid_shape=grid_shape, seconds=seconds)
CODE_CSS = HtmlFormatter(style="friendly").get_style_defs(".code")

router = APIRouter(prefix="/ui", include_in_schema=False)
ViewerDep = Annotated[access.Viewer, Depends(access.viewer)]


LOGIN_BODY_LIMIT = 64 * 1024  # a token and a next path; read before anyone is authenticated


class PageError(Exception):
    """A 4xx page (a missing run or task, a bad query) in the dashboard's look."""

    def __init__(self, status_code: int, message: str):
        self.status_code, self.message = status_code, message


def _page(request: Request, template: str, viewer: access.Viewer | None, **context: Any) -> HTMLResponse:
    logged_in = access.COOKIE in request.cookies  # a log-out button only where there is a session
    return TEMPLATES.TemplateResponse(request, template, {"viewer": viewer, "logged_in": logged_in, **context})


@router.get("/", response_class=HTMLResponse)
def runs_page(request: Request, session: SessionDep, viewer: ViewerDep) -> HTMLResponse:
    runs = reads.list_runs(session=session)
    counts = reads.job_counts(session=session, run_ids=[r["run_id"] for r in runs])
    for run in runs:
        run["jobs"] = counts[run["run_id"]]
        run["eta_s"] = eta_seconds(run) if run["status"] in RUN_OPEN else None
    live = any(r["status"] in RUN_OPEN for r in runs)
    return _page(request, "runs.html", viewer, runs=runs, refresh=live)


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: RunId, session: SessionDep, viewer: ViewerDep,
             show: str = "all", sort: str = "task_id", desc: bool = False) -> HTMLResponse:
    if show not in shape.FILTERS or sort not in shape.SORT_KEYS:
        raise PageError(status.HTTP_400_BAD_REQUEST,
                        f"show must be one of {', '.join(shape.FILTERS)}; sort one of "
                        f"{', '.join(shape.SORT_KEYS)}")
    progress = reads.run_progress(session=session, run_id=run_id)
    if progress is None:
        raise PageError(status.HTTP_404_NOT_FOUND, f"run {run_id} not found")
    progress["eta_s"] = eta_seconds(progress)
    rows = reads.run_tasks(session=session, run_id=run_id)
    analysis = reads.run_analysis(session=session, run_id=run_id)
    budget = max((r["predictions"] for r in rows), default=0)
    by_epoch = shape.solved_by_epoch(rows)
    phases = analysis["phases"]
    figures = {
        "by_epoch": charts.bars([(f"epoch {e}" if e == 0 else f"by epoch {e}", n)
                                 for e, n in enumerate(by_epoch)], kind="by-epoch"),
        "pass_at_n": charts.step_curve(shape.pass_at_n(analysis["first_correct_sample"], budget),
                                       len(rows), "predictions spent per task",
                                       "tasks with a right program"),
        "errors": charts.bars(list(analysis["errors"].items()), kind="errors"),
        "phases": charts.bars([("sample", phases["sample_s"]), ("execute", phases["execute_s"]),
                               ("train", phases["train_s"])], unit=" s", kind="phases"),
    }
    tasks = shape.sort_tasks(shape.filter_tasks(rows, show), sort, desc)
    others = [r for r in reads.list_runs(session=session) if r["run_id"] != run_id]
    return _page(request, "run.html", viewer, run=progress, n_shown=len(tasks), n_all=len(rows),
                 task_rows=task_rows(run_id, tasks),
                 show=show, sort=sort, desc=desc, filters=shape.FILTERS, sort_keys=shape.SORT_KEYS,
                 figures=figures, others=others, refresh=progress["status"] in RUN_OPEN,
                 finished=sum(progress["jobs"][s.value] for s in JOB_TERMINAL))


@router.get("/runs/{run_id}/tasks/{task_id:path}", response_class=HTMLResponse)  # ids may hold "/"
def task_page(request: Request, run_id: RunId, task_id: TaskIdDep, session: SessionDep,
              viewer: ViewerDep) -> HTMLResponse:
    detail = reads.task_detail(session=session, run_id=run_id, task_id=task_id)
    if detail is None:
        raise PageError(status.HTTP_404_NOT_FOUND, f"run {run_id} has no task {task_id!r}")
    expected = (reads.task_solutions(session=session, run_id=run_id, task_id=task_id)
                if viewer.sees_solutions else None)
    programs = reads.best_programs(session=session, run_id=run_id, task_id=task_id)
    for program in programs:
        program["html"] = Markup(highlight(program["code"], PythonLexer(), HtmlFormatter(cssclass="code")))
    tests = detail["task_json"]["test"]
    attempts = {a["test_index"]: a for a in detail["attempts"]}
    rows = [{"input": t["input"], "attempt": attempts.get(i),
             "expected": expected[i] if expected and i < len(expected) else None}
            for i, t in enumerate(tests)]
    return _page(request, "task.html", viewer, run_id=run_id, task_id=task_id, detail=detail,
                 train=detail["task_json"]["train"], tests=rows, programs=programs,
                 code_css=Markup(CODE_CSS), refresh=detail["result"]["status"] == "running")


@router.get("/compare", response_class=HTMLResponse)
def compare_page(request: Request, session: SessionDep, viewer: ViewerDep,
                 a: Annotated[int | None, Query(ge=1, le=MAX_RUN_ID)] = None,
                 b: Annotated[int | None, Query(ge=1, le=MAX_RUN_ID)] = None) -> HTMLResponse:
    runs = reads.list_runs(session=session)
    if a is None or b is None:
        return _page(request, "compare.html", viewer, runs=runs, a=a, b=b, pairs=None)
    for run_id in (a, b):
        if not reads.run_exists(session=session, run_id=run_id):
            raise PageError(status.HTTP_404_NOT_FOUND, f"run {run_id} not found")
    rows_a = {r["task_id"]: r for r in reads.run_tasks(session=session, run_id=a)}
    rows_b = {r["task_id"]: r for r in reads.run_tasks(session=session, run_id=b)}
    solved = {k: {t for t, r in rows.items() if r["score"] == 1} for k, rows in (("a", rows_a), ("b", rows_b))}
    groups = {
        "only_a": sorted(solved["a"] - solved["b"]),
        "only_b": sorted(solved["b"] - solved["a"]),
        "both": sorted(solved["a"] & solved["b"]),
        "neither": sorted((set(rows_a) | set(rows_b)) - solved["a"] - solved["b"]),
    }
    pairs = [(t, rows_a.get(t), rows_b.get(t)) for t in sorted(set(rows_a) | set(rows_b))]
    return _page(request, "compare.html", viewer, runs=runs, a=a, b=b, pairs=pairs, groups=groups)


@router.get("/runs/{run_id}/submission.json")
def submission_file(run_id: RunId, session: SessionDep, _viewer: ViewerDep) -> Response:
    """The run's answers (attempts, not test outputs): readers may download them too."""
    if not reads.run_exists(session=session, run_id=run_id):
        raise PageError(status.HTTP_404_NOT_FOUND, f"run {run_id} not found")
    body = json.dumps(reads.submission(session=session, run_id=run_id))
    return Response(body, media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="submission-run{run_id}.json"'})


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/ui/") -> HTMLResponse:
    return _page(request, "login.html", None, next=access.safe_next(next), error=None)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    settings = request.app.state.settings
    form = parse_qs((await read_body(request, LOGIN_BODY_LIMIT)).decode("utf-8", "replace"))
    token = form.get("token", [""])[0]
    next_url = access.safe_next(form.get("next", ["/ui/"])[0])
    role = access.role_for_token(settings, token) if settings.api_token else None
    if role is None:
        response = _page(request, "login.html", None, next=next_url, error="wrong token")
        response.status_code = status.HTTP_401_UNAUTHORIZED
        return response
    response = RedirectResponse(next_url, status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(access.COOKIE, access.session_cookie(settings, role), httponly=True,
                        samesite="strict", path="/ui", max_age=access.SESSION_S)
    return response


@router.post("/logout")
def logout() -> Response:
    response = RedirectResponse("/ui/login", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(access.COOKIE, path="/ui")
    return response


async def page_error(request: Request, exc: PageError) -> HTMLResponse:
    response = _page(request, "error.html", None, status_code=exc.status_code, message=exc.message)
    response.status_code = exc.status_code
    return response


async def login_required(request: Request, exc: access.LoginRequired) -> Response:
    return RedirectResponse(f"/ui/login?next={exc.next_url}", status_code=status.HTTP_303_SEE_OTHER)


async def loopback_only(request: Request, exc: access.NotLoopback) -> HTMLResponse:
    return await page_error(request, PageError(
        status.HTTP_403_FORBIDDEN, "without ARCFARM_API_TOKEN the dashboard answers loopback clients only"))


def install(app) -> None:
    """Mount the pages, their assets and their error pages on the API's app."""
    from fastapi.staticfiles import StaticFiles

    app.include_router(router)
    app.mount("/ui/static", StaticFiles(directory=Path(__file__).parents[1] / "static"), name="ui-static")
    app.add_exception_handler(PageError, page_error)
    app.add_exception_handler(access.LoginRequired, login_required)
    app.add_exception_handler(access.NotLoopback, loopback_only)
