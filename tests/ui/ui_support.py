"""Helpers for the staff UI tests (importable: tests/ui is on sys.path, it has no package)."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import AccessLog, Salon
from db.session import session_factory
from services.staff import add_staff
from tests.support import add_client as add_client  # shared with the other test folders

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
