"""One batch of a campaign, sent in chunks: recheck, claim, hand off, record.

Why chunks: a delivery is claimed (``pending`` -> ``sending``) in the database before its
provider call and recorded after it. Recording each message alone would cost a commit per
message. A chunk (``claim_chunk``, 500 by default; 50 for a channel that cannot be asked, see
`dispatcher.batch_run.UNASKABLE_CHUNK`) is claimed in one statement and recorded in one UPDATE,
so a worker killed at any instant leaves at most one chunk of claims, which the sweep turns
``unknown`` after the claim lease and the reconciler settles with the provider.

Fencing: every claim carries its ``claimed_at``; results are written only where the row is still
``sending`` with that same ``claimed_at``, so a worker presumed dead cannot overwrite a later
decision. A worker never starts a hand-off once half the lease has passed since its claim, so the
reconciler, which waits for the whole lease, never races a live hand-off.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    Text,
    bindparam,
    cast,
    column,
    exists,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from channels.base import Message
from channels.errors import ConfigurationError, PermanentDeliveryError, TransientDeliveryError
from db.models import Campaign, Client, ConsentEvent, Delivery, Salon, Suppression, utcnow
from db.states import CampaignStatus, ConsentAction, ConsentParty, DeliveryStatus, StopCode
from dispatcher.planning import Watermark
from dispatcher.runtime import Runtime
from dispatcher.sending import build_message, refused_by_gate
from gate.audience import split_code
from templates.errors import TemplateError

_table: Table = Delivery.__table__  # type: ignore[assignment]
# What recording a hand-off writes, besides ``attempts + 1``; a record holds ``b_<column>``.
_RESULT = ("status", "provider_id", "error_code", "error", "body", "sent_at", "updated_at",
           "next_attempt_at")  # fmt: skip
# The fence: a record is written only where the row is still as its claim left it, ``b_was``
# (``sending``) with ``b_claimed`` (its ``claimed_at``). Shared by a chunk's records, like
# ``b_updated_at``: `_store` adds them, not each record.
_FENCE = {"was": _table.c.status, "claimed": _table.c.claimed_at}
_WAS = DeliveryStatus.SENDING
_ATTEMPTS = _table.c.attempts + 1
# SQLite (the embedded default): one statement executed for the whole chunk (executemany).
RECORD = (
    update(_table)
    .where(_table.c.id == bindparam("b_id"),
           *(fenced == bindparam(f"b_{name}") for name, fenced in _FENCE.items()))
    .values({name: bindparam(f"b_{name}") for name in _RESULT} | {"attempts": _ATTEMPTS})
)  # fmt: skip
# PostgreSQL: the chunk's records as one JSON document, joined in one UPDATE. Why: executemany
# still costs PostgreSQL a statement per row (parse, plan, executor start), most of a record's
# cost; and json.dumps serialises a chunk in C, where arrays cost the worker a Python call to
# dump each element of each column. What is the same for every row (``updated_at``) is sent once.
# The fence is joined from the records too, not compared with constants. Why: the statistics
# of a campaign's deliveries come from its planning, when none was ``sending``; a constant
# ``status = 'sending'`` is estimated to match no row, and the planner then scans the
# deliveries first and all the records once for each of them (250,000 comparisons a chunk).
# Joined, each record looks up the primary key.
_JSONED = {"id": _table.c.id} | {n: _table.c[n] for n in _RESULT if n != "updated_at"} | _FENCE
_ROWS = (
    func.json_to_recordset(cast(bindparam("b_rows", type_=Text), postgresql.JSON))
    .table_valued(*(column(name, col.type) for name, col in _JSONED.items()))
    .render_derived("r", with_types=True)
)
RECORD_JSON = (
    update(_table)
    .where(
        _table.c.id == _ROWS.c.id,
        # The chunk's id range, for the planner: without it, a campaign of a few ten thousand
        # deliveries is read whole to hash-join the records.
        _table.c.id.between(bindparam("b_first"), bindparam("b_last")),
        *(fenced == _ROWS.c[name] for name, fenced in _FENCE.items()),
    )
    .values(
        {name: _ROWS.c[name] for name in _JSONED if name not in ("id", *_FENCE)}
        | {"attempts": _ATTEMPTS, "updated_at": bindparam("b_updated_at")}
    )
)


def _utc_text(value: object) -> str:
    """A datetime in a record's JSON: UTC, ISO 8601 (the column's naive UTC, see UTCDateTime:
    PostgreSQL reads ``+00:00`` into a timestamp without time zone as the same UTC time)."""
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise TypeError(f"a record holds {value!r}: an aware datetime was expected")
    return value.astimezone(dt.UTC).isoformat()


_JSON_KEYS = tuple((name, f"b_{name}") for name in _JSONED if name not in _FENCE)


def _records_json(chunk: Chunk, records: list[dict[str, Any]]) -> str:
    """The records of one chunk with its fence; ``claimed_at`` is turned into text once."""
    fence = {"was": _WAS, "claimed": _utc_text(chunk.claimed_at)}
    return json.dumps(
        [{name: record[key] for name, key in _JSON_KEYS} | fence for record in records],
        default=_utc_text,
    )


@dataclass(frozen=True)
class ClientView:
    """The client fields a message needs, from the claim's joined row (no ORM object)."""

    id: int
    first_name: str | None
    last_name: str | None
    guardian_name: str | None

    @classmethod
    def of(cls, row: Any) -> ClientView:
        return cls(row.client_id, row.first_name, row.last_name, row.guardian_name)


