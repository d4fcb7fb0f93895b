"""A worker may die at any instant: claims in doubt become unknown and the provider settles them."""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.models import Campaign, Client, Delivery, Salon, utcnow
from dispatcher.batch import claim_chunk, hand_off, record_chunk
from dispatcher.batch_run import run_batch
from dispatcher.planning import pending_batches
from dispatcher.reconcile import reconcile, settle_claims
from dispatcher.runtime import configure
from dispatcher.sweep import find_stalled
from tests.dispatcher.conftest import ScriptedProvider, make_runtime, planned_campaign, statuses


def _drain(session: Session, runtime, campaign_id: int, rounds: int = 50) -> None:
    for _ in range(rounds):
        ranges = list(pending_batches(session, campaign_id, runtime.batch_size))
        if not ranges:
            return
        waits = [run_batch(runtime, campaign_id, *r).again_in for r in ranges]
        time.sleep(min([w for w in waits if w is not None] or [0.0]))


def test_batches_are_planned_as_id_ranges_in_the_database(
    session: Session, salon: Salon, clients: list[Client], provider: ScriptedProvider
) -> None:
    campaign = planned_campaign(session, salon)
    ranges = list(pending_batches(session, campaign.id, 5))
    ids = session.scalars(select(Delivery.id).order_by(Delivery.id)).all()
    assert ranges == [(ids[0], ids[4]), (ids[5], ids[9]), (ids[10], ids[11])]


def test_a_campaign_is_sent_once_in_chunks(
    session: Session, database_url: str, salon: Salon, clients: list[Client]
) -> None:
    provider = ScriptedProvider()
    runtime = make_runtime(database_url, provider)
    campaign = planned_campaign(session, salon, email=True)
    _drain(session, runtime, campaign.id)
    assert statuses(session, campaign.id) == {"sent": 24}
    assert len(provider.keys()) == len(set(provider.keys())) == 24
    attempts = set(session.scalars(select(Delivery.attempts)))
    assert attempts == {1}


def test_a_worker_dead_after_the_provider_accepted_leaves_unknown_then_reconciled(
    session: Session, database_url: str, salon: Salon, clients: list[Client]
) -> None:
    provider = ScriptedProvider()
    # A lease long enough that a loaded CI machine still hands off within its first half.
    runtime = make_runtime(database_url, provider, claim_timeout=2.0)
    campaign = planned_campaign(session, salon)
    first, last = next(pending_batches(session, campaign.id, 100))
    # The worker claims a chunk of 4, hands off 2 ... and dies: nothing is recorded.
    chunk = claim_chunk(
        session, salon, campaign, first, last, limit=4, channels=["sms"], now=utcnow()
    )
    session.commit()
    chunk.rows = chunk.rows[:2]
    hand_off(runtime, salon, campaign, chunk, deadline=time.monotonic() + 10)
    assert statuses(session, campaign.id) == {"sending": 4, "pending": 8}

    time.sleep(2.1)  # the claim lease passes
    assert settle_claims(session, lease=dt.timedelta(seconds=2)) == 4
    session.commit()
    settled = reconcile(session, runtime, campaign.id)
    session.commit()
    assert (settled.sent, settled.requeued) == (2, 2)
    assert statuses(session, campaign.id) == {"sent": 2, "pending": 10}

    _drain(session, runtime, campaign.id)
    assert statuses(session, campaign.id) == {"sent": 12}
    assert len(provider.keys()) == len(set(provider.keys())) == 12


def test_a_presumed_dead_worker_cannot_overwrite_what_was_decided_after_it(
    session: Session, database_url: str, salon: Salon, clients: list[Client]
) -> None:
    provider = ScriptedProvider()
    runtime = make_runtime(database_url, provider, claim_timeout=0.2)
    campaign = planned_campaign(session, salon)
    first, last = next(pending_batches(session, campaign.id, 100))
    chunk = claim_chunk(
        session, salon, campaign, first, last, limit=4, channels=["sms"], now=utcnow()
    )
    session.commit()
    result = hand_off(runtime, salon, campaign, chunk, deadline=time.monotonic() + 10)
    settle_claims(session, lease=dt.timedelta(0))  # the sweep gave up on the worker ...
    session.execute(update(Delivery).where(Delivery.status == "unknown").values(status="failed"))
    session.commit()
    record_chunk(session, salon.id, chunk, result)  # ... which comes back late
    session.commit()
    assert statuses(session, campaign.id) == {"failed": 4, "pending": 8}


