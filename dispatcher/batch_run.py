"""One batch message: its id range is sent chunk after chunk until nothing is due.

A pass rechecks the gate for the whole range once (see `dispatcher.planning.Watermark`), then
claims, hands off and records chunk by chunk. A pass that starts within `max_seconds` of the
planning takes the snapshot's own verdict and watermark instead: the verdict is then no older
than a recheck's by the end of a pass, and the recheck (the gate query over the whole range)
would cost more than sending the range. It stops when the campaign is paused or
cancelled, when the provider throttles (429) or the limiter has no slot in time, or after
`max_seconds` (the thread goes back to the pool); `BatchOutcome.again_in` tells the actor when
to send the batch message again: when the next retry is due or the quiet hours end.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from db.models import Campaign, Delivery, Salon, utcnow
from db.session import session_scope
from db.states import CampaignStatus, DeliveryStatus, StopCode
from dispatcher.batch import Chunk, ChunkResult, claim_chunk, hand_off, recheck_range, record_chunk
from dispatcher.control import after_chunk
from dispatcher.pacing import quiet_until
from dispatcher.planning import Watermark
from dispatcher.runtime import Runtime


@dataclass
class BatchOutcome:
    sent: int = 0
    failed: int = 0
    chunks: int = 0
    # Seconds until this batch should run again (retries due, quiet hours, pacing); None: done.
    again_in: float | None = None
    stopped: str | None = None


def run_batch(
    runtime: Runtime,
    campaign_id: int,
    first_id: int,
    last_id: int,
    *,
    max_seconds: float = 60.0,
    planned: Watermark | None = None,
) -> BatchOutcome:
    """Send the due deliveries of one id range of a sending campaign, chunk by chunk.

    `planned`: the watermark of the campaign's planning, when the batch was enqueued by it."""
    outcome = BatchOutcome()
    pause = 0.0
    deadline = time.monotonic() + max_seconds
    with session_scope(runtime.database_url) as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None or campaign.status != CampaignStatus.SENDING:
            outcome.stopped = campaign.status if campaign else "missing"
            return outcome  # paused or cancelled: deliveries stay as they are
        salon = session.get_one(Salon, campaign.salon_id)
        channels = (
            open_channels(session, salon, campaign, first_id, last_id)
            if runtime.quiet_hours
            else list(campaign.channels)
        )
        watermark = _gate_verdict(session, salon, campaign, (first_id, last_id), channels,
                                  planned=planned, max_age=max_seconds)  # fmt: skip
    limit = _chunk_size(runtime, channels)
    while channels:
        with session_scope(runtime.database_url) as session:
            chunk = claim_chunk(session, salon, campaign, first_id, last_id, limit=limit,
                                channels=channels, now=utcnow(), watermark=watermark)  # fmt: skip
            if not chunk.rows and _status(session, campaign_id) != CampaignStatus.SENDING:
                outcome.stopped = _status(session, campaign_id)
                return outcome  # paused or cancelled meanwhile
        if not chunk.rows:
            break
        result = _hand_off_with_slot(runtime, salon, campaign, chunk, deadline)
        with session_scope(runtime.database_url) as session:
            record_chunk(session, salon.id, chunk, result)
            after_chunk(session, campaign_id, result)
        outcome.chunks += 1
        outcome.sent += result.sent
        outcome.failed += result.failed
        if result.stopped:
            outcome.stopped, pause = result.stopped, result.retry_after or 0.0
            break
        if time.monotonic() >= deadline:
            outcome.again_in = 0.0  # give the thread back; the rest of the range goes on later
            return outcome
        if len(chunk.rows) < limit:
            break  # the range has nothing more to claim now; _next_due says when to come back
    again_in = _next_due(runtime, campaign_id, first_id, last_id, outcome.stopped)
    outcome.again_in = None if again_in is None else max(again_in, pause)
    return outcome


