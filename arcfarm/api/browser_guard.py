"""ASGI middleware against requests a web page makes in a user's browser.

A page on another site can POST to the API without a preflight (a "simple" request with a
text/plain body), and with DNS rebinding it can even read answers, naming this server by its own
host. Browsers mark their requests (`Origin`, `Sec-Fetch-Site`); curl and scripts do not, and are
not this threat. So, for a request a browser made:
- one that changes something (not GET/HEAD/OPTIONS) must come from this server's own origin
  (`Origin` names the `Host` it was sent to): 403 otherwise;
- without ARCFARM_API_TOKEN (loopback clients only, every one trusted), the `Host` it was sent to
  must be a loopback name (localhost, 127.0.0.1, [::1]): a rebinding site names itself. 403 otherwise.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

from arcfarm.api.loopback import is_loopback, send_forbidden

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _host_name(host: str) -> str:
    """`example.org` from `example.org:8000`, `::1` from `[::1]:8000`."""
    return urlsplit(f"//{host}").hostname or ""


def refusal(scope: dict[str, Any], token_set: bool) -> str | None:
    """Why this request is refused, or None."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    origin = headers.get("origin")
    if origin is None and "sec-fetch-site" not in headers:
        return None  # not a browser's request
    host = headers.get("host", "")
    if scope.get("method", "GET") not in SAFE_METHODS and origin is not None:
        if origin == "null" or urlsplit(origin).netloc.lower() != host.lower():
            return f"cross-site request from {origin[:100]!r} refused"
    if not token_set and not is_loopback(_host_name(host)):
        return ("this API has no ARCFARM_API_TOKEN: a browser must reach it as localhost, "
                "127.0.0.1 or [::1]")
    return None


class BrowserGuard:
    def __init__(self, app: Callable[..., Awaitable[None]], token_set: bool):
        self.app, self.token_set = app, token_set

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        why = refusal(scope, self.token_set) if scope["type"] == "http" else None
        if why is not None:
            await send_forbidden(send, why)
            return
        await self.app(scope, receive, send)
