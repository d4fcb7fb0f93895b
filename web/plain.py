"""Short plain-text answers sent straight from ASGI middleware (before any route runs).

German or English by ``Accept-Language``, from the text catalogue (:mod:`templates.texts`).
"""

from __future__ import annotations

from starlette.types import Scope, Send

from templates.texts import text
from web.pages import pick_language


def scope_language(scope: Scope) -> str:
    header = next((v for k, v in scope.get("headers", []) if k.lower() == b"accept-language"), b"")
    return pick_language(header.decode("latin-1"))


async def answer(
    send: Send, scope: Scope, status: int, key: str, *, close: bool = False, **values: object
) -> None:
    """Send ``status`` with the text ``key``; ``close``: ask the server to drop the connection
    (the rest of a refused upload is then never read)."""
    body = (text(f"page.{key}", scope_language(scope), **values) + "\n").encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
