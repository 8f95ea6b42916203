"""The farm's settings, read from `ARCFARM_*` environment variables when asked, never at import.

    ARCFARM_DATABASE_URL         postgresql+psycopg://user@host/db   (unset: embedded SQLite)
    ARCFARM_BROKER_URL           redis://host:6379/0                 (unset: in-process queue)
    ARCFARM_ARTIFACTS            adapter store, a folder or an fsspec URL (default: $ARCFARM_HOME/artifacts
                                 in embedded mode, ./artifacts with a database)
    ARCFARM_HOME                 embedded mode's home: arcfarm.db, runs/, tiny-model/ (default ./.arcfarm)
    ARCFARM_API_TOKEN            when set, the API wants `Authorization: Bearer <token>` (not /health)
                                 and the dashboard (/ui/) a login with it
    ARCFARM_UI_READER_TOKEN      a second dashboard login for analysts: every page but the test
                                 outputs (needs ARCFARM_API_TOKEN)
    ARCFARM_VISIBILITY_TIMEOUT_S seconds before Redis hands an unacked job to another worker
                                 (default 6 h; must exceed every run's time_budget_s)
    ARCFARM_HEARTBEAT_S          seconds between a running job's heartbeats (default 30)
    ARCFARM_STALE_AFTER_S        a running job whose heartbeat is older than this is stale (default 10 min)
    ARCFARM_MAX_DELIVERIES       a job that fails this many deliveries is failed for good (default 3)
    ARCFARM_RECONCILE_S          seconds between a worker's reconcile passes (default 60; 0 = never)
    ARCFARM_DB_RETRY_S           how long a worker retries a database that went away (default 60)
    ARCFARM_MAX_BODY_MB          the largest request body the API accepts (default 20)
    ARCFARM_API_POLICY           a YAML file: which config keys API runs may override, in which
                                 ranges, and which models they may load (arcfarm.api.policy)
    ARCFARM_API_MODELS           comma-separated models the API may load, besides the policy's
    ARCFARM_FAULT_HOOK           tests only: `module:function`, called as f(solver, claim) before
                                 every job a worker runs (to inject faults into real workers)

Embedded mode is neither a database URL nor a broker URL: everything runs in one process on
SQLite at $ARCFARM_HOME/arcfarm.db. A broker without a database is refused (workers on other
machines could not share SQLite); a database without a broker runs jobs in-process against it.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

ENV_PREFIX = "ARCFARM_"


class SettingsError(ValueError):
    """Environment variables that cannot be used; the message names the variable."""


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    database_url: str | None = None
    broker_url: str | None = None
    artifacts: str = "./artifacts"
    home: Path = Path("./.arcfarm")
    api_token: str | None = None
    ui_reader_token: str | None = None
    visibility_timeout_s: int = Field(6 * 3600, gt=0)
    heartbeat_s: float = Field(30.0, gt=0)
    stale_after_s: float = Field(600.0, gt=0)
    max_deliveries: int = Field(3, ge=1)
    reconcile_s: float = Field(60.0, ge=0)
    db_retry_s: float = Field(60.0, ge=0)
    max_body_mb: float = Field(20.0, gt=0)
    api_policy: Path | None = None
    api_models: str | None = None
    fault_hook: str | None = Field(None, pattern=r"^[\w.]+:\w+$")

    @model_validator(mode="before")
    @classmethod
    def _default_artifacts(cls, data: object) -> object:
        """Embedded mode keeps adapters beside its database: ids restart with a new home, and a
        shared ./artifacts let a second home's training 1 overwrite the first's."""
        if isinstance(data, dict) and not data.get("artifacts"):
            home = Path(data.get("home") or cls.model_fields["home"].default)
            data = {**data, "artifacts": "./artifacts" if data.get("database_url") else str(home / "artifacts")}
        return data

    @field_validator("api_token", "ui_reader_token")
    @classmethod
    def _blank_token_is_none(cls, token: str | None) -> str | None:
        """A token of spaces is no token: it must not pass the checks that want one."""
        if token is None:
            return None
        return token.strip() or None

    @model_validator(mode="after")
    def _check(self) -> "Settings":
        if self.broker_url and not self.database_url:
            raise ValueError("ARCFARM_BROKER_URL is set but ARCFARM_DATABASE_URL is not: "
                             "workers fed by a broker need a shared database")
        if self.ui_reader_token and not self.api_token:
            raise ValueError("ARCFARM_UI_READER_TOKEN is set but ARCFARM_API_TOKEN is not: "
                             "without a token the dashboard is the loopback operator's only")
        if self.ui_reader_token and self.ui_reader_token == self.api_token:
            raise ValueError("ARCFARM_UI_READER_TOKEN must differ from ARCFARM_API_TOKEN")
        if self.stale_after_s <= self.heartbeat_s:
            raise ValueError("ARCFARM_STALE_AFTER_S must exceed ARCFARM_HEARTBEAT_S")
        return self

    @property
    def embedded(self) -> bool:
        """True when jobs run in this process (no broker)."""
        return not self.broker_url

    @property
    def db_url(self) -> str:
        """The database URL, the embedded SQLite file when none is set."""
        return self.database_url or f"sqlite:///{(self.home / 'arcfarm.db').resolve()}"

    @property
    def sqlite_path(self) -> Path | None:
        return None if self.database_url else (self.home / "arcfarm.db").resolve()


def get_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from `environ` (default os.environ); empty values count as unset."""
    env = os.environ if environ is None else environ
    values = {}
    for name in Settings.model_fields:
        raw = env.get(ENV_PREFIX + name.upper(), "").strip()
        if raw:
            values[name] = raw
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        name = ENV_PREFIX + loc[0].upper() if loc else "settings"
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(msg if not loc else f"{name}: {msg}")
    return "; ".join(parts)
