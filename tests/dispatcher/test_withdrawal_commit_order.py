"""A withdrawal whose transaction commits after a later one still stops the send.

PostgreSQL hands out ids when rows are inserted, not when they commit: a long transaction (a CSV
import with withdrawals, a slow unsubscribe) can commit id N after another one committed N+1.
The batch's watermark (the newest ids the gate saw) must not let such a withdrawal through.
SQLite has one writer at a time, so ids commit in order there; the race is PostgreSQL's.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.consent import record_consent
from db.models import Campaign, Delivery, Salon, utcnow
from db.session import session_factory
from dispatcher.batch import claim_chunk, recheck_range
from tests.support import add_client

pytestmark = pytest.mark.services


def _campaign(session: Session, salon: Salon, clients: list) -> Campaign:
    campaign = Campaign(salon_id=salon.id, name="Herbst", status="sending",
                        sms_body="Hallo {{ unsubscribe_url }}")  # fmt: skip
    session.add(campaign)
    session.flush()
    for client in clients:
        session.add(Delivery(salon_id=salon.id, campaign_id=campaign.id, client_id=client.id,
                             channel="sms", address=client.phone_e164))  # fmt: skip
    session.commit()
    return campaign


def test_a_withdrawal_committed_after_a_newer_event_still_stops_the_send(pg_url: str) -> None:
    Session_ = session_factory(pg_url)
    with Session_() as setup:
        salon = Salon(slug="anna", name="Salon Anna", gate_on=dt.date(2024, 1, 1))
        setup.add(salon)
        setup.commit()
        anna = add_client(setup, salon, "K1", phone="+4917611111111")
        bert = add_client(setup, salon, "K2", phone="+4917622222222")
        campaign = _campaign(setup, salon, [anna, bert])
        ids = setup.scalars(select(Delivery.id).where(Delivery.campaign_id == campaign.id)).all()

    slow = Session_()  # a long transaction: its withdrawal gets the lower id ...
    record_consent(slow, salon_id=salon.id, client_id=anna.id, channel="sms",
                   action="withdrawn", source="import")  # fmt: skip
    slow.flush()
    with Session_() as quick:  # ... and a quicker one commits a higher id first
        record_consent(quick, salon_id=salon.id, client_id=bert.id, channel="email",
                       action="granted", source="oral")  # fmt: skip
        quick.commit()

    with Session_() as worker:
        salon_row, campaign_row = (
            worker.get_one(Salon, salon.id),
            worker.get_one(Campaign, campaign.id),
        )
        watermark = recheck_range(worker, salon_row, campaign_row, min(ids), max(ids),
                                  channels=["sms"], now=utcnow())  # fmt: skip
        worker.commit()
        slow.commit()  # the withdrawal is stored now, before the claim
        slow.close()
        chunk = claim_chunk(worker, salon_row, campaign_row, min(ids), max(ids), limit=10,
                            channels=["sms"], now=utcnow(), watermark=watermark)  # fmt: skip
        worker.commit()
    claimed = {row.client_id for row in chunk.rows}
    assert anna.id not in claimed, "a stored withdrawal was claimed for sending"
    assert bert.id in claimed
