"""The unsubscribe link: GET confirms, POST withdraws, RFC 8058 one-click POST withdraws silently.

GET never changes anything: mail scanners and link previews follow links. POST appends a
withdrawal consent event (source ``link``, the token's campaign) that holds for every send that
starts afterwards. An invalid, altered, unknown or foreign token (salon A's token naming a client
of salon B) gets one and the same 404 page, so the answer tells nothing about which it was.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache, lru_cache
from typing import Any
from urllib.parse import parse_qsl
from weakref import WeakKeyDictionary

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from sqlalchemy import ClauseElement, Compiled, Connection, Engine, Select, exists, make_url, select
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from db.consent import link_withdrawal, withdraw_by_link
from db.models import Campaign, Client, Salon
from db.session import get_engine
from db.states import Channel
from settings import Settings
from templates.links import InvalidToken, UnsubscribeToken, read_token
from templates.marker import strip_trailing
from web.pages import channel_name, pick_language, render_page

log = logging.getLogger(__name__)

URLENCODED = "application/x-www-form-urlencoded"

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    ),
}


def subject_query(token: UnsubscribeToken) -> Select[str]:
    """The salon's name, if the client is the salon's (and the campaign, if named, too)."""
    query = (
        select(Salon.name)
        .join(Client, Client.salon_id == Salon.id)
        .where(Salon.id == token.salon_id, Client.id == token.client_id)
    )
    if token.campaign_id is not None:
        query = query.where(
            exists().where(Campaign.id == token.campaign_id, Campaign.salon_id == token.salon_id)
        )
    return query


@lru_cache(maxsize=8)
def _autocommit(database_url: str) -> Engine:
    # Every statement here is its own transaction: a withdrawal is one INSERT, so BEGIN and
    # COMMIT would only add round trips. Cached: the option engine is made once per URL.
    return get_engine(database_url).execution_options(isolation_level="AUTOCOMMIT")


def _withdraw(conn: Connection, token: UnsubscribeToken, channels: list[str]) -> list[str]:
    ids = {"salon_id": token.salon_id, "client_id": token.client_id}
    withdrawn = [
        channel
        for channel in channels
        if withdraw_by_link(conn, **ids, channel=channel, campaign_id=token.campaign_id)
    ]
    if withdrawn:
        log.info("unsubscribed salon=%s client=%s %s", token.salon_id, token.client_id, withdrawn)
    return withdrawn


def unsubscribe(database_url: str, token: UnsubscribeToken) -> bool:
    """Withdraw on the token's channel; False if the token names nobody (nothing changes then).

    The hot path (RFC 8058 one-click): a first click is one statement that checks the token's
    claims and appends the withdrawal. Only when nothing was appended (already withdrawn, a
    lost race with a concurrent click, or nobody to withdraw for) a second query tells which.
    """
    with _autocommit(database_url).connect() as conn:
        if _withdraw(conn, token, [token.channel]):
            return True
        return conn.execute(subject_query(token)).first() is not None


class LinkDatabase:
    """PostgreSQL connections for the one-click POST, used straight from the event loop.

    Why not SQLAlchemy's engine in the threadpool: handing each request to a worker thread and
    back costs more CPU than the rest of the request. Why not an asyncio connection pool: the
    test client runs every request in a new event loop. A psycopg AsyncConnection serves any
    loop as long as one task at a time uses it, so idle connections are shared and only the cap
    (a semaphore) is kept per loop. The statements are SQLAlchemy's, compiled once.
    """

    def __init__(self, database_url: str, *, size: int = 8) -> None:
        """``size``: connections in use at once per event loop (per worker process)."""
        url = make_url(database_url).set(drivername="postgresql")
        self.conninfo = url.render_as_string(hide_password=False)
        self.size = size
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._limits: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            WeakKeyDictionary()
        )

    async def unsubscribe(self, token: UnsubscribeToken) -> bool:
        """As :func:`unsubscribe`, in (for a first click) one round trip."""
        statement, values = link_withdrawal(
            "postgresql",
            salon_id=token.salon_id,
            client_id=token.client_id,
            channel=token.channel,
            campaign_id=token.campaign_id,
        )
        if await self._fetch(_compiled(statement), values):
            log.info("unsubscribed salon=%s client=%s", token.salon_id, token.client_id)
            return True
        return await self._fetch(subject_query(token).compile(dialect=_PG)) is not None

    async def _fetch(self, compiled: Compiled, values: dict[str, Any] | None = None) -> Any:
        params = compiled.construct_params(values)
        try:
            async with self._connection() as conn:
                return await (await conn.execute(compiled.string, params)).fetchone()
        except psycopg.OperationalError:
            # A pooled connection the server closed (a restart, a failover): the others are
            # likely gone too. Once more on a new one; the statements are idempotent (a
            # repeated withdrawal stores nothing), so a click never fails for a stale pool.
            await self._drop_idle()
            async with self._connection() as conn:
                return await (await conn.execute(compiled.string, params)).fetchone()

    async def _drop_idle(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.close()

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        loop = asyncio.get_running_loop()
        limit = self._limits.setdefault(loop, asyncio.Semaphore(self.size))
        async with limit:
            conn = self._idle.pop() if self._idle else await self._connect()
            try:
                yield conn
            except psycopg.OperationalError:
                await conn.close()  # broken (server restarted?): not back to the pool
                raise
            if conn.closed or len(self._idle) >= self.size:
                await conn.close()
            else:
                self._idle.append(conn)

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        # Autocommit: a withdrawal is one INSERT, BEGIN and COMMIT would only add round trips.
        return await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)


_PG = psycopg_dialect()  # type: ignore[no-untyped-call]


@lru_cache(maxsize=8)
def _link_database(database_url: str) -> LinkDatabase | None:
    """One per database (apps of one process share it); None off PostgreSQL (the threadpool)."""
    if make_url(database_url).get_backend_name() != "postgresql":
        return None
    return LinkDatabase(database_url)


@cache
def _compiled(statement: ClauseElement) -> Compiled:
    return statement.compile(dialect=_PG)


def unsubscribe_for_page(
    database_url: str, token: UnsubscribeToken, channels: list[str]
) -> str | None:
    """Withdraw on ``channels``; the salon's name for the done page, None if nobody."""
    with _autocommit(database_url).connect() as conn:
        salon_name = conn.execute(subject_query(token)).scalar()
        if salon_name is not None:
            _withdraw(conn, token, channels)
        return salon_name