def _gate_verdict(
    session: Session,
    salon: Salon,
    campaign: Campaign,
    id_range: tuple[int, int],
    channels: Sequence[str],
    *,
    planned: Watermark | None,
    max_age: float,
) -> Watermark:
    """The planning's watermark while its verdict is at most `max_age` seconds old, else the
    watermark of a recheck of the range now."""
    now = utcnow()
    if planned and campaign.planned_at and (now - campaign.planned_at).total_seconds() <= max_age:
        return planned
    return recheck_range(session, salon, campaign, *id_range, channels=channels, now=now)


# A chunk is what a dead worker leaves in doubt. Where the provider can be asked (Twilio), the
# reconciler settles it; where it cannot (SMTP), an operator decides each delivery, and a
# "send again" may reach some clients twice: those chunks stay this small.
UNASKABLE_CHUNK = 50


def _chunk_size(runtime: Runtime, channels: Sequence[str]) -> int:
    """A paced sender claims no more than it can send in a quarter of the lease: claims held
    while waiting for the limiter would otherwise run out of lease and go back unsent."""
    limit = runtime.claim_chunk
    if not all(runtime.channel(channel).can_look_up for channel in channels):
        limit = min(limit, UNASKABLE_CHUNK)
    rates = [runtime.rates[channel] for channel in channels if channel in runtime.rates]
    if not rates:
        return limit
    return max(1, min(limit, int(min(rates) * runtime.claim_timeout / 4)))


def _status(session: Session, campaign_id: int) -> str | None:
    return session.scalar(select(Campaign.status).where(Campaign.id == campaign_id))


def _hand_off_with_slot(
    runtime: Runtime, salon: Salon, campaign: Campaign, chunk: Chunk, deadline: float
) -> ChunkResult:
    kinds = {row.channel for row in chunk.rows}
    limits = [(kind, runtime.concurrency[kind]) for kind in kinds if kind in runtime.concurrency]
    if not limits:
        return hand_off(runtime, salon, campaign, chunk, deadline=deadline)
    kind, limit = limits[0]
    with runtime.pacer.connection_slot(runtime.provider.get(kind, kind), limit) as acquired:
        if not acquired:
            return ChunkResult(stopped=StopCode.PACED)  # every connection busy: all claims go back
        return hand_off(runtime, salon, campaign, chunk, deadline=deadline)


def open_channels(
    session: Session, salon: Salon, campaign: Campaign, first_id: int, last_id: int
) -> list[str]:
    """The campaign's channels that may send now; marketing SMS wait out the quiet hours.

    Waiting SMS get ``next_attempt_at`` = the end of the quiet hours, so neither this batch
    nor the sweep looks at them again before then."""
    channels = list(campaign.channels)
    now = utcnow()
    quiet_end = quiet_until(
        now, timezone=salon.timezone, quiet_start=salon.quiet_start, quiet_end=salon.quiet_end
    )
    if quiet_end is None or "sms" not in channels:
        return channels
    session.execute(
        update(Delivery)
        .where(
            Delivery.campaign_id == campaign.id,
            Delivery.id.between(first_id, last_id),
            Delivery.channel == "sms",
            Delivery.status == DeliveryStatus.PENDING,
            or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at < quiet_end),
        )
        .values(next_attempt_at=quiet_end)
    )
    return [channel for channel in channels if channel != "sms"]


def _next_due(
    runtime: Runtime, campaign_id: int, first_id: int, last_id: int, stopped: str | None
) -> float | None:
    """Seconds until the range's next pending delivery is due; None when none is left."""

    now = utcnow()
    waiting = Delivery.next_attempt_at > now
    with session_scope(runtime.database_url) as session:
        due_now, later, earliest = session.execute(
            select(
                func.count().filter(~waiting | Delivery.next_attempt_at.is_(None)),
                func.count().filter(waiting),
                func.min(Delivery.next_attempt_at).filter(waiting),
            ).where(
                Delivery.campaign_id == campaign_id,
                Delivery.id.between(first_id, last_id),
                Delivery.status == DeliveryStatus.PENDING,
            )
        ).one()
    if not due_now and not later:
        return None
    wait = 0.0 if due_now or earliest is None else max(0.0, (earliest - now).total_seconds())
    if stopped in ("paced", "throttled"):
        wait = max(wait, 0.5)  # let the limiter or the provider breathe before the next try
    return wait
