"""The sending fast paths keep every safety rule.

A claim keeps its limit; a chunk's record (one statement) stores each row's values exactly; the
planning's gate verdict spares a batch its recheck only while it is fresh, and never over a
withdrawal stored after it; a forgotten client is never claimed; plain templates and unsubscribe
links come out exactly as Jinja and itsdangerous make them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from itsdangerous import Signer
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.consent import record_consent
from db.forget import anonymise
from db.models import Campaign, Client, Delivery, Salon, utcnow
from dispatcher import batch_run
from dispatcher.batch import Chunk, ChunkResult, _record, claim_chunk, record_chunk
from dispatcher.planning import Watermark, pending_batches
from templates.errors import TemplateRenderError
from templates.links import SALT, UnsubscribeToken, make_token, read_token
from templates.sandbox import environment, render
from tests.dispatcher.conftest import ScriptedProvider, make_runtime, planned_campaign, statuses


@pytest.fixture
def rechecks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The first id of every range the gate is run on again."""
    seen: list[int] = []
    original = batch_run.recheck_range

    def counted(session: Session, salon: Salon, campaign: Campaign, first_id: int,
                *args: Any, **kwargs: Any) -> Watermark:  # fmt: skip
        seen.append(first_id)
        return original(session, salon, campaign, first_id, *args, **kwargs)

    monkeypatch.setattr(batch_run, "recheck_range", counted)
    return seen


def _withdraw(session: Session, salon: Salon, client: Client, campaign: Campaign) -> None:
    record_consent(session, salon_id=salon.id, client_id=client.id, channel="sms",
                   action="withdrawn", source="link", campaign_id=campaign.id)  # fmt: skip
    session.commit()


def _planned_and_claimed(session: Session, salon: Salon, limit: int) -> tuple[Campaign, Chunk]:
    """A planned SMS campaign and one committed claim of up to `limit` of its deliveries."""
    campaign = planned_campaign(session, salon)
    first, last = next(pending_batches(session, campaign.id, 100))
    chunk = claim_chunk(session, salon, campaign, first, last, limit=limit, channels=["sms"],
                        now=utcnow(), watermark=Watermark.now(session))  # fmt: skip
    session.commit()
    return campaign, chunk


def test_a_claim_takes_no_more_than_its_limit(
    session: Session, salon: Salon, clients: list[Client]
) -> None:
    campaign, chunk = _planned_and_claimed(session, salon, limit=5)
    assert len(chunk.rows) == 5
    assert statuses(session, campaign.id) == {"sending": 5, "pending": 7}


def test_a_chunk_record_stores_each_row_exactly(
    session: Session, salon: Salon, clients: list[Client]
) -> None:
    campaign, chunk = _planned_and_claimed(session, salon, limit=3)
    sent, waiting, failed = chunk.rows
    at = dt.datetime(2026, 3, 29, 0, 59, 59, 123456, tzinfo=dt.UTC)
    later = at.astimezone(dt.timezone(dt.timedelta(hours=2))) + dt.timedelta(minutes=5)
    result = ChunkResult(records=[
        _record(sent, "sent", provider_id='SM"1\\', body="Grüße 💇 \"ok\"\n", sent_at=at),
        _record(waiting, "pending", error_code="transient", error="503",
                next_attempt_at=later),
        _record(failed, "failed", error_code="21610", error="x" * 900),
    ], handed_off={sent.id, waiting.id, failed.id})  # fmt: skip
    record_chunk(session, salon.id, chunk, result)
    session.commit()
    rows = {
        d.id: d for d in session.scalars(select(Delivery).where(Delivery.id.in_(result.handed_off)))
    }
    assert (rows[sent.id].status, rows[sent.id].provider_id, rows[sent.id].body) == (
        "sent",
        'SM"1\\',
        'Grüße 💇 "ok"\n',
    )
    assert rows[sent.id].sent_at == at and rows[sent.id].attempts == sent.attempts + 1
    assert rows[waiting.id].status == "pending" and rows[waiting.id].next_attempt_at == later
    assert (rows[failed.id].status, rows[failed.id].error) == ("failed", "x" * 500)
    assert statuses(session, campaign.id) == {"sent": 1, "pending": 10, "failed": 1}


