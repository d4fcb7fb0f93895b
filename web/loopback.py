"""While a development secret or pepper is in use, answer only requests that came in on loopback.

The start-up check (:func:`exposure.refuse_exposed_web`) refuses a non-loopback address when it
knows the address (``salonpost serve``, ``uvicorn ... --host``). Under any other server (a
gunicorn worker, a hand-written ``uvicorn.run``) the app cannot know where it listens, so each
request tells: ``scope["server"]`` is the local address of the connection, set by the server
from the socket and not by the client. A request that arrived on another address (or on a unix
socket, behind which a proxy serves strangers) gets 503 and nothing else.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from starlette.types import ASGIApp, Receive, Scope, Send

from templates.links import is_loopback_ip
from web.plain import answer

log = logging.getLogger("salonpost.web")


def arrived_on_loopback(scope: Scope) -> bool:
    server = scope.get("server")
    if not server or server[1] is None:  # unknown, or a unix socket
        return False
    return _loopback_host(str(server[0]))


@lru_cache(maxsize=256)
def _loopback_host(host: str) -> bool:
    # Cached: a server has a handful of local addresses, and this runs on every request.
    return host == "localhost" or is_loopback_ip(host)


class LoopbackOnlyMiddleware:
    """Refuse (503) every request that did not arrive on a loopback address."""

    def __init__(self, app: ASGIApp, *, names: list[str]) -> None:
        self.app = app
        self.names = names
        log.warning("%s at the development value: serving loopback only", " and ".join(names))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or arrived_on_loopback(scope):
            await self.app(scope, receive, send)
            return
        log.error(
            "refused a request on %s: %s at the development value",
            scope.get("server"),
            " and ".join(self.names),
        )
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await answer(send, scope, 503, "refused.development_secret")
