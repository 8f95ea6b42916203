"""Who may see the dashboard, and who may see test outputs there.

- No ARCFARM_API_TOKEN: loopback clients only (as the API, which then listens on loopback),
  each an operator.
- ARCFARM_API_TOKEN set: a login form (or `Authorization: Bearer`); the API token makes an
  operator, ARCFARM_UI_READER_TOKEN a reader. The cookie holds the role, when it was issued and
  an HMAC of both keyed by that role's token(s), never a token itself: it ends after SESSION_S,
  or at once when the token it was made with changes.
- Operators see test outputs (the expected grids); readers never do: their pages do not even
  read the `solutions` table, as the database's reader role cannot.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from enum import Enum
from urllib.parse import quote

from fastapi import Request

from arcfarm.api.loopback import is_loopback
from arcfarm.settings import Settings

COOKIE = "arcfarm_ui"
SESSION_S = 12 * 3600  # a login lasts a working day


class Role(str, Enum):
    OPERATOR = "operator"
    READER = "reader"


@dataclass(frozen=True)
class Viewer:
    role: Role

    @property
    def sees_solutions(self) -> bool:
        return self.role is Role.OPERATOR


class LoginRequired(Exception):
    """No valid session: the handler redirects to the login form."""

    def __init__(self, next_url: str):
        self.next_url = next_url


class NotLoopback(Exception):
    """No token is set and the client is not on loopback."""


def _signature(settings: Settings, role: Role, issued: int) -> str:
    # A reader's session is keyed by the reader token too: changing that token ends it.
    reader = settings.ui_reader_token or "" if role is Role.READER else ""
    key = f"{settings.api_token or ''}\0{reader}".encode()
    return hmac.new(key, f"arcfarm-ui:{role.value}:{issued}".encode(), hashlib.sha256).hexdigest()


def session_cookie(settings: Settings, role: Role, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    return f"{role.value}:{issued}:{_signature(settings, role, issued)}"


def role_for_token(settings: Settings, token: str) -> Role | None:
    """The role a typed token grants, or None."""
    if settings.api_token and secrets.compare_digest(token.encode(), settings.api_token.encode()):
        return Role.OPERATOR
    reader = settings.ui_reader_token
    if reader and secrets.compare_digest(token.encode(), reader.encode()):
        return Role.READER
    return None


def _role_from_cookie(settings: Settings, cookie: str | None) -> Role | None:
    parts = (cookie or "").split(":")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    name, issued, signature = parts[0], int(parts[1]), parts[2]
    try:
        role = Role(name)
    except ValueError:
        return None
    if role is Role.READER and not settings.ui_reader_token:
        return None
    if not 0 <= time.time() - issued < SESSION_S:
        return None
    return role if secrets.compare_digest(signature, _signature(settings, role, issued)) else None


def viewer(request: Request) -> Viewer:
    """The dependency of every page: the viewer, or LoginRequired / NotLoopback."""
    settings: Settings = request.app.state.settings
    if settings.api_token is None:
        if not is_loopback(request.client.host if request.client else ""):
            raise NotLoopback()
        return Viewer(Role.OPERATOR)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        role = role_for_token(settings, token)
        if role is not None:
            return Viewer(role)
    role = _role_from_cookie(settings, request.cookies.get(COOKIE))
    if role is None:
        raise LoginRequired(quote(request.url.path + (f"?{request.url.query}" if request.url.query else "")))
    return Viewer(role)


def safe_next(next_url: str | None) -> str:
    """Only a path of the dashboard itself (no open redirect)."""
    if next_url and next_url.startswith("/ui/") and not next_url.startswith("//"):
        return next_url
    return "/ui/"
