"""The ASGI app: unsubscribe pages (GET confirms, POST withdraws) and health checks.

GET never changes anything: mail scanners and link previews follow links. POST records the
withdrawal as an append-only consent event (source ``link``) and it holds for every send that
starts afterwards. RFC 8058 one-click POSTs withdraw without any page, cookie or redirect.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from sqlalchemy import select, text

from db.consent import current_consent, record_consent
from db.models import Client, Salon
from db.session import session_scope
from settings import Settings, get_settings
from web.pages import channel_name, pick_language, render_page
from web.tokens import InvalidToken, UnsubscribeToken, read_token

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}


@dataclass(frozen=True)
class Subject:
    token: UnsubscribeToken
    salon_name: str


def _find(settings: Settings, value: str) -> Subject | None:
    """The token's salon and client, or None for an invalid, altered or foreign token."""
    try:
        token = read_token(value, secret_key=settings.secret_key)
    except InvalidToken:
        return None
    with session_scope(settings.database_url) as session:
        row = session.execute(
            select(Salon.name)
            .join(Client, Client.salon_id == Salon.id)
            .where(Salon.id == token.salon_id, Client.id == token.client_id)
        ).first()
    return Subject(token, row[0]) if row else None


def _page(page: str, lang: str, status: int = 200, **values: object) -> HTMLResponse:
    return HTMLResponse(render_page(page, lang, **values), status_code=status, headers=SECURITY_HEADERS)


def withdraw(settings: Settings, subject: Subject, channels: list[str]) -> None:
    """Append a withdrawal for each channel not yet withdrawn (a second POST adds nothing)."""
    token = subject.token
    with session_scope(settings.database_url) as session:
        state = current_consent(session, token.client_id)
        for channel in channels:
            if state.get(("client", channel)) == "withdrawn":
                continue
            record_consent(
                session,
                salon_id=token.salon_id,
                client_id=token.client_id,
                channel=channel,
                action="withdrawn",
                source="link",
                campaign_id=token.campaign_id,
            )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="Salonpost", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/u/{value}", response_class=HTMLResponse)
    def confirm(value: str, request: Request) -> Response:
        lang = pick_language(request.headers.get("accept-language"))
        subject = _find(settings, value)
        if subject is None:
            return _page("invalid", lang, status=404)
        return _page(
            "unsubscribe",
            lang,
            salon=subject.salon_name,
            channel=channel_name([subject.token.channel], lang),
            action=f"/u/{value}",
        )

    @app.post("/u/{value}")
    async def unsubscribe(value: str, request: Request) -> Response:
        lang = pick_language(request.headers.get("accept-language"))
        form = await request.form()
        subject = _find(settings, value)
        if subject is None:
            return _page("invalid", lang, status=404)
        channels = [subject.token.channel]
        if form.get("all"):
            channels = ["sms", "email"]
        withdraw(settings, subject, channels)
        if form.get("List-Unsubscribe") == "One-Click":
            return PlainTextResponse("unsubscribed", headers={"Cache-Control": "no-store"})
        return _page(
            "unsubscribed", lang, salon=subject.salon_name, channel=channel_name(channels, lang)
        )

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
