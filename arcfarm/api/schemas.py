"""Request and response bodies of the API (Pydantic); the database rows stay in arcfarm.db."""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class RunCreate(BaseModel):
    """A run of one bundled config over a named dataset or over tasks given inline.

    {"dataset": "arc-agi-1/training", "task_ids": ["007bbfb7"], "config": "tiny-cpu"}
    {"tasks": {"my-task": {"train": [...], "test": [...]}}, "config": "tiny-cpu",
     "overrides": {"max_epochs": 1}}
    """

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    dataset: str | None = None
    task_ids: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(None, min_length=1)
    limit: int | None = Field(None, ge=1)
    tasks: dict[str, Any] | None = None
    config: str = Field(min_length=1)
    overrides: dict[str, Any] = Field(default_factory=dict)
    queue: str | None = Field(None, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")
    priority: int = Field(0, ge=0, le=9)

    @model_validator(mode="after")
    def _one_source(self) -> "RunCreate":
        if (self.dataset is None) == (self.tasks is None):
            raise ValueError('give exactly one of "dataset" and "tasks"')
        if self.tasks is not None and (self.task_ids or self.limit):
            raise ValueError('"task_ids" and "limit" select from a "dataset", not from "tasks"')
        if self.task_ids and len(set(self.task_ids)) != len(self.task_ids):
            twice = next(t for t in self.task_ids if self.task_ids.count(t) > 1)
            raise ValueError(f'"task_ids": task {twice!r} is listed twice')
        return self


class RunCreated(BaseModel):
    run_id: int
    jobs: int
    enqueued: bool  # False: the broker was unreachable; `arcfarm reconcile` will send the jobs


class Cancelled(BaseModel):
    run_id: int
    cancelled_jobs: int


class Health(BaseModel):
    status: str  # "ok" or "degraded"
    database: str  # "ok" or the error
    broker: str  # "ok", "embedded" or the error
