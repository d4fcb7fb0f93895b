"""Sending a batch: claims make a second run harmless, the recheck stops withdrawn clients."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.base import Message
from channels.errors import PermanentDeliveryError
from db.consent import record_consent
from db.models import Campaign, Client, Delivery, Salon, Suppression
from dispatcher import actors
from dispatcher.planning import pending_batches, plan
from tests.dispatcher.conftest import ScriptedProvider, add_clients, planned_campaign

REFUSED = "+4917600000003"


@pytest.fixture
def refusing(provider: ScriptedProvider) -> ScriptedProvider:
    """The provider refuses one number as unsubscribed at the carrier (Twilio 21610)."""

    def script(message: Message) -> None:
        if message.to == REFUSED:
            raise PermanentDeliveryError("recipient unsubscribed", code="21610", suppress=True)

    provider.script = script
    return provider


def _statuses(session: Session, campaign: Campaign) -> dict[str, str]:
    session.expire_all()
    rows = session.execute(
        select(Client.ref, Delivery.status)
        .join(Client, Client.id == Delivery.client_id)
        .where(Delivery.campaign_id == campaign.id)
    )
    return dict(rows.all())


def test_running_the_same_batches_twice_sends_nothing_twice(
    session: Session, salon: Salon, refusing: ScriptedProvider
) -> None:
    add_clients(session, salon, 5)
    campaign = planned_campaign(session, salon)
    batches = list(pending_batches(session, campaign.id, 2))
    assert len(batches) == 3
    for _ in range(2):
        for first_id, last_id in batches:
            actors.send_batch.fn(campaign.id, first_id, last_id)
    assert sorted(m.to for m in refusing.accepted) == [
        "+4917600000001",
        "+4917600000002",
        "+4917600000004",
        "+4917600000005",
    ]
    assert len({m.key for m in refusing.accepted}) == 4
    statuses = _statuses(session, campaign)
    assert statuses == {"K1": "sent", "K2": "sent", "K3": "failed", "K4": "sent", "K5": "sent"}


def test_a_permanent_refusal_suppresses_the_address_for_the_salon(
    session: Session, salon: Salon, refusing: ScriptedProvider
) -> None:
    add_clients(session, salon, 3)
    campaign = planned_campaign(session, salon)
    for first_id, last_id in pending_batches(session, campaign.id, 10):
        actors.send_batch.fn(campaign.id, first_id, last_id)
    suppressed = session.scalars(
        select(Suppression.address).where(Suppression.salon_id == salon.id)
    )
    assert list(suppressed) == ["+4917600000003"]
    delivery = session.scalar(select(Delivery).where(Delivery.status == "failed"))
    assert delivery is not None and delivery.error_code == "21610"


def test_a_withdrawal_between_queue_and_send_stops_that_send(
    session: Session, salon: Salon, refusing: ScriptedProvider
) -> None:
    clients = add_clients(session, salon, 2)
    campaign = planned_campaign(session, salon)
    record_consent(
        session,
        salon_id=salon.id,
        client_id=clients[0].id,
        channel="sms",
        action="withdrawn",
        source="link",
        campaign_id=campaign.id,
    )
    session.commit()
    for first_id, last_id in pending_batches(session, campaign.id, 10):
        actors.send_batch.fn(campaign.id, first_id, last_id)
    assert [m.to for m in refusing.accepted] == ["+4917600000002"]
    skipped = session.scalar(select(Delivery).where(Delivery.client_id == clients[0].id))
    assert skipped is not None and (skipped.status, skipped.skip_rule) == ("skipped", "R4")


def test_finish_marks_the_campaign_done_only_when_no_delivery_is_open(
    session: Session, salon: Salon, refusing: ScriptedProvider
) -> None:
    add_clients(session, salon, 3)
    campaign = planned_campaign(session, salon)
    batches = list(pending_batches(session, campaign.id, 2))
    actors.send_batch.fn(campaign.id, *batches[0])
    actors.finish_campaign.fn(campaign.id)
    session.expire_all()
    assert session.get_one(Campaign, campaign.id).status == "sending"
    actors.send_batch.fn(campaign.id, *batches[1])
    actors.finish_campaign.fn(campaign.id)
    session.expire_all()
    assert session.get_one(Campaign, campaign.id).status == "done"


def test_planning_twice_writes_one_snapshot(
    session: Session, salon: Salon, refusing: ScriptedProvider
) -> None:
    add_clients(session, salon, 3)
    campaign = planned_campaign(session, salon)
    session.execute(Campaign.__table__.update().values(status="queued"))
    session.commit()
    assert plan(session, campaign.id)
    session.commit()
    count = session.scalars(select(Delivery.id).where(Delivery.campaign_id == campaign.id)).all()
    assert len(count) == 3


def test_a_client_whose_number_changed_after_planning_is_not_sent_to_the_old_number(
    session: Session, salon: Salon, refusing: ScriptedProvider
) -> None:
    clients = add_clients(session, salon, 2)
    campaign = planned_campaign(session, salon)
    clients[0].phone, clients[0].phone_e164 = "0176 99999999", "+4917699999999"
    session.commit()
    for first_id, last_id in pending_batches(session, campaign.id, 10):
        actors.send_batch.fn(campaign.id, first_id, last_id)
    assert [m.to for m in refusing.accepted] == ["+4917600000002"]
    moved = session.scalar(select(Delivery).where(Delivery.client_id == clients[0].id))
    assert moved is not None and (moved.status, moved.skip_rule) == ("skipped", "R8")
