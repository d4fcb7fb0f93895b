"""Fixtures for client rights: staff with PINs, clients with history, the CLI in-process."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from rights_support import PEPPER, PIN, SECRET, UTC, add_client
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from db.access import Actor
from db.consent import record_consent
from db.models import Campaign, Client, Delivery, Salon, Staff, Suppression, Visit
from services.staff import add_staff
from settings import get_settings


@pytest.fixture
def staff(session: Session, salon: Salon) -> Staff:
    member = add_staff(session, salon, "Mia", PIN, pepper=PEPPER)
    session.commit()
    return member


@pytest.fixture
def mia(staff: Staff) -> Actor:
    return Actor(salon_id=staff.salon_id, staff_id=staff.id, name=staff.name)


@pytest.fixture
def history(session: Session, salon: Salon) -> dict[str, Client]:
    """Two clients with visits, consent, a campaign with deliveries and a suppression."""
    anna = add_client(session, salon, "K1", 1)
    ben = add_client(session, salon, "K2", 2)
    campaign = Campaign(salon_id=salon.id, name="Herbst", sms_body="x", status="done")
    session.add(campaign)
    session.flush()
    for n, client in enumerate((anna, ben), start=1):
        for days in (40, 400):
            session.add(
                Visit(
                    salon_id=salon.id,
                    client_id=client.id,
                    visited_at=dt.datetime(2024, 6, 1, tzinfo=UTC) - dt.timedelta(days=days),
                    amount=Decimal("45.50") * n,
                )
            )
        record_consent(
            session, salon_id=salon.id, client_id=client.id, channel="sms", action="granted",
            source="form", evidence=f"Formular {client.ref}",
        )  # fmt: skip
        session.add(
            Delivery(
                salon_id=salon.id, campaign_id=campaign.id, client_id=client.id, channel="sms",
                address=client.phone_e164, status="sent" if n == 1 else "failed",
                body=f"Hallo {client.first_name}", provider_id=f"SM{n}",
            )
        )  # fmt: skip
    session.add(
        Suppression(salon_id=salon.id, channel="sms", address=anna.phone_e164, reason="21610")
    )
    session.commit()
    return {"anna": anna, "ben": ben}


@pytest.fixture
def cli(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """``salonpost`` in this process (so caplog sees its logs), on the test database."""
    for name, value in {
        "SALONPOST_DATABASE_URL": database_url,
        "SALONPOST_SECRET_KEY": SECRET,
        "SALONPOST_PIN_PEPPER": PEPPER,
        "SALONPOST_OUTBOX_DIR": str(tmp_path / "outbox"),
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("SALONPOST_REDIS_URL", "SALONPOST_STAFF", "SALONPOST_STAFF_PIN"):
        monkeypatch.delenv(name, raising=False)
    from dispatcher.runtime import configure

    get_settings.cache_clear()
    configure(None)
    yield CliRunner()
    get_settings.cache_clear()
    configure(None)