@dataclass
class Chunk:
    """Deliveries claimed together; rows carry what rendering needs (delivery and client)."""

    claimed_at: dt.datetime
    rows: Sequence[Any]
    started: float = field(default_factory=time.monotonic)  # before the claim: a safe bound


@dataclass
class ChunkResult:
    records: list[dict[str, Any]] = field(default_factory=list)
    suppress: list[tuple[str, str, str]] = field(default_factory=list)
    handed_off: set[int] = field(default_factory=set)
    sent: int = 0
    failed: int = 0  # permanent, this chunk
    # Why the chunk stopped early: "throttled" (429), "paced" (no slot in time), "lease",
    # "configuration" (the sender is misconfigured: the campaign pauses).
    stopped: str | None = None
    detail: str | None = None
    retry_after: float | None = None  # a 429's Retry-After: the whole batch waits that long


def recheck_range(
    session: Session,
    salon: Salon,
    campaign: Campaign,
    first_id: int,
    last_id: int,
    *,
    channels: Sequence[str],
    now: dt.datetime,
) -> Watermark:
    """Run the gate's client rules for every pending delivery of the range; skip the refused."""
    watermark = Watermark.now(session)
    rows = session.execute(
        select(Delivery.id, Delivery.client_id, Delivery.channel, Delivery.address).where(
            Delivery.campaign_id == campaign.id,
            Delivery.id.between(first_id, last_id),
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.channel.in_(list(channels)),
        )
    ).all()
    _skip(session, refused_by_gate(session, salon, campaign, rows, now) if rows else {}, now)
    return watermark


def _skip(session: Session, refused: dict[int, str], now: dt.datetime) -> None:
    for delivery_id, code in refused.items():
        rule, reason = split_code(code)
        session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.status == DeliveryStatus.PENDING)
            .values(status=DeliveryStatus.SKIPPED, skip_rule=rule, error=reason, updated_at=now)
        )


def claim_chunk(
    session: Session,
    salon: Salon,
    campaign: Campaign,
    first_id: int,
    last_id: int,
    *,
    limit: int,
    channels: Sequence[str],
    now: dt.datetime,
    watermark: Watermark | None = None,
) -> Chunk:
    """Claim up to `limit` due deliveries of the range that pass the gate.

    Without a `watermark` the gate runs on the chunk's candidates; with one (from
    `recheck_range` or the planning), clients with newer consent events or suppressions wait
    for the next recheck instead."""
    started = time.monotonic()
    conditions = _due(campaign, first_id, last_id, channels, now)
    if watermark is None:
        passed = _passing_gate(session, salon, campaign, conditions, limit, now)
        conditions.append(Delivery.id.in_(passed))
    else:
        conditions += _unchanged_since(salon, watermark)
    return Chunk(now, _claim(session, conditions, limit, now), started)


