"""A request body limit for every route, enforced before the body is read (ASGI middleware).

Why here and not in the routes: a route (FastAPI's ``Form()``, ``request.body()``) reads the
whole body into memory before any code of ours can look at it, whatever the content type. So
the limit sits in front of the app and
- answers 413 at once when ``Content-Length`` says more than the route's limit: the body is
  never read (and an ``Expect: 100-continue`` client never even sends it);
- counts the streamed body otherwise (chunked, or a lying ``Content-Length``) and stops at the
  first chunk beyond the limit: the app's own answer is dropped and 413 sent instead.
Either way at most the limit plus one chunk reaches the app, and the 413 says
``Connection: close`` so the server drops the rest of the upload instead of draining it.

Each route's limit is the first :class:`Rule` whose pattern matches the path (any method);
every other path gets the default. Sizes are in bytes as sent (urlencoded text grows up to
three times). A new route that needs more (an image upload) gets its own rule.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.plain import answer

KB = 1024


@dataclass(frozen=True)
class Rule:
    """Bodies of paths matching ``pattern`` (a regular expression, whole path) up to ``limit``."""

    pattern: str
    limit: int
    why: str = ""
    compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", re.compile(self.pattern))

    def matches(self, path: str) -> bool:
        return self.compiled.fullmatch(path) is not None


RULES: tuple[Rule, ...] = (
    # RFC 8058 one-click ("List-Unsubscribe=One-Click", a few hundred bytes even as multipart)
    # and the confirmation form: the only public POST a stranger can reach without a secret.
    Rule(r"/u/[^/]*", 4 * KB, "unsubscribe link"),
    # Twilio posts a form of some dozens of fields; a long inbound SMS is 1,600 characters.
    Rule(r"/webhooks/twilio/.*", 64 * KB, "Twilio webhooks"),
    # The campaign editor posts the SMS, the email HTML and text (templates up to ~200 KB each
    # before urlencoding).
    Rule(r"/staff/campaigns/(new|check|[0-9]+/edit)", 1024 * KB, "campaign editor"),
    Rule(r"/staff(/.*)?", 64 * KB, "staff forms"),
)
DEFAULT_LIMIT = 16 * KB  # sign-in of /ops, dead-letter actions, and every path not named


class BodyTooLarge(Exception):
    """Raised inside the app's ``receive`` when the streamed body passes the limit."""


class BadLength(ValueError):
    """A ``Content-Length`` that is not one decimal number."""


def declared_length(scope: Scope) -> int | None:
    """The body size the client announces, None without ``Content-Length``."""
    values = {v.strip() for k, v in scope.get("headers", []) if k.lower() == b"content-length"}
    if not values:
        return None
    if len(values) > 1 or not all(v.isdigit() for v in values):
        raise BadLength(f"Content-Length {sorted(values)!r}")
    return int(values.pop())


class BodyLimitMiddleware:
    """Refuse request bodies above the route's limit with 413, before the app reads them."""

    def __init__(
        self, app: ASGIApp, *, rules: Sequence[Rule] = RULES, default: int = DEFAULT_LIMIT
    ) -> None:
        self.app = app
        self.rules = tuple(rules)
        self.default = default

    def limit_for(self, path: str) -> int:
        return next((rule.limit for rule in self.rules if rule.matches(path)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        try:
            declared = declared_length(scope)
        except BadLength:
            await _answer(send, scope, 400, "limit.bad_length", limit)
            return
        if declared is not None and declared > limit:
            await _answer(send, scope, 413, "limit.too_large", limit)
            return
        await _Counted(self.app, limit).run(scope, receive, send)


class _Counted:
    """One request whose body is counted as the app pulls it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.received = 0
        self.exceeded = False
        self.started = False

    async def run(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.received += len(message.get("body", b""))
                if self.received > self.limit:
                    self.exceeded = True
                    raise BodyTooLarge(f"request body over {self.limit} bytes")
            return message

        async def guarded_send(message: Message) -> None:
            # Past the limit the app answers a body it never got whole (FastAPI turns the
            # error into a 400): that answer is dropped, the 413 below replaces it.
            if self.exceeded:
                return
            self.started = self.started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except BodyTooLarge:
            pass
        except Exception:
            if not self.exceeded:
                raise
        if self.exceeded and not self.started:
            await _answer(send, scope, 413, "limit.too_large", self.limit)


async def _answer(send: Send, scope: Scope, status: int, key: str, limit: int) -> None:
    await answer(send, scope, status, key, close=True, kb=max(1, limit // KB))
