"""The ASGI app: unsubscribe pages, Twilio webhooks, staff UI, operator page and health checks.

``create_app(settings)`` wires the routers of :mod:`web.unsubscribe` and :mod:`web.twilio`, the
staff UI (:mod:`web.staff`), the operator page and metrics (:mod:`web.ops`, :mod:`web.metrics`;
on only with an ``ops_token``), the trusted-proxy middleware and the body limit of every route
(:mod:`web.body_limit`); with a development secret or pepper it starts and answers on loopback
only (:mod:`web.exposure`, :mod:`web.loopback`). Run it with
``uvicorn web.app:create_app --factory``. Nothing here redirects (no HTTPS redirect, no
trailing-slash redirect): RFC 8058 one-click POSTs and Twilio webhooks must get their answer
from the URL they called (the staff pages redirect only after their own form posts, and ``/``
sends a person to the staff sign-in).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from sqlalchemy import text

from db.session import session_scope
from settings import Settings, get_settings
from templates.links import url_is_loopback
from templates.texts import text as cli_text
from web import metrics, ops, staff, twilio, unsubscribe
from web.body_limit import BodyLimitMiddleware
from web.exposure import development_values, refuse_exposed_web, uvicorn_bind
from web.loopback import LoopbackOnlyMiddleware
from web.proxy import TrustedProxyMiddleware


def create_app(settings: Settings | None = None, *, ops_token: str | None = None) -> FastAPI:
    """``ops_token``: the operators' token for /ops and /metrics; None switches them off."""
    settings = settings or get_settings()
    # The development secret and pepper only where nobody else reaches (web/exposure.py).
    refuse_exposed_web(settings, bind=uvicorn_bind())
    app = FastAPI(
        title="Salonpost",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,
    )
    app.include_router(unsubscribe.router(settings))
    app.include_router(twilio.router(settings))
    app.state.dispatch = staff.install(app, settings)
    guard = ops.OpsGuard(ops_token or settings.ops_token, settings.secret_key)
    app.include_router(ops.router(settings, guard))
    app.include_router(metrics.router(settings, guard))
    app.add_middleware(TrustedProxyMiddleware, trusted_proxies=settings.trusted_proxies)
    # Added last, so it runs first: no body is read before its route's limit is known.
    app.add_middleware(BodyLimitMiddleware)
    if development_values(settings):
        app.add_middleware(LoopbackOnlyMiddleware, names=development_values(settings))

    @app.api_route("/", methods=["GET", "HEAD"])
    def home() -> Response:
        # A person who opens the bare address is on their way to the staff pages: /staff
        # sends them to the sign-in, or to the campaigns when signed in already.
        return RedirectResponse("/staff", status_code=303)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> Response:
        try:
            with session_scope(settings.database_url) as session:
                session.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means "not ready"; the reason is for operators
            return PlainTextResponse(f"database: {type(exc).__name__}", status_code=503)
        if settings.redis_url:
            try:
                _ping_redis(settings.redis_url)
            except Exception as exc:  # the broker is needed to queue campaigns
                return PlainTextResponse(f"redis: {type(exc).__name__}", status_code=503)
        return PlainTextResponse("ready")

    return app


def serving_lines(settings: Settings, *, host: str, port: int) -> list[str]:
    """What ``salonpost serve`` prints: the sign-in link on the port served, and a warning when
    the links in messages (``BASE_URL``, on this machine) point at another port."""
    shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    served = f"http://{f'[{shown}]' if ':' in shown else shown}:{port}"
    lines = [cli_text("cli.serving", settings.language, url=served, login=f"{served}/staff/login")]
    base = urlsplit(settings.base_url)
    if url_is_loopback(settings.base_url) and (base.port or 80) != port:
        lines.append(
            cli_text(
                "cli.base_url_elsewhere", settings.language, base_url=settings.base_url, url=served
            )
        )
    return lines


def _ping_redis(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