def _due(
    campaign: Campaign, first_id: int, last_id: int, channels: Sequence[str], now: dt.datetime
) -> list[ColumnElement[bool]]:
    return [
        Delivery.campaign_id == campaign.id,
        Delivery.id.between(first_id, last_id),
        Delivery.status == DeliveryStatus.PENDING,
        Delivery.channel.in_(list(channels)),
        or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
        # Paused or cancelled between two chunks: nothing more is claimed.
        exists().where(Campaign.id == campaign.id, Campaign.status == CampaignStatus.SENDING),
    ]


def _passing_gate(
    session: Session,
    salon: Salon,
    campaign: Campaign,
    due: list[ColumnElement[bool]],
    limit: int,
    now: dt.datetime,
) -> list[int]:
    """The ids of up to `limit` due deliveries whose clients pass the gate; skip the others."""
    candidates = session.execute(
        select(Delivery.id, Delivery.client_id, Delivery.channel, Delivery.address)
        .where(*due)
        .order_by(Delivery.id)
        .limit(limit)
    ).all()
    refused = refused_by_gate(session, salon, campaign, candidates, now) if candidates else {}
    _skip(session, refused, now)
    return [row.id for row in candidates if row.id not in refused]


# What a claimed row carries for its message (besides the client's names).
_CLAIMED = tuple(_table.c[name] for name in ("id", "client_id", "channel", "address",
                                             "recipient", "attempts"))  # fmt: skip


def _claim(
    session: Session, conditions: list[ColumnElement[bool]], limit: int, now: dt.datetime
) -> Sequence[Any]:
    """Mark up to `limit` deliveries meeting `conditions` as ``sending``; their rows, with the
    client fields rendering needs."""
    postgres = session.get_bind().dialect.name == "postgresql"
    picked: Any = select(Delivery.id).where(*conditions).order_by(Delivery.id).limit(limit)
    if postgres:
        # Two copies of one batch (the queue is at-least-once) take different rows, not turns.
        # MATERIALIZED: as a plain subquery PostgreSQL may run it again per updated row,
        # each time past the rows just locked, and claim far more than `limit`.
        picked = picked.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
        picked = select(picked.c.id)
    claim = (
        update(Delivery)
        # correlate(None): the rows to claim, not a test of the row being updated.
        .where(Delivery.id.in_(picked.correlate(None)), Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.SENDING, claimed_at=now, updated_at=now)
    )
    claimed: Any
    if postgres:
        # One statement: the claim (a data-modifying CTE) and the client fields, joined.
        claimed = claim.returning(*_CLAIMED).cte("claimed")
    else:
        ids = session.scalars(claim.returning(Delivery.id)).all()
        claimed = select(*_CLAIMED).where(Delivery.id.in_(ids)).subquery("claimed")
    return session.execute(
        select(claimed, Client.first_name, Client.last_name, Client.guardian_name)
        .join(Client, Client.id == claimed.c.client_id)
        .order_by(claimed.c.id)
    ).all()


def _unchanged_since(salon: Salon, watermark: Watermark) -> list[ColumnElement[bool]]:
    """Conditions of a claim: nothing about the client's consent or address changed since
    the watermark, and the client has not withdrawn (see `_not_withdrawn_now`).

    Each is a correlated scalar subquery, one index probe per delivery, on purpose. Written as
    NOT EXISTS, PostgreSQL turns them into anti-joins and plans those from the statistics; a
    consent log that was empty when last analysed (a new salon's first campaign, withdrawals
    streaming in while it sends) is then estimated at one row, scanned whole and compared with
    every delivery of the chunk: 0.17-0.33 s a claim of 50 with 20,000 new withdrawals, where
    the probes take milliseconds. A subquery's own plan is costed from the table's real size,
    so it probes the index whatever the statistics say."""
    newest_event = (
        select(func.max(ConsentEvent.id))
        .where(
            ConsentEvent.client_id == Delivery.client_id,
            ConsentEvent.channel == Delivery.channel,
        )
        .scalar_subquery()
    )
    suppression = (
        select(Suppression.id)
        .where(
            Suppression.salon_id == salon.id,
            Suppression.channel == Delivery.channel,
            Suppression.address == Delivery.address,
        )
        .scalar_subquery()
    )
    # Forgetting a client clears the address of each of its deliveries in the same transaction:
    # this is how a claim sees it without reading the client table.
    remembered = Delivery.address.is_not(None)
    return [
        func.coalesce(newest_event, 0) <= watermark.consent_id,
        func.coalesce(suppression, 0) <= watermark.suppression_id,
        remembered,
        _not_withdrawn_now(),
    ]


