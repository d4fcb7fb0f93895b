"""The operators' page (/ops): queues, workers, dead letters, send rates and running campaigns.

Protected by an operator token (``create_app(..., ops_token=...)``; None switches /ops and
/metrics off: 404). Scripts send ``Authorization: Bearer <token>``; a browser signs in once at
/ops/login and gets an HttpOnly, SameSite=Strict cookie holding an HMAC of the token (never the
token). The retry/discard forms carry a CSRF token derived from the token.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from redis import RedisError

from db.session import session_scope
from dispatcher import queues
from settings import Settings
from web.staff.auth import same_token, set_cookie
from web.staff.render import render, translator

OPS_COOKIE = "salonpost_ops"


class OpsGuard:
    """Who may see /ops and /metrics: the bearer of the operator token."""

    def __init__(self, token: str | None, secret_key: str) -> None:
        self.token = token
        self._secret = secret_key.encode()

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    def _mac(self, purpose: str) -> str:
        assert self.token
        message = f"{purpose}:{self.token}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    @property
    def cookie_value(self) -> str:
        return self._mac("ops-session")

    @property
    def csrf(self) -> str:
        return self._mac("ops-csrf")

    def bearer(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        return (
            bool(self.token) and scheme.lower() == "bearer" and same_token(self.token or "", value)
        )

    def allows(self, request: Request) -> bool:
        if not self.enabled:
            return False
        return self.bearer(request) or same_token(
            self.cookie_value, request.cookies.get(OPS_COOKIE)
        )

    def allows_change(self, request: Request, csrf_token: str) -> bool:
        return self.bearer(request) or (self.allows(request) and same_token(self.csrf, csrf_token))


def _figures(settings: Settings) -> tuple[queues.QueuesDocument, str | None]:
    """The snapshot, and the broker error when Redis could not be read."""
    with session_scope(settings.database_url) as session:
        try:
            return queues.snapshot(session, settings.redis_url), None
        except RedisError as exc:
            document = queues.snapshot(session, None)
            return document, type(exc).__name__


def _done(outcome: str | None) -> str | None:
    return f"ops.done_{outcome}" if outcome in ("retry", "discard", "gone") else None


def router(settings: Settings, guard: OpsGuard) -> APIRouter:
    r = APIRouter(prefix="/ops")

    def missing() -> Response:
        return Response("Not Found", status_code=404, media_type="text/plain")

    @r.get("/login")
    def login_page(request: Request) -> Response:
        if not guard.enabled:
            return missing()
        return render(request, "ops/login.html", translator(request), error=None)

    @r.post("/login")
    def login(request: Request, token: Annotated[str, Form()] = "") -> Response:
        if not guard.enabled:
            return missing()
        t = translator(request)
        if not same_token(guard.token or "", token):
            return render(request, "ops/login.html", t, error=t("ops.refused"), status_code=401)
        response = RedirectResponse("/ops", status_code=303)
        set_cookie(request, response, OPS_COOKIE, guard.cookie_value, 12 * 3600)
        return response

    @r.get("")
    def ops_page(request: Request) -> Response:
        if not guard.enabled:
            return missing()
        if not guard.allows(request):
            return RedirectResponse("/ops/login", status_code=303)
        figures, broker_error = _figures(settings)
        dead = (
            queues.dead_letters(settings.redis_url)
            if settings.redis_url and not broker_error
            else []
        )
        return render(
            request, "ops/index.html", translator(request), figures=figures, dead=dead,
            broker_error=broker_error, embedded=not settings.redis_url, csrf=guard.csrf,
            done=_done(request.query_params.get("done")),
        )  # fmt: skip

    @r.get("/queues.json")
    def figures_json(request: Request) -> Response:
        if not guard.allows(request):
            return missing() if not guard.enabled else Response(status_code=401)
        figures, broker_error = _figures(settings)
        return JSONResponse({**figures, "broker_error": broker_error})

    @r.post("/dead/{queue}/{redis_id}/{verb}")
    def dead_letter(
        request: Request,
        queue: str,
        redis_id: str,
        verb: str,
        csrf_token: Annotated[str, Form()] = "",
    ) -> Response:
        if not guard.enabled or verb not in ("retry", "discard") or not settings.redis_url:
            return missing()
        if not guard.allows_change(request, csrf_token):
            return Response("Forbidden", status_code=403, media_type="text/plain")
        action = queues.retry_dead if verb == "retry" else queues.discard_dead
        done = action(settings.redis_url, queue, redis_id)
        outcome = verb if done else "gone"
        return RedirectResponse(f"/ops?done={outcome}", status_code=303)

    return r
