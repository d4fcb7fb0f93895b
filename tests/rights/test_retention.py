"""Automatic forgetting (G2): the night after switching on, then monthly; idempotent; resumable."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from rights_support import SECRET, add_client
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import dispatcher.retention as retention
from db.access import Actor
from db.models import AccessLog, Client, RetentionRun, Salon, Visit
from dispatcher.retention import due_slot, retention_tick
from services.rights import set_retention

BERLIN = "Europe/Berlin"


def berlin(*args: int) -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime(*args, tzinfo=ZoneInfo(BERLIN)).astimezone(dt.UTC)


ENABLED = berlin(2025, 1, 30, 14, 0)


def test_nothing_is_due_before_the_following_night() -> None:
    assert due_slot(ENABLED, None, berlin(2025, 1, 30, 23, 59), BERLIN) is None
    assert due_slot(ENABLED, None, berlin(2025, 1, 31, 2, 59), BERLIN) is None


def test_the_first_run_is_the_following_night_at_3() -> None:
    assert due_slot(ENABLED, None, berlin(2025, 1, 31, 3, 0), BERLIN) == berlin(2025, 1, 31, 3, 0)
    # Switched on shortly after midnight: still the night after that day.
    early = berlin(2025, 1, 30, 0, 30)
    assert due_slot(early, None, berlin(2025, 1, 30, 3, 30), BERLIN) is None


def test_then_monthly_on_the_same_day_or_the_months_last() -> None:
    first = berlin(2025, 1, 31, 3, 0)
    assert due_slot(ENABLED, first, berlin(2025, 2, 27, 12, 0), BERLIN) is None
    assert due_slot(ENABLED, first, berlin(2025, 2, 28, 3, 5), BERLIN) == berlin(2025, 2, 28, 3, 0)
    february = berlin(2025, 2, 28, 3, 0)
    assert due_slot(ENABLED, february, berlin(2025, 3, 30, 12, 0), BERLIN) is None
    # Summer time began on March 30th; 03:00 is still 03:00 in Berlin.
    assert due_slot(ENABLED, february, berlin(2025, 3, 31, 3, 0), BERLIN) == berlin(2025, 3, 31, 3)


def test_missed_nights_collapse_into_the_latest() -> None:
    first = berlin(2025, 1, 31, 3, 0)
    assert due_slot(ENABLED, first, berlin(2025, 5, 2, 0, 0), BERLIN) == berlin(2025, 4, 30, 3, 0)


@pytest.fixture
def inactive_salon(session: Session, salon: Salon) -> Salon:
    """Switched on at ENABLED with 24 months; K1 inactive, K2 visited, K3 created recently."""
    old = add_client(session, salon, "K1", 1)
    visited = add_client(session, salon, "K2", 2)
    add_client(session, salon, "K3", 3, created_at=berlin(2024, 6, 1, 12, 0))
    add_client(session, salon, "K4", 4)  # a second inactive one
    for client, when in ((old, berlin(2022, 2, 1, 10)), (visited, berlin(2024, 12, 1, 10))):
        session.add(
            Visit(salon_id=salon.id, client_id=client.id, visited_at=when, amount=Decimal(30))
        )
    set_retention(session, Actor(salon.id), salon, 24, now=ENABLED)
    session.commit()
    return salon


def _forgotten(session: Session) -> list[str]:
    session.expire_all()
    return sorted(
        c.ref for c in session.scalars(select(Client).where(Client.anonymised_at.is_not(None)))
    )


def test_a_run_forgets_the_inactive_and_a_second_run_is_a_no_op(
    database_url: str, session: Session, inactive_salon: Salon
) -> None:
    night = berlin(2025, 1, 31, 3, 10)
    assert retention_tick(database_url, secret_key=SECRET, now=berlin(2025, 1, 31, 2, 0)) == []
    [report] = retention_tick(database_url, secret_key=SECRET, now=night)
    assert report.anonymised == 2
    forgotten = _forgotten(session)
    assert len(forgotten) == 2 and all(ref.startswith("forgotten-") for ref in forgotten)
    assert retention_tick(database_url, secret_key=SECRET, now=night) == []
    report = retention.run_retention(
        database_url, inactive_salon.id, berlin(2025, 1, 31, 3, 0), secret_key=SECRET
    )
    assert report is not None and report.already_done and report.anonymised == 2
    assert _forgotten(session) == forgotten
    logged = session.scalar(
        select(func.count()).select_from(AccessLog).where(AccessLog.actor == "retention")
    )
    assert logged == 2


def test_a_crashed_run_resumes_where_it_stopped(
    database_url: str,
    session: Session,
    inactive_salon: Salon,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    night = berlin(2025, 1, 31, 3, 0)
    real = retention.anonymise
    calls = {"n": 0}

    def crash_on_second(*args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("power cut")
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(retention, "anonymise", crash_on_second)
    with pytest.raises(RuntimeError):
        retention.run_retention(
            database_url, inactive_salon.id, night, secret_key=SECRET, chunk_size=1
        )
    run = session.scalars(select(RetentionRun)).one()
    assert (run.anonymised, run.finished_at) == (1, None)
    monkeypatch.setattr(retention, "anonymise", real)
    [report] = retention_tick(database_url, secret_key=SECRET, now=night + dt.timedelta(hours=1))
    assert report.anonymised == 2 and len(_forgotten(session)) == 2


def test_the_log_says_how_many_never_who(
    database_url: str, inactive_salon: Salon, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    retention_tick(database_url, secret_key=SECRET, now=berlin(2025, 1, 31, 3, 0))
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "2 clients anonymised" in messages
    assert "K1" not in messages and "Vorname" not in messages and "+49" not in messages