def _not_withdrawn_now() -> ColumnElement[bool]:
    """R4 as the claim's own snapshot sees it: true unless the client's latest event on the
    channel is a withdrawal.

    Why besides the watermark: PostgreSQL hands out ids at INSERT, not at COMMIT. A withdrawal
    in a longer transaction (a CSV import, a slow request) can commit after a newer id was
    seen, below the watermark, and the watermark alone would let it through. The gate refuses
    exactly these clients (R4), so nothing waits here that a recheck would let go.
    """
    latest = (
        select(ConsentEvent.action)
        .where(
            ConsentEvent.client_id == Delivery.client_id,
            ConsentEvent.channel == Delivery.channel,
            ConsentEvent.party == ConsentParty.CLIENT,
        )
        .order_by(ConsentEvent.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(latest, "never asked") != ConsentAction.WITHDRAWN


def hand_off(
    runtime: Runtime, salon: Salon, campaign: Campaign, chunk: Chunk, *, deadline: float
) -> ChunkResult:
    """Hand every claimed delivery to its channel, paced; stop early when told to."""
    result = ChunkResult()
    lease_half = chunk.started + runtime.claim_timeout / 2
    for row in chunk.rows:
        if time.monotonic() >= min(lease_half, deadline):
            result.stopped = "lease"
            break
        if not wait_turn(runtime, salon, row.channel, min(lease_half, deadline)):
            result.stopped = StopCode.PACED
            break
        try:
            message = build_message(runtime, salon, campaign, row, ClientView.of(row))
        except TemplateError as exc:
            # Validated before queueing, so this is rare: a broken render fails, never sent.
            result.records.append(
                _record(row, DeliveryStatus.FAILED, error_code="R2", error=str(exc))
            )
            result.handed_off.add(row.id)
            result.failed += 1
            continue
        _send_one(runtime, salon, row, message, result)
        if result.stopped:
            break
    return result


def pace_key(runtime: Runtime, salon: Salon, channel: str) -> str:
    sender = (salon.sms_sender if channel == "sms" else salon.email_from) or "default"
    return f"{runtime.provider.get(channel, channel)}:{sender}"


def wait_turn(runtime: Runtime, salon: Salon, channel: str, until: float) -> bool:
    """Wait for the sender's next slot under its rate limit (shared by every worker); False
    when none came before ``until`` (a monotonic time)."""
    rate = runtime.rates.get(channel)
    if not rate:
        return True
    timeout = max(0.0, until - time.monotonic())
    return runtime.pacer.wait_turn(pace_key(runtime, salon, channel), rate, timeout=timeout)


def _send_one(
    runtime: Runtime, salon: Salon, row: Any, message: Message, result: ChunkResult
) -> None:
    now = utcnow()
    try:
        receipt = runtime.channel(row.channel).send(message)
    except TransientDeliveryError as exc:
        result.handed_off.add(row.id)
        result.records.append(_transient(runtime, row, exc, now))
        if exc.retry_after is not None:
            # A 429: the sender is throttled, not this address; everybody waits.
            runtime.pacer.hold(pace_key(runtime, salon, row.channel), exc.retry_after)
            result.stopped, result.retry_after = "throttled", exc.retry_after
        return
    except ConfigurationError as exc:
        # The sender is misconfigured, not the address: the delivery waits, the campaign pauses.
        result.stopped, result.detail = StopCode.CONFIGURATION, str(exc)[:200]
        return
    except PermanentDeliveryError as exc:
        result.handed_off.add(row.id)
        result.records.append(
            _record(row, DeliveryStatus.FAILED, error_code=exc.code, error=str(exc))
        )
        result.failed += 1
        if exc.suppress and row.address:
            result.suppress.append((row.channel, row.address, f"provider {exc.code}"))
        return
    result.handed_off.add(row.id)
    result.sent += 1
    result.records.append(
        _record(
            row,
            DeliveryStatus.SENT,
            provider_id=receipt.provider_id,
            body=message.body,
            sent_at=now,
        )
    )


def _transient(
    runtime: Runtime, row: Any, exc: TransientDeliveryError, now: dt.datetime
) -> dict[str, Any]:
    if exc.maybe_sent:
        # The provider may have taken it: never re-send blindly, the reconciler decides.
        return _record(row, DeliveryStatus.UNKNOWN, error_code=StopCode.MAYBE_SENT, error=str(exc))
    attempts = row.attempts + 1
    if exc.retry_after is None and attempts >= runtime.retry.max_attempts:
        return _record(row, DeliveryStatus.FAILED, error_code=StopCode.TRANSIENT, error=str(exc))
    wait_ms = (
        exc.retry_after * 1000 if exc.retry_after is not None else runtime.retry.delay_ms(attempts)
    )
    due = now + dt.timedelta(milliseconds=wait_ms)
    return _record(
        row,
        DeliveryStatus.PENDING,
        error_code=StopCode.TRANSIENT,
        error=str(exc),
        next_attempt_at=due,
    )


def _record(row: Any, status: str, **values: Any) -> dict[str, Any]:
    """One hand-off's outcome; the chunk's fence and ``updated_at`` are added by `_store`."""
    record = {
        "b_id": row.id,
        "b_status": status,
        "b_provider_id": None,
        "b_error_code": None,
        "b_error": None,
        "b_body": None,
        "b_sent_at": None,
        "b_next_attempt_at": None,
    }
    record.update({f"b_{key}": value for key, value in values.items()})
    if record["b_error"]:
        record["b_error"] = str(record["b_error"])[:500]
    return record


def _store(session: Session, chunk: Chunk, records: list[dict[str, Any]]) -> None:
    now = utcnow()
    if session.get_bind().dialect.name != "postgresql":
        shared = {"b_was": _WAS, "b_claimed": chunk.claimed_at, "b_updated_at": now}
        session.execute(RECORD, [record | shared for record in records])
        return
    ids = [record["b_id"] for record in records]
    once = {"b_first": min(ids), "b_last": max(ids), "b_updated_at": now}
    session.execute(RECORD_JSON, {"b_rows": _records_json(chunk, records)} | once)


def record_chunk(session: Session, salon_id: int, chunk: Chunk, result: ChunkResult) -> None:
    """Store the outcomes, give back the claims never handed off, suppress refused addresses.

    Why no fsync wait here (PostgreSQL): if this commit is lost in a database crash, the rows
    are still claimed and the reconciler settles them with the provider. The claim itself
    is committed durably: losing it could send a message twice."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit = off"))
    if result.records:
        _store(session, chunk, result.records)
    unsent = [row.id for row in chunk.rows if row.id not in result.handed_off]
    if unsent:
        session.execute(
            update(Delivery)
            .where(
                Delivery.id.in_(unsent),
                Delivery.status == DeliveryStatus.SENDING,
                Delivery.claimed_at == chunk.claimed_at,
            )
            .values(status=DeliveryStatus.PENDING, claimed_at=None)
        )
    if result.suppress:
        module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        rows = [
            {"salon_id": salon_id, "channel": ch, "address": addr, "reason": why,
             "created_at": utcnow()}
            for ch, addr, why in result.suppress
        ]  # fmt: skip
        session.execute(module.insert(Suppression).values(rows).on_conflict_do_nothing())