def _lookup(database_url: str, token: UnsubscribeToken) -> str | None:
    with get_engine(database_url).connect() as conn:
        return conn.execute(subject_query(token)).scalar()


def _page(page: str, lang: str, status: int = 200, **values: object) -> HTMLResponse:
    return HTMLResponse(
        render_page(page, lang, **values), status_code=status, headers=SECURITY_HEADERS
    )


def _token(settings: Settings, value: str) -> UnsubscribeToken | None:
    # Mail and SMS clients glue a sentence's punctuation or a closing quote or bracket to the
    # link ("...: https://.../u/TOKEN."); no token contains those characters.
    try:
        return read_token(strip_trailing(value), secret_key=settings.secret_key)
    except InvalidToken:
        return None


async def _form(request: Request) -> FormData:
    """The posted form; urlencoded bodies (mail providers' one-click) parsed by the stdlib.

    Why: Starlette's parser (python-multipart) costs a tenth of a one-click request.
    """
    if request.headers.get("content-type", "").startswith(URLENCODED):
        body = (await request.body()).decode("latin-1")
        fields: list[tuple[str, str | UploadFile]] = [*parse_qsl(body, keep_blank_values=True)]
        return FormData(fields)
    return await request.form()


def _is_one_click(form: FormData) -> bool:
    value = form.get("List-Unsubscribe")
    return isinstance(value, str) and value.strip() == "One-Click"


def router(settings: Settings) -> APIRouter:
    routes = APIRouter()
    database_url = settings.database_url
    links = _link_database(database_url)

    async def one_click(token: UnsubscribeToken) -> bool:
        if links is not None:
            return await links.unsubscribe(token)
        return await run_in_threadpool(unsubscribe, database_url, token)

    def invalid(request: Request) -> Response:
        return _page("invalid", pick_language(request.headers.get("accept-language")), status=404)

    @routes.get("/u/{value}", response_class=HTMLResponse)
    async def confirm(value: str, request: Request) -> Response:
        token = _token(settings, value)
        if token is None:
            return invalid(request)
        salon_name = await run_in_threadpool(_lookup, database_url, token)
        if salon_name is None:
            return invalid(request)
        lang = pick_language(request.headers.get("accept-language"))
        name = channel_name([token.channel], lang)
        action = f"/u/{strip_trailing(value)}"
        return _page("unsubscribe", lang, salon=salon_name, channel=name, action=action)

    async def unsubscribe_post(request: Request) -> Response:
        value = request.path_params["value"]
        form = await _form(request)
        token = _token(settings, value)
        if token is None:
            return invalid(request)
        if _is_one_click(form):
            # RFC 8058: the mail provider POSTs for the client; no page, cookie or redirect.
            if not await one_click(token):
                return invalid(request)
            return PlainTextResponse("unsubscribed", headers=SECURITY_HEADERS)
        channels = [str(c) for c in Channel] if form.get("all") else [token.channel]
        salon_name = await run_in_threadpool(unsubscribe_for_page, database_url, token, channels)
        if salon_name is None:
            return invalid(request)
        lang = pick_language(request.headers.get("accept-language"))
        return _page(
            "unsubscribed",
            lang,
            salon=salon_name,
            channel=channel_name(channels, lang),
            offer_all=set(channels) != set(tuple(Channel)),
            action=f"/u/{strip_trailing(value)}",
        )

    # A plain Starlette route: FastAPI's parameter resolution costs more than the rest of a
    # one-click request, which needs none of it.
    routes.add_route("/u/{value}", unsubscribe_post, methods=["POST"])
    return routes
