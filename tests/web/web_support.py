"""Helpers shared by the web tests (importable: tests/web is on sys.path, it has no package)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.consent import record_consent
from db.models import Client, ConsentEvent, Salon, Visit, utcnow
from db.session import session_factory

SECRET = "web-test-secret"
AUTH_TOKEN = "twilio-test-auth-token"
BASE_URL = "https://salonpost.example.com"
PHONE = "+4917611111111"


def add_client(session: Session, salon: Salon, ref: str, **fields: object) -> Client:
    """A client who passes the gate for SMS and email (a recent purchase, explicit consent)."""
    values: dict[str, object] = {
        "first_name": ref,
        "phone": PHONE,
        "phone_e164": PHONE,
        "email": f"{ref.lower()}@example.com",
        "email_normalized": f"{ref.lower()}@example.com",
        "created_at": dt.datetime(2023, 1, 1, tzinfo=dt.UTC),
    }
    values.update(fields)
    client = Client(salon_id=salon.id, ref=ref, **values)
    session.add(client)
    session.flush()
    session.add(
        Visit(
            salon_id=salon.id,
            client_id=client.id,
            visited_at=utcnow() - dt.timedelta(days=30),
            amount=Decimal("40.00"),
            source="pos",
        )
    )
    for channel in ("sms", "email"):
        record_consent(
            session,
            salon_id=salon.id,
            client_id=client.id,
            channel=channel,
            action="granted",
            source="form",
            at=utcnow() - dt.timedelta(days=60),
        )
    session.commit()
    return client


def events(database_url: str, client_id: int) -> list[tuple[str, str, str, str]]:
    """(channel, party, action, source) of a client's consent log, oldest first."""
    with session_factory(database_url)() as s:
        rows = s.execute(
            select(
                ConsentEvent.channel, ConsentEvent.party, ConsentEvent.action, ConsentEvent.source
            )
            .where(ConsentEvent.client_id == client_id)
            .order_by(ConsentEvent.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def withdrawals(database_url: str, client_id: int) -> list[tuple[str, str, str, str]]:
    return [e for e in events(database_url, client_id) if e[2] == "withdrawn"]
