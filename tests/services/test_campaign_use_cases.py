"""The campaign use cases, as every edge gets them: queue, steer, validate, the test message.

Each is decided once here: a refusal names its rule and is logged, a wrong state is a conflict
that changes nothing, and a service message or another salon's campaign is "not found"."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.access import Actor
from db.models import AccessLog, Campaign, Salon
from db.states import CampaignKind, CampaignStatus
from dispatcher.runtime import Runtime
from services import campaigns, transaction
from services.config import ServiceConfig
from services.errors import BadInput, Conflict, NotFound, Refused
from services.steering import Steer, steer

CONFIG = ServiceConfig(base_url="https://salon.example", secret_key="test-secret")
GOOD = "Hallo {{ first_name }}! Abmelden: {{ unsubscribe_url }}"


def _campaign(session: Session, salon: Salon, sms: str = GOOD, **values: object) -> Campaign:
    row = Campaign(salon_id=salon.id, name="Herbst", sms_body=sms, **values)
    session.add(row)
    session.commit()
    return row


def _log(session: Session, campaign_id: int) -> list[tuple[str, str | None]]:
    rows = session.execute(
        select(AccessLog.action, AccessLog.detail)
        .where(AccessLog.campaign_id == campaign_id)
        .order_by(AccessLog.id)
    )
    return [(action, detail) for action, detail in rows]


def test_a_valid_draft_is_queued_once_and_logged(session: Session, salon: Salon) -> None:
    campaign = _campaign(session, salon)
    actor = Actor(salon.id)
    campaigns.queue(session, actor, campaign.id, CONFIG)
    session.commit()
    with pytest.raises(Conflict) as again:
        campaigns.queue(session, actor, campaign.id, CONFIG)
    assert again.value.values["status"] == CampaignStatus.QUEUED
    session.commit()
    assert _log(session, campaign.id) == [
        ("campaign.queue", "sms"),
        ("campaign.queue", "refused queued"),
    ]


def test_a_refused_queue_names_the_rule_keeps_the_draft_and_its_log_row(
    database_url: str, session: Session, salon: Salon
) -> None:
    campaign = _campaign(session, salon, sms="Hallo {{ first_name }}")
    with pytest.raises(Refused) as refused, transaction(database_url) as s:
        campaigns.queue(s, Actor(salon.id), campaign.id, CONFIG)
    assert refused.value.rule == "R1" and refused.value.problems[0].rule == "R1"
    session.expire_all()
    assert session.get_one(Campaign, campaign.id).status == CampaignStatus.DRAFT
    assert _log(session, campaign.id) == [("campaign.queue", "refused R1")]


def test_a_service_message_is_not_found_to_every_campaign_use_case(
    session: Session, salon: Salon
) -> None:
    message = _campaign(session, salon, kind=CampaignKind.TRANSACTIONAL)
    actor = Actor(salon.id)
    for use_case in (
        lambda: campaigns.queue(session, actor, message.id, CONFIG),
        lambda: campaigns.validate(session, actor, message.id, CONFIG),
        lambda: steer(session, actor, message.id, Steer.PAUSE),
    ):
        with pytest.raises(NotFound):
            use_case()


def test_another_salons_campaign_is_not_found(session: Session, salon: Salon) -> None:
    other = Salon(slug="bea", name="Salon Bea", gate_on=dt.date(2024, 1, 1))
    session.add(other)
    session.commit()
    campaign = _campaign(session, salon)
    with pytest.raises(NotFound):
        campaigns.queue(session, Actor(other.id), campaign.id, CONFIG)
    with pytest.raises(NotFound):
        steer(session, Actor(other.id), campaign.id, Steer.CANCEL)
    assert session.get_one(Campaign, campaign.id).status == CampaignStatus.DRAFT


def test_steering_a_draft_is_a_conflict_that_changes_nothing(
    session: Session, salon: Salon
) -> None:
    campaign = _campaign(session, salon)
    with pytest.raises(Conflict) as refused:
        steer(session, Actor(salon.id), campaign.id, Steer.PAUSE)
    assert refused.value.key == "error.cannot_steer"
    assert refused.value.values == {"id": campaign.id, "action": "pause", "status": "draft"}
    assert session.get_one(Campaign, campaign.id).status == CampaignStatus.DRAFT


def test_pause_and_resume_are_logged_and_resume_asks_for_the_workers(
    session: Session, salon: Salon
) -> None:
    campaign = _campaign(session, salon, status=CampaignStatus.SENDING)
    actor = Actor(salon.id, via="web")
    paused = steer(session, actor, campaign.id, Steer.PAUSE)
    resumed = steer(session, actor, campaign.id, Steer.RESUME)
    session.commit()
    assert (paused.start, resumed.start) == (False, True)
    assert _log(session, campaign.id) == [("campaign.pause", "web"), ("campaign.resume", "web")]


def test_the_test_message_goes_to_the_given_address_only(
    session: Session, salon: Salon, tmp_path: object
) -> None:
    from channels.outbox import OutboxChannel

    campaign = _campaign(session, salon)
    outbox = OutboxChannel(str(tmp_path))
    runtime = Runtime(
        database_url="", base_url=CONFIG.base_url, secret_key=CONFIG.secret_key,
        factories={"sms": lambda: outbox, "email": lambda: outbox},
    )  # fmt: skip
    actor = Actor(salon.id)
    with pytest.raises(BadInput):
        campaigns.send_test(
            session, actor, campaign.id, CONFIG, runtime, channel="sms", address="0"
        )
    receipt = campaigns.send_test(
        session, actor, campaign.id, CONFIG, runtime, channel="sms", address="0151 12345678"
    )
    assert receipt.provider_id
    assert _log(session, campaign.id) == [
        ("campaign.test", "sms error.test_bad_phone"),
        ("campaign.test", "sms sent"),
    ]
