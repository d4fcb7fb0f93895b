"""Transient failures wait and retry, permanent ones suppress; operators pause, resume, cancel."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.base import Message
from channels.errors import ConfigurationError, PermanentDeliveryError, TransientDeliveryError
from db.models import Campaign, Client, Delivery, Salon, Suppression, utcnow
from dispatcher import control
from dispatcher.batch_run import run_batch
from dispatcher.pacing import quiet_until
from dispatcher.planning import pending_batches
from dispatcher.runtime import RetryPolicy
from tests.dispatcher.conftest import ScriptedProvider, make_runtime, planned_campaign, statuses


def _run_all(session: Session, runtime, campaign_id: int) -> list:
    return [run_batch(runtime, campaign_id, *r) for r in pending_batches(session, campaign_id, 100)]


def test_a_5xx_waits_with_backoff_then_fails_as_transient_and_retry_failed_sends_it(
    session: Session, database_url: str, salon: Salon, clients: list[Client]
) -> None:
    provider = ScriptedProvider()

    def refuse_k1(message: Message) -> None:
        if message.to.endswith("00000001"):
            raise TransientDeliveryError("503")

    provider.script = refuse_k1
    runtime = make_runtime(
        database_url,
        provider,
        # Backoffs of seconds, not milliseconds: a loaded CI machine must not eat the first one.
        retry=RetryPolicy(min_backoff_ms=1000, max_backoff_ms=2000, max_attempts=3),
    )
    campaign = planned_campaign(session, salon)
    outcome = _run_all(session, runtime, campaign.id)[0]
    assert outcome.again_in is not None and 0.5 < outcome.again_in <= 1.0
    waiting = session.scalar(select(Delivery).where(Delivery.status == "pending"))
    assert waiting is not None and waiting.next_attempt_at > utcnow()
    while outcome.again_in is not None:  # attempts 2 and 3, each after its backoff
        time.sleep(outcome.again_in)
        outcome = _run_all(session, runtime, campaign.id)[0]
    assert statuses(session, campaign.id) == {"sent": 11, "failed": 1}
    failed = session.scalar(select(Delivery).where(Delivery.status == "failed"))
    assert failed is not None and (failed.error_code, failed.attempts) == ("transient", 3)

    provider.script = lambda message: None  # the provider is back
    assert control.retry_failed(session, campaign.id) == 1
    session.commit()
    _run_all(session, runtime, campaign.id)
    assert statuses(session, campaign.id) == {"sent": 12}
    assert len(provider.keys()) == len(set(provider.keys())) == 12


def test_a_429_holds_the_chunk_and_honours_retry_after(
    session: Session, database_url: str, salon: Salon, clients: list[Client]
) -> None:
    provider = ScriptedProvider()

    def throttle(message: Message) -> None:
        raise TransientDeliveryError("429", retry_after=30)

    provider.script = throttle
    runtime = make_runtime(database_url, provider)
    campaign = planned_campaign(session, salon)
    outcome = _run_all(session, runtime, campaign.id)[0]
    assert outcome.stopped == "throttled" and provider.calls == 1
    assert 29 <= outcome.again_in <= 30
    assert statuses(session, campaign.id) == {"pending": 12}


def test_a_refused_number_is_suppressed_and_many_early_refusals_pause_the_campaign(
    session: Session, database_url: str, salon: Salon, clients: list[Client]
) -> None:
    provider = ScriptedProvider()

    def unsubscribed(message: Message) -> None:
        if int(message.to[-2:]) % 2:
            raise PermanentDeliveryError("STOP", code="21610", suppress=True)

    provider.script = unsubscribed
    runtime = make_runtime(database_url, provider, batch_size=100, claim_chunk=12)
    more = [c for c in clients]  # 12 clients: 6 refused, too few to judge
    campaign = planned_campaign(session, salon)
    _run_all(session, runtime, campaign.id)
    assert statuses(session, campaign.id) == {"sent": 6, "failed": 6}
    suppressed = session.scalars(select(Suppression.address)).all()
    assert len(suppressed) == 6 and all(int(a[-2:]) % 2 for a in suppressed)
    session.expire_all()
    assert session.get_one(Campaign, campaign.id).status == "sending"
    assert more

    from tests.dispatcher.conftest import add_clients

    session.execute(Delivery.__table__.delete())
    session.execute(Suppression.__table__.delete())
    session.commit()
    add_clients_extra = add_clients
    for client in session.scalars(select(Client)):
        client.ref = f"old-{client.id}"
    session.commit()
    add_clients_extra(session, salon, 30)
    second = planned_campaign(session, salon)
    _run_all(session, make_runtime(database_url, provider, claim_chunk=10), second.id)
    session.expire_all()
    paused = session.get_one(Campaign, second.id)
    assert paused.status == "paused" and paused.pause_reason.startswith("auto: ")
    assert statuses(session, second.id)["pending"] > 0


def test_a_misconfigured_sender_pauses_the_campaign_and_loses_nothing(
    session: Session, database_url: str, salon: Salon, clients: list[Client]
) -> None:
    provider = ScriptedProvider()

    def misconfigured(message: Message) -> None:
        raise ConfigurationError("Twilio 401")

    provider.script = misconfigured
    runtime = make_runtime(database_url, provider)
    campaign = planned_campaign(session, salon)
    _run_all(session, runtime, campaign.id)
    session.expire_all()
    assert session.get_one(Campaign, campaign.id).pause_reason == "auto: configuration: Twilio 401"
    assert statuses(session, campaign.id) == {"pending": 12}

    provider.script = lambda message: None
    control.resume(session, campaign.id)
    session.commit()
    _run_all(session, runtime, campaign.id)
    assert statuses(session, campaign.id) == {"sent": 12}


def test_pause_stops_claims_resume_continues_cancel_ends_the_rest(
    session: Session, database_url: str, salon: Salon, clients: list[Client]
) -> None:
    provider = ScriptedProvider()
    runtime = make_runtime(database_url, provider, claim_chunk=4)
    campaign = planned_campaign(session, salon)
    control.pause(session, campaign.id)
    session.commit()
    assert _run_all(session, runtime, campaign.id)[0].stopped == "paused"
    assert provider.calls == 0

    control.resume(session, campaign.id)
    session.commit()

    def pause_after_first(message: Message) -> None:
        if provider.calls == 1:
            with session.get_bind().connect() as conn:
                conn.execute(Campaign.__table__.update().values(status="paused"))
                conn.commit()

    provider.script = pause_after_first
    _run_all(session, runtime, campaign.id)
    assert statuses(session, campaign.id) == {"sent": 4, "pending": 8}  # the chunk in flight

    assert control.cancel(session, campaign.id) == 8
    session.commit()
    assert statuses(session, campaign.id) == {"sent": 4, "cancelled": 8}
    with pytest.raises(control.ControlError):
        control.resume(session, campaign.id)


def test_progress_reports_done_open_rate_and_eta(
    session: Session, database_url: str, salon: Salon, clients: list[Client]
) -> None:
    provider = ScriptedProvider()
    campaign = planned_campaign(session, salon)
    first, last = next(pending_batches(session, campaign.id, 6))
    run_batch(make_runtime(database_url, provider), campaign.id, first, last)
    session.expire_all()
    report = control.progress(session, session.get_one(Campaign, campaign.id))
    assert (report["total"], report["done"], report["open"], report["percent"]) == (12, 6, 6, 50.0)
    assert report["rate_per_second"] > 0 and report["eta_seconds"] is not None


def test_quiet_hours_span_midnight_in_salon_time() -> None:
    berlin = dict(timezone="Europe/Berlin", quiet_start="20:00", quiet_end="08:00")
    evening = dt.datetime(2026, 1, 15, 19, 30, tzinfo=dt.UTC)  # 20:30 in Berlin
    assert quiet_until(evening, **berlin) == dt.datetime(2026, 1, 16, 7, 0, tzinfo=dt.UTC)
    early = dt.datetime(2026, 1, 16, 5, 0, tzinfo=dt.UTC)  # 06:00 in Berlin
    assert quiet_until(early, **berlin) == dt.datetime(2026, 1, 16, 7, 0, tzinfo=dt.UTC)
    assert quiet_until(dt.datetime(2026, 1, 16, 12, 0, tzinfo=dt.UTC), **berlin) is None
    assert (
        quiet_until(evening, timezone="Europe/Berlin", quiet_start="0:00", quiet_end="0:00") is None
    )


def test_marketing_sms_wait_for_the_end_of_quiet_hours_email_goes(
    session: Session, database_url: str, salon: Salon, clients: list[Client]
) -> None:
    salon.quiet_start, salon.quiet_end = "00:00", "23:59"  # quiet almost all day
    session.commit()
    provider = ScriptedProvider()
    runtime = make_runtime(database_url, provider, quiet_hours=True)
    campaign = planned_campaign(session, salon, email=True)
    outcomes = [
        run_batch(runtime, campaign.id, *r) for r in pending_batches(session, campaign.id, 100)
    ]
    assert {m.channel for m in provider.accepted} == {"email"}
    assert statuses(session, campaign.id) == {"sent": 12, "pending": 12}
    assert outcomes[0].again_in is not None and outcomes[0].again_in > 60
    waiting = session.scalars(select(Delivery.next_attempt_at).where(Delivery.status == "pending"))
    assert len(set(waiting)) == 1
