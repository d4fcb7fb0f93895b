"""A delivery or exclusion names its campaign and client with its own salon (revision 0004):
the database refuses a row that mixes two salons, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import Campaign, Delivery, Exclusion, Salon
from tests.support import add_client


def _other_salon(session: Session) -> Salon:
    other = Salon(slug="bea", name="Salon Bea", gate_on=dt.date(2024, 1, 1))
    session.add(other)
    session.flush()
    return other


def _campaign(session: Session, salon: Salon) -> Campaign:
    campaign = Campaign(salon_id=salon.id, name="Herbst", sms_body="{{ unsubscribe_url }}")
    session.add(campaign)
    session.flush()
    return campaign


@pytest.mark.parametrize("table", [Delivery, Exclusion])
@pytest.mark.parametrize("foreign", ["client", "campaign"])
def test_a_row_mixing_two_salons_is_refused(
    session: Session, salon: Salon, table: type, foreign: str
) -> None:
    other = _other_salon(session)
    client = add_client(session, other if foreign == "client" else salon, "K1")
    campaign = _campaign(session, other if foreign == "campaign" else salon)
    row = {"salon_id": salon.id, "campaign_id": campaign.id, "client_id": client.id,
           "channel": "sms"}  # fmt: skip
    row |= {"address": "+4915112345678"} if table is Delivery else {"rule": "R3", "reason": "x"}
    with pytest.raises(IntegrityError):
        session.execute(insert(table).values(row))
        session.flush()


@pytest.mark.parametrize("table", [Delivery, Exclusion])
def test_a_row_of_one_salon_is_stored(session: Session, salon: Salon, table: type) -> None:
    client = add_client(session, salon, "K1")
    campaign = _campaign(session, salon)
    row = {"salon_id": salon.id, "campaign_id": campaign.id, "client_id": client.id,
           "channel": "sms"}  # fmt: skip
    row |= {"address": "+4915112345678"} if table is Delivery else {"rule": "R3", "reason": "x"}
    session.execute(insert(table).values(row))
    session.flush()
