"""Sending pieces shared by campaigns and single messages: recheck, render, record.

Campaign batches are sent by :mod:`dispatcher.batch` (chunked claims, pacing, backoff); this
module keeps the building blocks it shares with single sends (:mod:`services.messages`):
the gate recheck (:func:`refused_by_gate`), the message builder and :func:`store_result`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from channels.base import Message
from db.models import Campaign, Client, Delivery, Salon, Suppression, utcnow
from dispatcher.planning import audience_context
from dispatcher.runtime import Runtime
from gate.audience import decision_query
from templates.links import UnsubscribeToken, unsubscribe_url
from templates.sandbox import render

RESULT_COLUMNS = ("status", "provider_id", "error_code", "error", "body", "sent_at", "updated_at")


class DeliveryLike(Protocol):
    """A delivery row or ORM object: what a message is built from."""

    @property
    def id(self) -> int: ...
    @property
    def channel(self) -> str: ...
    @property
    def address(self) -> str | None: ...
    @property
    def recipient(self) -> str: ...


class ClientLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def first_name(self) -> str | None: ...
    @property
    def last_name(self) -> str | None: ...
    @property
    def guardian_name(self) -> str | None: ...


@dataclass
class BatchResult:
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    retry: int = 0
    retry_after: float | None = None
    updates: list[dict[str, Any]] = field(default_factory=list)
    suppress: list[tuple[str, str, str]] = field(default_factory=list)


def refused_by_gate(
    session: Session, salon: Salon, campaign: Campaign, rows: Sequence[Any], now: dt.datetime
) -> dict[int, str]:
    """delivery id -> 'Rn:reason' for deliveries whose client no longer passes the gate."""
    ctx = audience_context(salon, campaign, now)
    by_channel: dict[str, dict[int, Any]] = defaultdict(dict)
    for row in rows:
        by_channel[row.channel][row.client_id] = row
    refused: dict[int, str] = {}
    for channel, clients in by_channel.items():
        query = decision_query(salon_id=salon.id, channel=channel, ctx=ctx, client_ids=clients)
        for decided in session.execute(query):
            delivery = clients[decided.client_id]
            if decided.code is not None:
                refused[delivery.id] = decided.code
            elif decided.address != delivery.address:
                # The snapshot's address is no longer the client's (new number, a minor come of
                # age): never send to an address the gate did not just approve.
                refused[delivery.id] = "R8:address_changed"
    return refused


def _context(client: ClientLike, recipient: str, salon: Salon, link: str) -> dict[str, object]:
    first_name = client.first_name or ""
    if recipient == "guardian" and client.guardian_name:
        first_name = client.guardian_name.split()[0]
    return {
        "first_name": first_name,
        "last_name": client.last_name or "",
        "salon_name": salon.name,
        "unsubscribe_url": link,
    }


def message_key(campaign_id: int, delivery_id: int) -> str:
    """A campaign message's key: the channel's idempotency key (and the outbox file name)."""
    return f"c{campaign_id}-d{delivery_id}"


def service_key(campaign_id: int, delivery_id: int) -> str:
    """A service message's key (``t`` rather than a campaign's ``c``)."""
    return f"t{campaign_id}-d{delivery_id}"


def build_message(
    runtime: Runtime, salon: Salon, campaign: Campaign, delivery: DeliveryLike, client: ClientLike
) -> Message:
    token = UnsubscribeToken(salon.id, client.id, delivery.channel, campaign.id)
    link = unsubscribe_url(token, base_url=runtime.base_url, secret_key=runtime.secret_key)
    context = _context(client, delivery.recipient, salon, link)
    key = message_key(campaign.id, delivery.id)
    assert delivery.address is not None
    if delivery.channel == "sms":
        body = render(campaign.sms_body or "", context, html=False)
        return Message("sms", delivery.address, body, key, sender=salon.sms_sender)
    return Message(
        "email",
        delivery.address,
        render(campaign.email_text or "", context, html=False),
        key,
        sender=salon.email_from,
        subject=render(campaign.email_subject or "", context, html=False),
        html=render(campaign.email_html, context, html=True) if campaign.email_html else None,
        unsubscribe_url=link,
    )


def store_result(session: Session, salon_id: int, result: BatchResult) -> None:
    for row in result.updates:
        for column in RESULT_COLUMNS:
            row.setdefault(column, None)
    if result.updates:
        session.execute(update(Delivery), result.updates)
    if result.suppress:
        module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        rows = [
            {
                "salon_id": salon_id,
                "channel": ch,
                "address": addr,
                "reason": why,
                "created_at": utcnow(),
            }
            for ch, addr, why in result.suppress
        ]
        session.execute(module.insert(Suppression).values(rows).on_conflict_do_nothing())


def sms_totals(
    session: Session, salon: Salon, campaign: Campaign, *, base_url: str, secret_key: str
) -> dict[str, Any]:
    """The campaign's SMS as each recipient would get it today: recipients, total segments and
    messages per encoding (names and the unsubscribe link at their real lengths)."""
    from gate.audience import audience_query
    from templates.sms import sms_size

    ctx = audience_context(salon, campaign, utcnow())
    audience = audience_query(salon_id=salon.id, channel="sms", ctx=ctx).subquery()
    rows = session.execute(
        select(Client.id, Client.first_name, Client.last_name, Client.guardian_name)
        .add_columns(audience.c.recipient)
        .join(audience, audience.c.client_id == Client.id)
        .where(audience.c.code.is_(None))
    )
    totals: dict[str, Any] = {"recipients": 0, "segments": 0, "encodings": {}}
    for row in rows:
        token = UnsubscribeToken(salon.id, row.id, "sms", campaign.id)
        link = unsubscribe_url(token, base_url=base_url, secret_key=secret_key)
        context = _context(row, row.recipient, salon, link)
        size = sms_size(render(campaign.sms_body or "", context, html=False))
        totals["recipients"] += 1
        totals["segments"] += size.segments
        totals["encodings"][size.encoding] = totals["encodings"].get(size.encoding, 0) + 1
    return totals
