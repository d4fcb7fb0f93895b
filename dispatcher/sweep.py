"""The sweep: the database, not Redis, decides what still has to be sent.

Dramatiq's Redis broker is at-least-once and may also lose messages (a flushed or restarted
Redis). Every minute the scheduler process looks for campaigns that stalled and enqueues their
work again; claims in the database make the repeated work harmless.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from db.models import Campaign, Delivery, utcnow
from dispatcher.planning import pending_batches

log = logging.getLogger("salonpost.sweep")


@dataclass
class SweepPlan:
    plan: list[int] = field(default_factory=list)
    batches: list[tuple[int, int, int]] = field(default_factory=list)
    finish: list[int] = field(default_factory=list)
    unknown: int = 0


def _last_activity(session: Session, campaign_id: int) -> dt.datetime | None:
    return session.scalar(
        select(
            func.max(func.coalesce(Delivery.updated_at, Delivery.claimed_at, Delivery.created_at))
        ).where(Delivery.campaign_id == campaign_id)
    )


def mark_lost_claims(session: Session, *, older_than: dt.datetime) -> int:
    """Claims whose worker died mid-send: the provider may have taken the message, so they
    become ``unknown`` for the reconciler, never a blind re-send."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.status == "sending", Delivery.claimed_at < older_than)
        .values(status="unknown", error_code="claim_lost", updated_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


def find_stalled(
    session: Session, *, batch_size: int, stale_after: dt.timedelta, now: dt.datetime | None = None
) -> SweepPlan:
    now = now or utcnow()
    cutoff = now - stale_after
    found = SweepPlan(unknown=mark_lost_claims(session, older_than=now - 10 * stale_after))
    campaigns = session.execute(
        select(Campaign.id, Campaign.status, Campaign.queued_at).where(
            Campaign.status.in_(("queued", "sending")),
            or_(Campaign.queued_at.is_(None), Campaign.queued_at < cutoff),
        )
    ).all()
    for campaign_id, status, _queued_at in campaigns:
        if status == "queued":
            found.plan.append(campaign_id)
            continue
        last = _last_activity(session, campaign_id)
        if last is not None and last >= cutoff:
            continue  # a worker is on it
        batches = list(pending_batches(session, campaign_id, batch_size))
        found.batches += [(campaign_id, first, last_id) for first, last_id in batches]
        found.finish.append(campaign_id)
    return found


def sweep(database_url: str, *, batch_size: int, stale_after: dt.timedelta) -> SweepPlan:
    """Find stalled work and enqueue it again."""
    from db.session import session_scope
    from dispatcher import actors

    with session_scope(database_url) as session:
        found = find_stalled(session, batch_size=batch_size, stale_after=stale_after)
    for campaign_id in found.plan:
        actors.plan_campaign.send(campaign_id)
    for campaign_id, first_id, last_id in found.batches:
        actors.send_batch.send(campaign_id, first_id, last_id)
    for campaign_id in found.finish:
        actors.finish_campaign.send(campaign_id)
    if found.plan or found.batches or found.unknown:
        log.info(
            "sweep: %d plans, %d batches re-enqueued, %d lost claims marked unknown",
            len(found.plan),
            len(found.batches),
            found.unknown,
        )
    return found
