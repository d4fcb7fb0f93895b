"""The Dramatiq actors: plan a campaign, send a batch, finish a campaign.

Actors take ids only and are safe to run twice: the database (claims and unique constraints)
decides what has been done, not the queue, which may deliver a message more than once.
"""

from __future__ import annotations

import logging

import dramatiq
from sqlalchemy import func, select, update

from channels.errors import TransientDeliveryError
from db.models import Campaign, Delivery, utcnow
from db.session import session_scope
from dispatcher.broker import register
from dispatcher.planning import pending_batches, plan
from dispatcher.runtime import get_runtime
from dispatcher.sending import claim, send_claimed, store_result

log = logging.getLogger("salonpost.dispatcher")

OPEN_STATES = ("pending", "sending")


def _retry_transient(retries: int, exc: Exception) -> bool:
    # Only transient provider errors are worth another try; anything else is a bug to look at.
    return isinstance(exc, TransientDeliveryError) and retries < 10


@register
@dramatiq.actor(queue_name="campaigns", max_retries=5, min_backoff=1_000)
def plan_campaign(campaign_id: int) -> None:
    runtime = get_runtime()
    with session_scope(runtime.database_url) as session:
        planned = plan(session, campaign_id)
    with session_scope(runtime.database_url) as session:
        status = session.scalar(select(Campaign.status).where(Campaign.id == campaign_id))
        if status != "sending":
            return
        batches = list(pending_batches(session, campaign_id, runtime.batch_size))
    log.info("campaign %s: planned=%s, %d batches", campaign_id, planned, len(batches))
    for first_id, last_id in batches:
        send_batch.send(campaign_id, first_id, last_id)
    finish_campaign.send(campaign_id)


@register
@dramatiq.actor(
    queue_name="sends", retry_when=_retry_transient, min_backoff=2_000, max_backoff=300_000
)
def send_batch(campaign_id: int, first_id: int, last_id: int) -> None:
    runtime = get_runtime()
    with session_scope(runtime.database_url) as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None or campaign.status != "sending":
            return  # paused or cancelled: deliveries stay pending
        from db.models import Salon

        salon = session.get_one(Salon, campaign.salon_id)
        claimed = claim(session, salon, campaign, first_id, last_id)
    if claimed:
        with session_scope(runtime.database_url) as session:
            campaign = session.get_one(Campaign, campaign_id)
            result = send_claimed(session, runtime, campaign, claimed)
            store_result(session, campaign.salon_id, result)
        if result.retry:
            raise TransientDeliveryError(
                f"{result.retry} deliveries of campaign {campaign_id} will be retried",
                retry_after=result.retry_after,
            )
    finish_campaign.send(campaign_id)


@register
@dramatiq.actor(queue_name="campaigns", max_retries=3)
def finish_campaign(campaign_id: int) -> None:
    """Mark a sending campaign done once no delivery is open any more."""
    runtime = get_runtime()
    with session_scope(runtime.database_url) as session:
        still_open = session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.campaign_id == campaign_id, Delivery.status.in_(OPEN_STATES))
        )
        if still_open:
            return
        session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id, Campaign.status == "sending")
            .values(status="done", finished_at=utcnow())
        )
