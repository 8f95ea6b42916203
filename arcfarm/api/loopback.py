"""Without ARCFARM_API_TOKEN the API answers loopback clients only, however it was started.

`arcfarm api` refuses a non-loopback --host without a token, but `uvicorn --factory
arcfarm.api.main:create_app --host 0.0.0.0` never passes through that check; so `create_app`
wraps a token-less app in `LoopbackOnly`, which answers 403 to every client whose address is an
IP outside 127.0.0.0/8 and ::1. A client without an IP (a Unix socket, an in-process test
transport) is not a network peer and passes. Standard library only: importing it costs nothing.
"""
from __future__ import annotations

import ipaddress
import json
from typing import Any, Awaitable, Callable

NO_TOKEN_MESSAGE = ("this API has no ARCFARM_API_TOKEN, so it answers loopback clients only; "
                    "set a token to serve it to a network")


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1 (also as ::ffff:127.x); anything else, 0.0.0.0 included,
    is reachable from outside."""
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def _network_peer(client: Any) -> bool:
    """True when the ASGI scope's client is an IP address that is not loopback."""
    if not client:
        return False
    host = str(client[0])
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return not is_loopback(host)


class LoopbackOnly:
    """ASGI middleware: 403 for HTTP requests from a non-loopback IP address."""

    def __init__(self, app: Callable[..., Awaitable[None]]):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and _network_peer(scope.get("client")):
            await send_forbidden(send, NO_TOKEN_MESSAGE)
            return
        await self.app(scope, receive, send)


async def send_forbidden(send: Any, detail: str) -> None:
    """A 403 with the API's JSON error body, from an ASGI middleware (before any route)."""
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
