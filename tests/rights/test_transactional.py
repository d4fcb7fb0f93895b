"""Transactional messages: not marketing, but never to forgotten or "no reminders" clients."""

from __future__ import annotations

import threading

import pytest
from rights_support import SECRET, add_client
from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.base import Channel, Message, Receipt
from db.access import Actor
from db.consent import record_consent
from db.models import Campaign, Client, Delivery, Salon
from dispatcher.runtime import Runtime, configure, get_runtime
from services.clients import set_no_reminders
from services.errors import Forbidden, Refused
from services.messages import send_message
from services.rights import forget

REMINDER = "Hallo {{ first_name }}, bis morgen um 10 Uhr bei {{ salon_name }}!"


class CountingChannel(Channel):
    name = "counting"
    kinds = frozenset({"sms", "email"})

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.lock = threading.Lock()

    def send(self, message: Message) -> Receipt:
        with self.lock:
            self.sent.append(message)
            return Receipt(provider_id=f"SM{len(self.sent)}")


@pytest.fixture
def provider(database_url: str) -> CountingChannel:
    channel = CountingChannel()
    configure(
        Runtime(
            database_url=database_url,
            base_url="https://salon.example",
            secret_key=SECRET,
            factories={"sms": lambda: channel, "email": lambda: channel},
        )
    )
    yield channel
    configure(None)


def _send(session: Session, salon: Salon, client: Client, actor: Actor, **kw: str) -> object:
    options = {"kind": "reminder", "channel": "sms", "template": REMINDER, **kw}
    return send_message(session, actor, get_runtime(), salon, client, **options)


def test_a_reminder_reaches_a_client_who_opted_out_of_marketing(
    session: Session, salon: Salon, mia: Actor, provider: CountingChannel
) -> None:
    client = add_client(session, salon, "K1", 1)
    record_consent(
        session, salon_id=salon.id, client_id=client.id, channel="sms", action="withdrawn",
        source="oral",
    )  # fmt: skip
    session.commit()
    outcome = _send(session, salon, client, mia)
    assert outcome.status == "sent"
    [message] = provider.sent
    assert message.to == client.phone_e164 and message.unsubscribe_url is None
    assert message.body == "Hallo Vorname1, bis morgen um 10 Uhr bei Salon Anna!"
    delivery = session.scalars(select(Delivery)).one()
    session.refresh(delivery)
    assert (delivery.status, delivery.body) == ("sent", message.body)
    assert session.get_one(Campaign, delivery.campaign_id).kind == "transactional"


def test_a_forgotten_client_gets_no_reminder(
    session: Session, salon: Salon, mia: Actor, provider: CountingChannel
) -> None:
    client = add_client(session, salon, "K1", 1)
    forget(session, mia, salon, client, secret_key=SECRET)
    session.commit()
    outcome = _send(session, salon, client, mia)
    assert (outcome.status, outcome.rule) == ("skipped", "R7")
    assert provider.sent == []


def test_a_no_reminders_client_gets_no_reminder(
    session: Session, salon: Salon, mia: Actor, provider: CountingChannel
) -> None:
    client = add_client(session, salon, "K1", 1)
    set_no_reminders(session, mia, salon, client, on=True)
    session.commit()
    for kind in ("reminder", "confirmation", "review", "reconnect"):
        assert _send(session, salon, client, mia, kind=kind).rule == "NR"
    assert provider.sent == []


def test_only_staff_with_a_pin_set_the_no_reminders_flag(session: Session, salon: Salon) -> None:
    client = add_client(session, salon, "K1", 1)
    with pytest.raises(Forbidden):
        set_no_reminders(session, Actor(salon.id), salon, client, on=True)


@pytest.mark.parametrize(
    "template", ["Abmelden: {{ unsubscribe_url }}", "Hallo {{ vorname }}", "{% include 'x' %}"]
)
def test_templates_are_validated_and_carry_no_unsubscribe_link(
    session: Session, salon: Salon, mia: Actor, provider: CountingChannel, template: str
) -> None:
    client = add_client(session, salon, "K1", 1)
    session.commit()
    with pytest.raises(Refused) as refused:
        _send(session, salon, client, mia, template=template)
    assert refused.value.problems and refused.value.problems[0].rule == "R2"
    session.rollback()
    assert session.scalars(select(Delivery)).all() == [] and provider.sent == []


class RecordingPacer:
    """A pacer that remembers who asked for a slot; refuses when told to."""

    def __init__(self, grant: bool) -> None:
        self.asked: list[tuple[str, float]] = []
        self.grant = grant

    def wait_turn(self, key: str, per_second: float, *, timeout: float) -> bool:
        self.asked.append((key, per_second))
        return self.grant


@pytest.mark.parametrize("grant", [True, False])
def test_a_reminder_takes_its_turn_under_the_senders_rate_limit(
    session: Session, salon: Salon, mia: Actor, provider: CountingChannel, grant: bool
) -> None:
    pacer = RecordingPacer(grant)
    runtime = get_runtime()
    runtime.rates, runtime._pacer = {"sms": 1.0}, pacer  # type: ignore[assignment]
    client = add_client(session, salon, "K1", 1)
    outcome = _send(session, salon, client, mia)
    assert pacer.asked and all(rate == 1.0 for _, rate in pacer.asked)
    assert len({key for key, _ in pacer.asked}) == 1
    assert (outcome.status, len(provider.sent)) == (("sent", 1) if grant else ("failed", 0))
