"""Sending pieces shared by campaigns and single messages: recheck, claim, render, record.

Campaign batches are sent by :mod:`dispatcher.batch` (chunked claims, pacing, backoff); this
module keeps the building blocks it shares with single sends (:mod:`dispatcher.transactional`):
the gate recheck, the message builder and the one-message outcome (`_outcome`, `store_result`).

Each delivery is claimed in the database (``pending`` -> ``sending``) before the provider call and
marked after it, so a batch that runs twice sends nothing twice. The gate's client rules are
checked again right before the claim: a withdrawal stored before the claim stops the send.
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
from channels.errors import ConfigurationError, PermanentDeliveryError, TransientDeliveryError
from db.models import Campaign, Client, Delivery, Salon, Suppression, utcnow
from dispatcher.planning import audience_context
from dispatcher.runtime import Runtime
from gate.audience import decision_query, split_code
from templates.errors import TemplateError
from templates.sandbox import render
from web.tokens import UnsubscribeToken, unsubscribe_url

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


def _recheck(
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


def claim(
    session: Session, salon: Salon, campaign: Campaign, first_id: int, last_id: int
) -> list[int]:
    """Skip what the gate now refuses, claim the rest; returns the claimed delivery ids."""
    now = utcnow()
    rows = session.execute(
        select(Delivery.id, Delivery.client_id, Delivery.channel, Delivery.address).where(
            Delivery.campaign_id == campaign.id,
            Delivery.id.between(first_id, last_id),
            Delivery.status == "pending",
        )
    ).all()
    refused = _recheck(session, salon, campaign, rows, now)
    for delivery_id, code in refused.items():
        rule, reason = split_code(code)
        session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.status == "pending")
            .values(status="skipped", skip_rule=rule, error=reason, updated_at=now)
        )
    wanted = [row.id for row in rows if row.id not in refused]
    if not wanted:
        return []
    claimed = session.scalars(
        update(Delivery)
        .where(Delivery.id.in_(wanted), Delivery.status == "pending")
        .values(status="sending", claimed_at=now, attempts=Delivery.attempts + 1)
        .returning(Delivery.id)
    ).all()
    return sorted(claimed)


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


def build_message(
    runtime: Runtime, salon: Salon, campaign: Campaign, delivery: DeliveryLike, client: ClientLike
) -> Message:
    token = UnsubscribeToken(salon.id, client.id, delivery.channel, campaign.id)
    link = unsubscribe_url(token, base_url=runtime.base_url, secret_key=runtime.secret_key)
    context = _context(client, delivery.recipient, salon, link)
    key = f"c{campaign.id}-d{delivery.id}"
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


def _outcome(
    runtime: Runtime, delivery: Delivery, message: Message | None, result: BatchResult
) -> None:
    now = utcnow()
    row: dict[str, Any] = {"id": delivery.id, "updated_at": now}
    try:
        assert message is not None
        receipt = runtime.channel(delivery.channel).send(message)
    except TransientDeliveryError as exc:
        if exc.maybe_sent:
            # The provider may have taken it: never re-send blindly, the reconciler decides.
            row.update(status="unknown", error_code="maybe_sent", error=str(exc)[:500])
            result.failed += 1
            result.updates.append(row)
            return
        row.update(status="pending", error_code="transient", error=str(exc)[:500])
        result.retry += 1
        result.retry_after = max(result.retry_after or 0, exc.retry_after or 0) or None
    except ConfigurationError as exc:
        # The sender is misconfigured, not the address: keep it pending and retry later.
        row.update(status="pending", error_code="configuration", error=str(exc)[:500])
        result.retry += 1
    except PermanentDeliveryError as exc:
        row.update(status="failed", error_code=exc.code, error=str(exc)[:500])
        result.failed += 1
        if exc.suppress and delivery.address:
            result.suppress.append((delivery.channel, delivery.address, f"provider {exc.code}"))
    else:
        row.update(status="sent", provider_id=receipt.provider_id, sent_at=now, body=message.body)
        result.sent += 1
    result.updates.append(row)


def send_claimed(
    session: Session, runtime: Runtime, campaign: Campaign, ids: list[int]
) -> BatchResult:
    """Render and hand off every claimed delivery; the caller stores the result."""
    salon = session.get_one(Salon, campaign.salon_id)
    deliveries = session.scalars(
        select(Delivery).where(Delivery.id.in_(ids)).order_by(Delivery.id)
    ).all()
    clients = {
        c.id: c
        for c in session.scalars(
            select(Client).where(Client.id.in_({d.client_id for d in deliveries}))
        )
    }
    result = BatchResult()
    for delivery in deliveries:
        try:
            message = build_message(runtime, salon, campaign, delivery, clients[delivery.client_id])
        except TemplateError as exc:
            # Validated before queueing, so this is rare: a broken render fails, it is never sent.
            result.updates.append(
                {
                    "id": delivery.id,
                    "status": "failed",
                    "error_code": "R2",
                    "error": str(exc)[:500],
                    "updated_at": utcnow(),
                }
            )
            result.failed += 1
            continue
        _outcome(runtime, delivery, message, result)
    return result


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
