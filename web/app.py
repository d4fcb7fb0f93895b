"""The ASGI app: unsubscribe pages, Twilio webhooks and health checks.

``create_app(settings)`` wires the routers of :mod:`web.unsubscribe` and :mod:`web.twilio` and
the trusted-proxy middleware; run it with ``uvicorn web.app:create_app --factory``. Nothing here
redirects (no HTTPS redirect, no trailing-slash redirect): RFC 8058 one-click POSTs and Twilio
webhooks must get their answer from the URL they called.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy import text

from db.session import session_scope
from settings import Settings, get_settings
from web import twilio, unsubscribe
from web.proxy import TrustedProxyMiddleware


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Salonpost",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,
    )
    app.include_router(unsubscribe.router(settings))
    app.include_router(twilio.router(settings))
    app.add_middleware(TrustedProxyMiddleware, trusted_proxies=settings.trusted_proxies)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> Response:
        try:
            with session_scope(settings.database_url) as session:
                session.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means "not ready"; the reason is for operators
            return PlainTextResponse(f"database: {type(exc).__name__}", status_code=503)
        return PlainTextResponse("ready")

    return app
