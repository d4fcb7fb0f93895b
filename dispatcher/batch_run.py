"""One batch message: its id range is sent chunk after chunk until nothing is due.

A pass first takes its sender's slots (`sender_slots`: an SMTP host's connections, a paced SMS
sender's threads) and keeps them to its end. A thread without a free slot blocks for one
before it claims or checks anything (`SLOT_WAIT`), so it gives no claims back and runs no
query while it waits; a batch that got no slot in that time comes back after `SLOT_RETRY`.

A pass rechecks the gate for the whole range once (see `dispatcher.planning.Watermark`), then
claims, hands off and records chunk by chunk. A pass that starts within `max_seconds` of the
planning takes the snapshot's own verdict and watermark instead: the verdict is then no older
than a recheck's by the end of a pass, and the recheck (the gate query over the whole range)
would cost more than sending the range. It stops when the campaign is paused or
cancelled, when the provider throttles (429) or the rate limiter has no turn in time, or after
`max_seconds` (the thread goes back to the pool); `BatchOutcome.again_in` tells the actor when
to send the batch message again: when the next retry is due or the quiet hours end.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from db.models import Campaign, Delivery, Salon, utcnow
from db.session import session_scope
from db.states import CampaignStatus, Channel, DeliveryStatus, StopCode
from dispatcher.batch import claim_chunk, hand_off, pace_key, recheck_range, record_chunk
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
    if not channels:
        outcome.again_in = _next_due(runtime, campaign_id, first_id, last_id, None)
        return outcome
    # The sender's slot first, before the gate and any claim: a thread that waits holds
    # nothing, and a batch that gets no slot in time comes back later as it was.
    with holding_slots(runtime, sender_slots(runtime, salon, channels), timeout=SLOT_WAIT) as held:
        if not held:
            outcome.stopped, outcome.again_in = StopCode.PACED, SLOT_RETRY
            return outcome
        pass_ = _Pass(runtime, salon, campaign, (first_id, last_id), channels, max_seconds)
        pass_.run(outcome, planned)
    again_in = _next_due(runtime, campaign_id, first_id, last_id, outcome.stopped)
    if outcome.again_in is None:
        outcome.again_in = None if again_in is None else max(again_in, pass_.pause)
    return outcome


@dataclass
class _Pass:
    """One pass over a batch's range while holding the sender's slots: claim, hand off, record
    chunk after chunk until nothing is due, the campaign stops, or `max_seconds` are over."""

    runtime: Runtime
    salon: Salon
    campaign: Campaign
    id_range: tuple[int, int]
    channels: list[str]
    max_seconds: float
    pause: float = 0.0

    def run(self, outcome: BatchOutcome, planned: Watermark | None) -> None:
        runtime, (first_id, last_id) = self.runtime, self.id_range
        deadline = time.monotonic() + self.max_seconds
        with session_scope(runtime.database_url) as session:
            watermark = _gate_verdict(session, self.salon, self.campaign, self.id_range,
                                      self.channels, planned=planned,
                                      max_age=self.max_seconds)  # fmt: skip
        limit = _chunk_size(runtime, self.channels, seconds=self._paced_seconds())
        while True:
            with session_scope(runtime.database_url) as session:
                chunk = claim_chunk(session, self.salon, self.campaign, first_id, last_id,
                                    limit=limit, channels=self.channels, now=utcnow(),
                                    watermark=watermark)  # fmt: skip
                if not chunk.rows and _status(session, self.campaign.id) != CampaignStatus.SENDING:
                    outcome.stopped = _status(session, self.campaign.id)
                    return  # paused or cancelled meanwhile
            if not chunk.rows:
                return
            result = hand_off(runtime, self.salon, self.campaign, chunk, deadline=deadline)
            with session_scope(runtime.database_url) as session:
                record_chunk(session, self.salon.id, chunk, result)
                after_chunk(session, self.campaign.id, result)
            outcome.chunks += 1
            outcome.sent += result.sent
            outcome.failed += result.failed
            if result.stopped:
                outcome.stopped, self.pause = result.stopped, result.retry_after or 0.0
                return
            if time.monotonic() >= deadline:
                outcome.again_in = 0.0  # give the thread back; the rest of the range goes on later
                return
            if len(chunk.rows) < limit:
                return  # the range has nothing more to claim now; _next_due says when to come back

    def _paced_seconds(self) -> float:
        # A paced chunk must be sent well within the lease and within the pass.
        return min(self.runtime.claim_timeout / 4, self.max_seconds / 2)


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
# How long a batch waits for its sender's slot, holding nothing, before it gives the thread
# back (to other salons' batches) and comes back after `SLOT_RETRY` seconds.
SLOT_WAIT = 10.0
SLOT_RETRY = 5.0


def _chunk_size(runtime: Runtime, channels: Sequence[str], *, seconds: float = 75.0) -> int:
    """A paced sender claims no more than one slot of it sends in `seconds` (a quarter of the
    lease, at most half a pass): claims held while waiting for the limiter would otherwise run
    out of lease or pass and go back unsent."""
    limit = runtime.claim_chunk
    if not all(runtime.channel(channel).can_look_up for channel in channels):
        limit = min(limit, UNASKABLE_CHUNK)
    rates = [runtime.rates[channel] / sender_limit(runtime.rates[channel])
             for channel in channels if channel in runtime.rates]  # fmt: skip
    if not rates:
        return limit
    return max(1, min(limit, int(min(rates) * seconds)))


def sender_limit(per_second: float) -> int:
    """Threads that may send for one paced sender at once: a second's worth of its messages,
    so a slow provider answer does not hold up the others, and no thread waits long for its
    turn holding claims."""
    return max(1, math.ceil(per_second))


def sender_slots(runtime: Runtime, salon: Salon, channels: Sequence[str]) -> list[tuple[str, int]]:
    """(key, limit) of every slot a pass over `channels` needs: an SMTP host's connections, a
    paced SMS sender's threads. Sorted, so that every thread takes two slots in one order and
    two passes can never each hold the slot the other waits for."""
    slots = []
    for channel in channels:
        if channel in runtime.concurrency:
            slots.append((runtime.provider.get(channel, channel), runtime.concurrency[channel]))
        elif channel in runtime.rates:
            key = f"{pace_key(runtime, salon, channel)}:senders"
            slots.append((key, sender_limit(runtime.rates[channel])))
    return sorted(slots)


@contextmanager
def holding_slots(
    runtime: Runtime, slots: Sequence[tuple[str, int]], *, timeout: float
) -> Iterator[bool]:
    """Yield True holding every slot in `slots` (blocking up to `timeout` for them), else False."""
    deadline = time.monotonic() + timeout
    with ExitStack() as held:
        for key, limit in slots:
            wait = max(0.0, deadline - time.monotonic())
            if not held.enter_context(runtime.pacer.connection_slot(key, limit, timeout=wait)):
                yield False
                return
        yield True


def _status(session: Session, campaign_id: int) -> str | None:
    return session.scalar(select(Campaign.status).where(Campaign.id == campaign_id))


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
    if quiet_end is None or Channel.SMS not in channels:
        return channels
    session.execute(
        update(Delivery)
        .where(
            Delivery.campaign_id == campaign.id,
            Delivery.id.between(first_id, last_id),
            Delivery.channel == Channel.SMS,
            Delivery.status == DeliveryStatus.PENDING,
            or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at < quiet_end),
        )
        .values(next_attempt_at=quiet_end)
    )
    return [channel for channel in channels if channel != Channel.SMS]


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
    if stopped in (StopCode.PACED, "throttled"):
        wait = max(wait, 0.5)  # let the limiter or the provider breathe before the next try
    return wait
