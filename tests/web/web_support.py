"""Helpers shared by the web tests (importable: tests/web is on sys.path, it has no package)."""

from __future__ import annotations

from sqlalchemy import select

from db.models import ConsentEvent
from db.session import session_factory
from tests.support import add_client as add_client  # shared with the other test folders

SECRET = "web-test-secret"
PEPPER = "web-test-pepper"  # not the development one: BASE_URL is public (web/exposure.py)
AUTH_TOKEN = "twilio-test-auth-token"
BASE_URL = "https://salonpost.example.com"
PHONE = "+4917611111111"


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
