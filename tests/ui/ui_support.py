"""Helpers for the staff UI tests (importable: tests/ui is on sys.path, it has no package)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.consent import record_consent
from db.models import AccessLog, Client, Salon, Visit, utcnow
from db.session import session_factory
from db.staff import add_staff

SECRET = "ui-test-secret"
PEPPER = "ui-test-pepper-long-enough"
BASE_URL = "https://salonpost.example.com"
OPS_TOKEN = "ops-test-token"
PIN = "4711"

GOOD_SMS = (
    "Hallo {{ first_name }}, 20% auf alles bei {{ salon_name }}! Abmelden: {{ unsubscribe_url }}"
)
NO_LINK_SMS = "Hallo {{ first_name }}, 20% auf alles bei {{ salon_name }}!"


def make_salon(session: Session, slug: str, name: str, staff: str) -> Salon:
    salon = Salon(slug=slug, name=name, gate_on=dt.date(2024, 1, 1), timezone="Europe/Berlin")
    session.add(salon)
    session.flush()
    add_staff(session, salon, staff, PIN, pepper=PEPPER)
    session.commit()
    return salon


def add_client(
    session: Session, salon: Salon, ref: str, *, phone: str, consent: bool = True, **fields: object
) -> Client:
    """A client with a purchase 30 days ago; with consent on both channels unless told not."""
    client = Client(
        salon_id=salon.id,
        ref=ref,
        first_name=ref,
        phone=phone,
        phone_e164=phone,
        email=f"{ref.lower()}@example.com",
        email_normalized=f"{ref.lower()}@example.com",
        created_at=dt.datetime(2023, 1, 1, tzinfo=dt.UTC),
        **fields,
    )
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
            action="granted" if consent else "withdrawn",
            source="form",
            at=utcnow() - dt.timedelta(days=60),
        )
    session.commit()
    return client


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign_in(web: TestClient, salon: str, name: str, pin: str = PIN) -> str:
    """Sign in through the form; the session's CSRF token."""
    page = web.get("/staff/login")
    answer = web.post(
        "/staff/login",
        data={"salon": salon, "name": name, "pin": pin, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return csrf_of(web.get("/staff/campaigns").text)


def access_rows(database_url: str) -> int:
    with session_factory(database_url)() as s:
        return int(s.scalar(select(func.count()).select_from(AccessLog)) or 0)


def last_access(database_url: str) -> AccessLog:
    with session_factory(database_url)() as s:
        row = s.scalar(select(AccessLog).order_by(AccessLog.id.desc()).limit(1))
        assert row is not None
        return row
