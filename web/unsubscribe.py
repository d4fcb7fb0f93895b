"""The unsubscribe link: GET confirms, POST withdraws, RFC 8058 one-click POST withdraws silently.

GET never changes anything: mail scanners and link previews follow links. POST appends a
withdrawal consent event (source ``link``, the token's campaign) that holds for every send that
starts afterwards. An invalid, altered, unknown or foreign token (salon A's token naming a client
of salon B) gets one and the same 404 page, so the answer tells nothing about which it was.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from sqlalchemy import Connection, Select, exists, func, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from db.consent import record_consent_once
from db.models import CHANNELS, Campaign, Client, ConsentEvent, Salon
from db.session import get_engine
from settings import Settings
from web.pages import channel_name, pick_language, render_page
from web.tokens import InvalidToken, UnsubscribeToken, read_token

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    ),
}


@dataclass(frozen=True)
class Subject:
    """Whom a valid token names: checked against the database, never trusted on its own."""

    token: UnsubscribeToken
    salon_name: str
    # channel -> (id, action) of the client's latest consent event there ((0, "") if none).
    latest: dict[str, tuple[int, str]]


@dataclass(frozen=True)
class Outcome:
    subject: Subject
    channels: list[str]  # what the client is now unsubscribed from (after this POST)
    withdrawn: list[str]  # what this POST newly withdrew (empty for a repeated POST)


def _latest(token: UnsubscribeToken, channel: str) -> tuple[Any, Any]:
    latest_id = (
        select(func.max(ConsentEvent.id))
        .where(
            ConsentEvent.client_id == token.client_id,
            ConsentEvent.channel == channel,
            ConsentEvent.party == "client",
        )
        .scalar_subquery()
    )
    action = select(ConsentEvent.action).where(ConsentEvent.id == latest_id).scalar_subquery()
    return latest_id.label(f"{channel}_id"), action.label(f"{channel}_action")


def subject_query(token: UnsubscribeToken) -> Select[Any]:
    """The salon's name and the latest consent per channel, if the client belongs to the salon.

    One round trip (the link is the hot path); a campaign named by the token must be the salon's.
    """
    query = (
        select(Salon.name, *(column for c in CHANNELS for column in _latest(token, c)))
        .join(Client, Client.salon_id == Salon.id)
        .where(Salon.id == token.salon_id, Client.id == token.client_id)
    )
    if token.campaign_id is not None:
        query = query.where(
            exists().where(Campaign.id == token.campaign_id, Campaign.salon_id == token.salon_id)
        )
    return query


def find_subject(conn: Connection, token: UnsubscribeToken) -> Subject | None:
    row = conn.execute(subject_query(token)).first()
    if row is None:
        return None
    values = row._mapping
    latest = {c: (values[f"{c}_id"] or 0, values[f"{c}_action"] or "") for c in CHANNELS}
    return Subject(token, row.name, latest)


def withdraw(conn: Connection, subject: Subject, channels: list[str]) -> list[str]:
    """Withdraw each channel not withdrawn yet; the channels newly withdrawn.

    The dedupe key names the latest event seen, so concurrent clicks of one link race for the
    same key and only one event is stored, while a later click after a re-grant (a newer latest
    event) stores a new withdrawal: a withdrawal always wins.
    """
    token = subject.token
    done = []
    for channel in channels:
        latest_id, action = subject.latest[channel]
        if action == "withdrawn":
            continue
        stored = record_consent_once(
            conn,
            dedupe_key=f"link:{token.client_id}:{channel}:after:{latest_id}",
            salon_id=token.salon_id,
            client_id=token.client_id,
            channel=channel,
            action="withdrawn",
            source="link",
            campaign_id=token.campaign_id,
        )
        if stored:
            done.append(channel)
    return done


def unsubscribe(database_url: str, token: UnsubscribeToken, channels: list[str]) -> Outcome | None:
    """One transaction: check the token against the database, then withdraw."""
    # A Core connection, not an ORM session: this is the hot path and maps no objects.
    with get_engine(database_url).begin() as conn:
        subject = find_subject(conn, token)
        if subject is None:
            return None
        withdrawn = withdraw(conn, subject, channels)
    if withdrawn:
        log.info("unsubscribed salon=%s client=%s %s", token.salon_id, token.client_id, withdrawn)
    return Outcome(subject, channels, withdrawn)


def _lookup(database_url: str, token: UnsubscribeToken) -> Subject | None:
    with get_engine(database_url).connect() as conn:
        return find_subject(conn, token)


def _page(page: str, lang: str, status: int = 200, **values: object) -> HTMLResponse:
    return HTMLResponse(
        render_page(page, lang, **values), status_code=status, headers=SECURITY_HEADERS
    )


def _token(settings: Settings, value: str) -> UnsubscribeToken | None:
    try:
        return read_token(value, secret_key=settings.secret_key)
    except InvalidToken:
        return None


def _is_one_click(form: FormData) -> bool:
    value = form.get("List-Unsubscribe")
    return isinstance(value, str) and value.strip() == "One-Click"


def router(settings: Settings) -> APIRouter:
    routes = APIRouter()

    @routes.get("/u/{value}", response_class=HTMLResponse)
    async def confirm(value: str, request: Request) -> Response:
        lang = pick_language(request.headers.get("accept-language"))
        token = _token(settings, value)
        subject = None
        if token is not None:
            subject = await run_in_threadpool(_lookup, settings.database_url, token)
        if subject is None:
            return _page("invalid", lang, status=404)
        name = channel_name([subject.token.channel], lang)
        return _page(
            "unsubscribe", lang, salon=subject.salon_name, channel=name, action=f"/u/{value}"
        )

    @routes.post("/u/{value}")
    async def unsubscribe_post(value: str, request: Request) -> Response:
        lang = pick_language(request.headers.get("accept-language"))
        form = await request.form()
        token = _token(settings, value)
        outcome = None
        if token is not None:
            channels = list(CHANNELS) if form.get("all") else [token.channel]
            outcome = await run_in_threadpool(unsubscribe, settings.database_url, token, channels)
        if outcome is None:
            return _page("invalid", lang, status=404)
        if _is_one_click(form):
            # RFC 8058: the mail provider POSTs for the client; no page, cookie or redirect.
            return PlainTextResponse("unsubscribed", headers={"Cache-Control": "no-store"})
        return _page(
            "unsubscribed",
            lang,
            salon=outcome.subject.salon_name,
            channel=channel_name(outcome.channels, lang),
            offer_all=set(outcome.channels) != set(CHANNELS),
            action=f"/u/{value}",
        )

    return routes