def test_a_fresh_planning_spares_the_recheck_but_not_a_later_withdrawal(
    session: Session, database_url: str, salon: Salon, clients: list[Client], rechecks: list[int]
) -> None:
    provider = ScriptedProvider()
    runtime = make_runtime(database_url, provider, batch_size=100)
    campaign = planned_campaign(session, salon)
    planned = Watermark.now(session)  # nothing stored since the snapshot
    _withdraw(session, salon, clients[0], campaign)
    first, last = next(pending_batches(session, campaign.id, 100))

    outcome = batch_run.run_batch(runtime, campaign.id, first, last, planned=planned)
    assert rechecks == [] and outcome.sent == 11
    assert statuses(session, campaign.id) == {"sent": 11, "pending": 1}
    assert outcome.again_in == 0.0  # the held-back client comes back at once ...

    batch_run.run_batch(runtime, campaign.id, first, last)  # ... and the gate refuses it
    assert rechecks == [first]
    assert statuses(session, campaign.id) == {"sent": 11, "skipped": 1}
    assert len(provider.keys()) == 11


def test_a_stale_planning_verdict_is_checked_again(
    session: Session, database_url: str, salon: Salon, clients: list[Client], rechecks: list[int]
) -> None:
    runtime = make_runtime(database_url, ScriptedProvider(), batch_size=100)
    campaign = planned_campaign(session, salon)
    planned = Watermark.now(session)
    _withdraw(session, salon, clients[0], campaign)
    session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id)
        .values(planned_at=utcnow() - dt.timedelta(minutes=5))
    )
    session.commit()
    first, last = next(pending_batches(session, campaign.id, 100))
    batch_run.run_batch(runtime, campaign.id, first, last, planned=planned, max_seconds=60)
    assert rechecks == [first]
    assert statuses(session, campaign.id) == {"sent": 11, "skipped": 1}


def test_a_forgotten_client_is_never_claimed(
    session: Session, salon: Salon, clients: list[Client]
) -> None:
    campaign = planned_campaign(session, salon)
    planned = Watermark.now(session)
    anonymise(session, clients[0], secret_key=None)
    session.commit()
    first, last = next(pending_batches(session, campaign.id, 100))
    chunk = claim_chunk(session, salon, campaign, first, last, limit=100, channels=["sms"],
                        now=utcnow(), watermark=planned)  # fmt: skip
    session.commit()
    assert clients[0].id not in {row.client_id for row in chunk.rows} and len(chunk.rows) == 11


@pytest.mark.parametrize("html", [False, True])
def test_a_plain_template_renders_as_jinja_renders_it(html: bool) -> None:
    source = "Hallo {{ first_name }}, <b>{{ salon_name }}</b>: {{ unsubscribe_url }}\n"
    context = {"first_name": '<Anna & "Bo">', "salon_name": "Kamm & Schere",
               "unsubscribe_url": "https://salon.example/u/1-2-s-3~x"}  # fmt: skip
    jinja = environment(html=html).from_string(source).render(context)
    assert render(source, context, html=html) == jinja


def test_a_plain_template_with_an_unknown_placeholder_still_fails() -> None:
    with pytest.raises(TemplateRenderError) as failed:
        render("Hallo {{ nickname }}", {"first_name": "Anna"}, html=False)
    assert failed.value.code == "unknown_placeholder"


def test_a_link_token_is_what_itsdangerous_signs_and_reads_back() -> None:
    token = UnsubscribeToken(salon_id=7, client_id=123_456, channel="email", campaign_id=42)
    made = make_token(token, secret_key="s" * 40)
    payload = made.rsplit("~", 1)[0]
    assert Signer("s" * 40, salt=SALT, sep="~").sign(payload).decode() == made
    assert read_token(made, secret_key="s" * 40) == token


@pytest.mark.services
def test_the_planner_knows_a_fresh_snapshot_without_autovacuum(pg_url: str) -> None:
    """Autovacuum off: planning analyses the snapshot it wrote, so the claims of a campaign's
    first batches are planned for its real size, not for the few rows of before."""
    from sqlalchemy import text

    from db.session import get_engine, session_factory
    from tests.dispatcher.conftest import add_clients

    with get_engine(pg_url).begin() as conn:
        conn.execute(text("ALTER TABLE delivery SET (autovacuum_enabled = false)"))
    session = session_factory(pg_url)()
    try:
        salon = Salon(slug="neu", name="Salon Neu", gate_on=dt.date(2024, 1, 1))
        session.add(salon)
        session.commit()
        add_clients(session, salon, 3000)
        campaign = planned_campaign(session, salon)
        estimate = session.execute(
            text("EXPLAIN (FORMAT JSON) SELECT * FROM delivery WHERE campaign_id = :c "
                 "AND status = 'pending'"), {"c": campaign.id}
        ).scalar_one()[0]["Plan"]["Plan Rows"]  # fmt: skip
        assert 1500 <= estimate <= 6000
    finally:
        session.rollback()
        session.close()