def test_a_worker_never_hands_off_after_half_its_lease(
    session: Session, database_url: str, salon: Salon, clients: list[Client]
) -> None:
    provider = ScriptedProvider()
    # Half the lease is 1.0 s; each hand-off takes 0.6 s: two fit, a third would start after
    # the half (0.4 s of slack for a loaded machine between the claim and the first hand-off).
    provider.script = lambda message: time.sleep(0.6)
    runtime = make_runtime(database_url, provider, claim_timeout=2.0)
    campaign = planned_campaign(session, salon)
    first, last = next(pending_batches(session, campaign.id, 100))
    chunk = claim_chunk(
        session, salon, campaign, first, last, limit=4, channels=["sms"], now=utcnow()
    )
    session.commit()
    result = hand_off(runtime, salon, campaign, chunk, deadline=time.monotonic() + 10)
    assert result.stopped == "lease" and provider.calls == 2
    record_chunk(session, salon.id, chunk, result)
    session.commit()
    assert statuses(session, campaign.id) == {"sent": 2, "pending": 10}


def test_the_sweep_marks_lost_claims_and_asks_for_reconciliation_and_batches(
    session: Session, database_url: str, salon: Salon, clients: list[Client]
) -> None:
    configure(make_runtime(database_url, ScriptedProvider()))
    campaign = planned_campaign(session, salon)
    session.execute(
        update(Delivery)
        .where(Delivery.id == session.scalar(select(Delivery.id).limit(1)))
        .values(status="sending", claimed_at=utcnow() - dt.timedelta(minutes=10))
    )
    session.execute(update(Delivery).values(updated_at=utcnow() - dt.timedelta(minutes=10)))
    session.execute(update(Campaign).values(queued_at=utcnow() - dt.timedelta(minutes=10)))
    session.commit()
    found = find_stalled(
        session, batch_size=5, stale_after=dt.timedelta(minutes=1), lease=dt.timedelta(minutes=5)
    )
    assert found.unknown == 1 and found.reconcile == [campaign.id]
    assert len(found.batches) == 3 and found.finish == [campaign.id]
    configure(None)


def test_a_withdrawal_stored_after_the_recheck_still_stops_the_claim(
    session: Session, database_url: str, salon: Salon, clients: list[Client]
) -> None:
    from db.consent import record_consent
    from dispatcher.batch import recheck_range

    campaign = planned_campaign(session, salon)
    first, last = next(pending_batches(session, campaign.id, 100))
    watermark = recheck_range(session, salon, campaign, first, last, channels=["sms"], now=utcnow())
    session.commit()
    record_consent(session, salon_id=salon.id, client_id=clients[0].id, channel="sms",
                   action="withdrawn", source="link", campaign_id=campaign.id)  # fmt: skip
    session.commit()
    chunk = claim_chunk(session, salon, campaign, first, last, limit=100, channels=["sms"],
                        now=utcnow(), watermark=watermark)  # fmt: skip
    session.commit()
    assert clients[0].id not in {row.client_id for row in chunk.rows} and len(chunk.rows) == 11
    # The next pass rechecks and skips the client with the rule.
    recheck_range(session, salon, campaign, first, last, channels=["sms"], now=utcnow())
    session.commit()
    assert statuses(session, campaign.id) == {"sending": 11, "skipped": 1}


def test_the_sweep_leaves_service_messages_to_their_sender(
    session: Session, database_url: str, salon: Salon, clients: list[Client]
) -> None:
    """A reminder stuck in 'pending' must never go through the marketing batch path."""
    campaign = planned_campaign(session, salon)
    session.execute(
        update(Campaign).values(kind="transactional", queued_at=utcnow() - dt.timedelta(hours=1))
    )
    session.execute(update(Delivery).values(updated_at=utcnow() - dt.timedelta(hours=1)))
    session.commit()
    found = find_stalled(session, batch_size=5, stale_after=dt.timedelta(minutes=1))
    assert (found.plan, found.batches, found.finish) == ([], [], [])
    assert campaign.id
