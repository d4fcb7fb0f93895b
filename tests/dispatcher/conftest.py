"""Fixtures for the dispatcher: a scripted provider, clients with a purchase, a planned campaign."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.base import Channel, Message, Receipt
from db.models import Campaign, Client, Delivery, Salon, Visit, utcnow
from dispatcher.planning import plan
from dispatcher.runtime import RetryPolicy, Runtime, configure

SMS = "Hallo {{ first_name }}! Abmelden: {{ unsubscribe_url }}"


class ScriptedProvider(Channel):
    """Accepts messages and remembers them; `script(message)` may raise instead (a fault)."""

    name = "scripted"
    kinds = frozenset({"sms", "email"})

    def __init__(self) -> None:
        self.accepted: list[Message] = []
        self.calls = 0
        self.script: Callable[[Message], None] = lambda message: None
        self.lock = threading.Lock()

    def send(self, message: Message) -> Receipt:
        with self.lock:
            self.calls += 1
        self.script(message)
        with self.lock:
            self.accepted.append(message)
        return Receipt(provider_id=f"P-{message.key}")

    def lookup(self, message: Message, *, since: dt.datetime) -> Receipt | None:
        keys = {m.key for m in self.accepted}
        return Receipt(provider_id=f"P-{message.key}") if message.key in keys else None

    def keys(self) -> list[str]:
        return [m.key for m in self.accepted]


def make_runtime(database_url: str, provider: Channel, **overrides: object) -> Runtime:
    values: dict[str, object] = dict(
        database_url=database_url,
        base_url="https://salon.example",
        secret_key="test-secret",
        batch_size=10,
        claim_chunk=4,
        claim_timeout=2.0,
        quiet_hours=False,
        retry=RetryPolicy(min_backoff_ms=10, max_backoff_ms=40, max_attempts=3),
        factories={"sms": lambda: provider, "email": lambda: provider},
    )
    values.update(overrides)
    return Runtime(**values)  # type: ignore[arg-type]


@pytest.fixture
def provider(database_url: str) -> Iterator[ScriptedProvider]:
    channel = ScriptedProvider()
    configure(make_runtime(database_url, channel))
    yield channel
    configure(None)


def add_clients(session: Session, salon: Salon, count: int) -> list[Client]:
    clients = []
    for n in range(1, count + 1):
        client = Client(
            salon_id=salon.id,
            ref=f"K{n}",
            first_name=f"Kundin{n}",
            phone=f"0176 {n:08d}",
            phone_e164=f"+49176{n:08d}",
            email=f"k{n}@example.com",
            email_normalized=f"k{n}@example.com",
            created_at=dt.datetime(2023, 1, 1, tzinfo=dt.UTC),
        )
        session.add(client)
        clients.append(client)
    session.flush()
    session.add_all(
        Visit(
            salon_id=salon.id,
            client_id=c.id,
            visited_at=utcnow() - dt.timedelta(days=30),
            amount=Decimal("40"),
        )
        for c in clients
    )
    session.commit()
    return clients


def planned_campaign(
    session: Session, salon: Salon, *, email: bool = False, sms: bool = True
) -> Campaign:
    campaign = Campaign(
        salon_id=salon.id,
        name="Herbst",
        sms_body=SMS if sms else None,
        email_subject="Hallo" if email else None,
        email_text="Hallo {{ first_name }} {{ unsubscribe_url }}" if email else None,
        status="queued",
        queued_at=utcnow(),
    )
    session.add(campaign)
    session.commit()
    assert plan(session, campaign.id)
    session.commit()
    return campaign


def statuses(session: Session, campaign_id: int) -> dict[str, int]:
    session.expire_all()
    found: dict[str, int] = {}
    for status in session.scalars(
        select(Delivery.status).where(Delivery.campaign_id == campaign_id)
    ):
        found[status] = found.get(status, 0) + 1
    return found


@pytest.fixture
def clients(session: Session, salon: Salon) -> list[Client]:
    return add_clients(session, salon, 12)
