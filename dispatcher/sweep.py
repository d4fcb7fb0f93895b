"""The sweep: the database, not Redis, decides what still has to be sent.

Dramatiq's Redis broker is at-least-once and may also lose messages (a flushed or restarted
Redis; a killed worker's messages come back only after its heartbeat timeout). Every interval
the scheduler process:

1. turns claims older than the lease into ``unknown`` (their worker died mid-chunk);
2. enqueues the reconciler for campaigns with unknown deliveries;
3. re-enqueues the due pending deliveries of sending campaigns with no recent activity, and a
   ``plan_campaign`` for campaigns still queued.

Claims in the database make the repeated work harmless.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from db.models import Campaign, Delivery, utcnow
from db.states import CampaignKind, CampaignStatus, DeliveryStatus
from dispatcher.planning import pending_batches
from dispatcher.reconcile import NEEDS_DECISION, settle_claims

log = logging.getLogger("salonpost.sweep")

DEFAULT_LEASE = dt.timedelta(minutes=5)


@dataclass
class SweepPlan:
    plan: list[int] = field(default_factory=list)
    batches: list[tuple[int, int, int]] = field(default_factory=list)
    finish: list[int] = field(default_factory=list)
    reconcile: list[int] = field(default_factory=list)
    unknown: int = 0


def _last_activity(session: Session, campaign_id: int) -> dt.datetime | None:
    return session.scalar(
        select(
            func.max(func.coalesce(Delivery.updated_at, Delivery.claimed_at, Delivery.created_at))
        ).where(Delivery.campaign_id == campaign_id)
    )


def mark_lost_claims(session: Session, *, older_than: dt.datetime) -> int:
    """Kept for callers of the first version: claims before `older_than` become unknown."""
    return settle_claims(session, lease=dt.timedelta(0), now=older_than)


def _needing_reconcile(session: Session) -> list[int]:
    return list(
        session.scalars(
            select(Delivery.campaign_id)
            .where(
                Delivery.status == DeliveryStatus.UNKNOWN,
                Delivery.error_code.is_distinct_from(NEEDS_DECISION),
            )
            .distinct()
        )
    )


def find_stalled(
    session: Session,
    *,
    batch_size: int,
    stale_after: dt.timedelta,
    lease: dt.timedelta = DEFAULT_LEASE,
    now: dt.datetime | None = None,
) -> SweepPlan:
    now = now or utcnow()
    cutoff = now - stale_after
    found = SweepPlan()
    campaigns = session.execute(
        select(Campaign.id, Campaign.status).where(
            # Service messages are sent by their caller, never through the marketing gate.
            Campaign.kind == CampaignKind.MARKETING,
            Campaign.status.in_((CampaignStatus.QUEUED, CampaignStatus.SENDING)),
            or_(Campaign.queued_at.is_(None), Campaign.queued_at < cutoff),
        )
    ).all()
    for campaign_id, status in campaigns:
        if status == CampaignStatus.QUEUED:
            found.plan.append(campaign_id)
            continue
        last = _last_activity(session, campaign_id)
        if last is not None and last >= cutoff:
            continue  # a worker is on it
        batches = pending_batches(session, campaign_id, batch_size, due_by=now)
        found.batches += [(campaign_id, first, last_id) for first, last_id in batches]
        found.finish.append(campaign_id)
    # After the activity check: settling a lost claim is no sign of a live worker.
    found.unknown = settle_claims(session, lease=lease, now=now)
    found.reconcile = _needing_reconcile(session)
    return found


def sweep(
    database_url: str,
    *,
    batch_size: int,
    stale_after: dt.timedelta,
    lease: dt.timedelta = DEFAULT_LEASE,
) -> SweepPlan:
    """Find stalled work and enqueue it again."""
    from db.session import session_scope
    from dispatcher import actors

    with session_scope(database_url) as session:
        found = find_stalled(session, batch_size=batch_size, stale_after=stale_after, lease=lease)
    for campaign_id in found.plan:
        actors.plan_campaign.send(campaign_id)
    for campaign_id in found.reconcile:
        actors.reconcile_campaign.send(campaign_id)
    for campaign_id, first_id, last_id in found.batches:
        actors.send_batch.send(campaign_id, first_id, last_id)
    for campaign_id in found.finish:
        actors.finish_campaign.send(campaign_id)
    if found.plan or found.batches or found.unknown or found.reconcile:
        log.info(
            "sweep: %d plans, %d batches re-enqueued, %d lost claims marked unknown, "
            "%d campaigns to reconcile",
            len(found.plan), len(found.batches), found.unknown, len(found.reconcile),
        )  # fmt: skip
    return found
