"""Request dependencies: one database session per request, the settings, the job queue, auth.

Route signatures stay short through the Annotated aliases (`SessionDep`, `SettingsDep`,
`QueueDep`). Everything comes from `app.state`, which `create_app` fills once.
"""
from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Sequence
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Path, Request, status
from pydantic import ValidationError
from sqlalchemy.orm import Session

from arcfarm.api.policy import ApiPolicy
from arcfarm.api.schemas import RunCreate
from arcfarm.arc.untrusted import (
    UntrustedInputError,
    check_json_tree,
    text_problem,
    too_deep_message,
)
from arcfarm.jobs.limits import MAX_RUN_ID
from arcfarm.jobs.queue import JobQueue
from arcfarm.settings import Settings


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.session_factory() as session:
        yield session


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_queue(request: Request) -> JobQueue:
    return request.app.state.queue


def get_policy(request: Request) -> ApiPolicy:
    return request.app.state.policy


def require_token(settings: Annotated[Settings, Depends(get_settings)],
                  authorization: Annotated[str | None, Header()] = None) -> None:
    """With ARCFARM_API_TOKEN set, every request needs `Authorization: Bearer <token>`."""
    if settings.api_token is None:
        return
    scheme, _, token = (authorization or "").partition(" ")
    # As bytes: compare_digest refuses str with non-ASCII characters (a 500 before the 401).
    if scheme.lower() != "bearer" or not secrets.compare_digest(token.encode(), settings.api_token.encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or wrong bearer token",
                            headers={"WWW-Authenticate": "Bearer"})


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json.loads keeps the last of two equal keys; a submission with a task twice is an error."""
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(f"duplicate key {key!r} in a JSON object (task ids must be unique)")
        seen[key] = value
    return seen


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 past `limit` bytes (declared or streamed)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                            f"request body of {int(declared)} bytes exceeds the limit of {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                                f"request body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def run_create_body(request: Request) -> RunCreate:
    """POST /runs's body: size-limited, strict JSON (no duplicate keys), then RunCreate."""
    # JSON only: a web page can send text/plain or a form to any site without asking first.
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                            f"POST /runs takes Content-Type: application/json, not {media_type[:100] or 'none'!r}")
    limit = int(request.app.state.settings.max_body_mb * 1024 * 1024)
    raw = await read_body(request, limit)
    try:
        data = json.loads(raw, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except RecursionError:  # deeper than the parser goes; check_json_tree catches the rest
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, too_deep_message()) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST,
                            f"request body is not valid JSON: {exc}") from None
    try:
        check_json_tree(data)
    except UntrustedInputError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    try:
        return RunCreate.model_validate(data)
    except ValidationError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, describe_errors(exc.errors())) from None


def describe_errors(errors: Sequence[Any]) -> str:
    """One line per problem: `field.path: message` (the input itself is not echoed)."""
    parts = []
    for err in errors:
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def task_id_path(task_id: Annotated[str, Path(max_length=200)]) -> str:
    """A task id from the URL: one the database can be asked about (no NUL)."""
    problem = text_problem(task_id)
    if problem is not None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"task id: {problem}")
    return task_id


# Run ids past MAX_RUN_ID are a 422 rather than an overflow in the database driver.
RunId = Annotated[int, Path(ge=1, le=MAX_RUN_ID, description="a run id")]
TaskIdDep = Annotated[str, Depends(task_id_path)]
SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
QueueDep = Annotated[JobQueue, Depends(get_queue)]
PolicyDep = Annotated[ApiPolicy, Depends(get_policy)]
RunCreateDep = Annotated[RunCreate, Depends(run_create_body)]
