"""Races: a withdrawal against a running campaign, and concurrent duplicate requests."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator
from web_support import AUTH_TOKEN, BASE_URL, PHONE, withdrawals

from db.models import Campaign, Client, Delivery, Salon, utcnow
from dispatcher.batch import claim_chunk, recheck_range
from settings import Settings
from web.app import create_app

THREADS = 12


def _running_campaign(session: Session, salon: Salon, client: Client) -> tuple[Campaign, dict]:
    """A campaign in 'sending' with one pending delivery per channel for the client."""
    campaign = Campaign(
        salon_id=salon.id,
        name="Herbst",
        sms_body="Hallo {{ unsubscribe_url }}",
        email_subject="Hallo",
        email_text="{{ unsubscribe_url }}",
        status="sending",
    )
    session.add(campaign)
    session.flush()
    deliveries = {}
    for channel, address in (("sms", client.phone_e164), ("email", client.email_normalized)):
        deliveries[channel] = Delivery(
            salon_id=salon.id,
            campaign_id=campaign.id,
            client_id=client.id,
            channel=channel,
            address=address,
            status="pending",
        )
        session.add(deliveries[channel])
    session.commit()
    return campaign, deliveries


def _claim_all(session: Session, salon: Salon, campaign: Campaign, deliveries: dict) -> list[int]:
    """The worker's own path: recheck the gate for the range, then claim what passes."""
    ids = [d.id for d in deliveries.values()]
    channels = sorted(deliveries)
    now = utcnow()
    watermark = recheck_range(
        session, salon, campaign, min(ids), max(ids), channels=channels, now=now
    )
    chunk = claim_chunk(
        session, salon, campaign, min(ids), max(ids),
        limit=len(ids), channels=channels, now=now, watermark=watermark,
    )  # fmt: skip
    session.commit()
    session.expire_all()
    return sorted(row.id for row in chunk.rows)


def test_a_withdrawal_stored_before_the_claim_skips_the_delivery_with_r4(
    web: TestClient, session: Session, salon: Salon, anna: Client, token_for
) -> None:
    campaign, deliveries = _running_campaign(session, salon, anna)
    assert web.post(f"/u/{token_for(salon.id, anna.id, 'sms', campaign.id)}").status_code == 200
    claimed = _claim_all(session, salon, campaign, deliveries)
    sms, email = (session.get(Delivery, deliveries[c].id) for c in ("sms", "email"))
    assert (sms.status, sms.skip_rule) == ("skipped", "R4")
    assert claimed == [email.id] and email.status == "sending"


def test_a_withdrawal_after_the_claim_holds_for_the_next_send(
    web: TestClient, session: Session, salon: Salon, anna: Client, token_for
) -> None:
    campaign, deliveries = _running_campaign(session, salon, anna)
    assert len(_claim_all(session, salon, campaign, deliveries)) == 2  # already handed out
    web.post(f"/u/{token_for(salon.id, anna.id, 'sms', campaign.id)}")
    later, more = _running_campaign(session, salon, anna)
    _claim_all(session, salon, later, more)
    assert session.get(Delivery, more["sms"].id).skip_rule == "R4"


def _at_once(count: int, request: Callable[[TestClient], int], settings: Settings) -> list[int]:
    """Send `count` requests from as many threads, released together."""
    barrier = threading.Barrier(count)
    answers: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        client = TestClient(create_app(settings), base_url=BASE_URL)
        barrier.wait()
        status = request(client)
        with lock:
            answers.append(status)

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_concurrent_duplicate_stops_give_exactly_one_event(
    settings: Settings, database_url: str, salon: Salon, anna: Client
) -> None:
    params = {"MessageSid": "SMrace", "From": PHONE, "To": "+4930123456", "Body": "STOP"}
    path = "/webhooks/twilio/sms/anna"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(BASE_URL + path, params)

    def stop(client: TestClient) -> int:
        return client.post(path, data=params, headers={"X-Twilio-Signature": signature}).status_code

    assert _at_once(THREADS, stop, settings) == [200] * THREADS
    assert withdrawals(database_url, anna.id) == [("sms", "client", "withdrawn", "sms_keyword")]


def test_concurrent_clicks_of_one_link_give_exactly_one_event(
    settings: Settings, database_url: str, salon: Salon, anna: Client, token_for
) -> None:
    path = f"/u/{token_for(salon.id, anna.id, 'email')}"

    def click(client: TestClient) -> int:
        return client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code

    assert _at_once(THREADS, click, settings) == [200] * THREADS
    assert withdrawals(database_url, anna.id) == [("email", "client", "withdrawn", "link")]


@pytest.mark.services
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_many_concurrent_stops_on_postgres(
    settings: Settings, database_url: str, salon: Salon, anna: Client
) -> None:
    """The PostgreSQL case with more threads than the connection pool has connections."""
    params = {"MessageSid": "SMrace2", "From": PHONE, "To": "+4930123456", "Body": "stopp"}
    path = "/webhooks/twilio/sms/anna"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(BASE_URL + path, params)

    def stop(client: TestClient) -> int:
        return client.post(path, data=params, headers={"X-Twilio-Signature": signature}).status_code

    assert _at_once(32, stop, settings) == [200] * 32
    assert withdrawals(database_url, anna.id) == [("sms", "client", "withdrawn", "sms_keyword")]
