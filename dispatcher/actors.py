"""The Dramatiq actors: plan a campaign, send a batch, reconcile, finish a campaign.

Actors take ids only and are safe to run twice: the database (claims and unique constraints)
decides what has been done, not the queue, which may deliver a message more than once or lose
it (the sweep re-enqueues what PostgreSQL says is still pending).

This module is the worker entry (``dramatiq dispatcher.actors``): it installs the process's
broker from the settings before declaring the actors, the one place outside the edges that reads
them (with :func:`dispatcher.runtime.get_runtime`). Retries are the broker's policy
(:mod:`dispatcher.broker`), the same for every actor.
"""

from __future__ import annotations

import logging

import dramatiq
from sqlalchemy import exists, select, update

from db.models import Campaign, Delivery, utcnow
from db.session import session_scope
from db.states import OPEN_DELIVERY, CampaignStatus
from dispatcher.batch_run import run_batch
from dispatcher.broker import install
from dispatcher.planning import Watermark, pending_batches, plan
from dispatcher.reconcile import reconcile
from dispatcher.runtime import get_runtime
from settings import get_settings

log = logging.getLogger("salonpost.dispatcher")

broker = install(get_settings().redis_url)


@dramatiq.actor(queue_name="campaigns")
def plan_campaign(campaign_id: int) -> None:
    """Plan a queued campaign, then enqueue the batches of every pending delivery."""
    runtime = get_runtime()
    with session_scope(runtime.database_url) as session:
        planned = plan(session, campaign_id)
    enqueue_batches(campaign_id, planned=planned)
    log.info("campaign %s: planned=%s", campaign_id, planned is not None)


def enqueue_batches(
    campaign_id: int, *, due_only: bool = False, planned: Watermark | None = None
) -> int:
    """One ``send_batch`` per range of pending deliveries of a sending campaign; `planned`:
    the gate's watermark of the snapshot just written, which spares a fresh batch its recheck."""
    runtime = get_runtime()
    with session_scope(runtime.database_url) as session:
        status = session.scalar(select(Campaign.status).where(Campaign.id == campaign_id))
        if status != CampaignStatus.SENDING:
            return 0
        due_by = utcnow() if due_only else None
        batches = list(pending_batches(session, campaign_id, runtime.batch_size, due_by=due_by))
    mark = [planned.consent_id, planned.suppression_id] if planned else None
    for first_id, last_id in batches:
        send_batch.send(campaign_id, first_id, last_id, mark)
    finish_campaign.send(campaign_id)
    return len(batches)


@dramatiq.actor(queue_name="sends", time_limit=15 * 60_000)
def send_batch(
    campaign_id: int, first_id: int, last_id: int, planned: list[int] | None = None
) -> None:
    runtime = get_runtime()
    mark = Watermark(*planned) if planned else None
    outcome = run_batch(runtime, campaign_id, first_id, last_id, planned=mark)
    if outcome.again_in is not None:
        # Retries due later, quiet hours or pacing: this batch comes back by itself.
        delay = int(outcome.again_in * 1000)
        send_batch.send_with_options(args=(campaign_id, first_id, last_id), delay=delay)
    elif outcome.stopped is None:
        finish_campaign.send(campaign_id)


@dramatiq.actor(queue_name="campaigns")
def reconcile_campaign(campaign_id: int) -> None:
    """Settle the campaign's unknown deliveries with the provider; re-send what it never got."""
    runtime = get_runtime()
    with session_scope(runtime.database_url) as session:
        done = reconcile(session, runtime, campaign_id)
    if done.sent or done.requeued or done.undecided:
        log.info(
            "campaign %s reconciled: %d sent, %d to send again, %d for an operator",
            campaign_id, done.sent, done.requeued, done.undecided,
        )  # fmt: skip
    if done.requeued:
        enqueue_batches(campaign_id)
    else:
        finish_campaign.send(campaign_id)


@dramatiq.actor(queue_name="campaigns")
def finish_campaign(campaign_id: int) -> None:
    """Mark a sending campaign done once no delivery is open (pending, sending or unknown)."""
    runtime = get_runtime()
    with session_scope(runtime.database_url) as session:
        # Asked after every batch: whether one delivery is open, not how many (a count reads
        # the campaign's whole open set each time).
        still_open = session.scalar(
            select(
                exists().where(
                    Delivery.campaign_id == campaign_id, Delivery.status.in_(OPEN_DELIVERY)
                )
            )
        )
        if still_open:
            return
        session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id, Campaign.status == CampaignStatus.SENDING)
            .values(status=CampaignStatus.DONE, finished_at=utcnow())
        )
