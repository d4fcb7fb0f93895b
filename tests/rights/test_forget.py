"""Forget on request (G1): personal data gone for good, every report adds up as before."""

from __future__ import annotations

import datetime as dt

import pytest
from rights_support import SECRET, add_client
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.access import OPERATOR, Actor, log_access
from db.consent import record_consent
from db.forget import HASH_PREFIX, restore_suppressions, suppression_key
from db.models import (
    AccessLog,
    Campaign,
    Client,
    ConsentEvent,
    Delivery,
    Salon,
    Suppression,
    Visit,
)
from dispatcher.planning import audience_context
from gate.audience import decision_query
from services.documents import status
from services.errors import NotFound
from services.lookups import get_client
from services.rights import forget

# The name is personal in a way, the progress depends on the clock: the counts must add up.
IGNORED = ("name", "progress")


def _reports(session: Session, salon: Salon) -> dict[str, object]:
    visits = session.execute(
        select(func.count(), func.sum(Visit.amount)).where(Visit.salon_id == salon.id)
    ).one()
    campaigns = session.scalars(select(Campaign).where(Campaign.salon_id == salon.id)).all()
    consent = session.execute(
        select(ConsentEvent.channel, ConsentEvent.action, func.count()).group_by(
            ConsentEvent.channel, ConsentEvent.action
        )
    ).all()
    return {
        "visits": tuple(visits),
        "clients": session.scalar(select(func.count()).select_from(Client)),
        "campaigns": [
            {
                k: v
                for k, v in status(session, OPERATOR, c.id).items()
                if k not in ("name", "progress")
            }
            for c in campaigns
        ],
        "consent": sorted(consent),
    }


def test_reports_add_up_the_same_after_forgetting(
    session: Session, salon: Salon, history: dict[str, Client], mia: Actor
) -> None:
    before = _reports(session, salon)
    forget(session, mia, salon, history["anna"], secret_key=SECRET)
    session.commit()
    session.expire_all()
    assert _reports(session, salon) == before


def test_personal_data_is_gone_from_the_client_deliveries_and_consent(
    session: Session, salon: Salon, history: dict[str, Client], mia: Actor
) -> None:
    anna = history["anna"]
    forget(session, mia, salon, anna, secret_key=SECRET)
    session.commit()
    session.expire_all()
    row = session.get_one(Client, anna.id)
    assert row.anonymised_at is not None and row.ref == f"forgotten-{anna.id}"
    for name in ("first_name", "last_name", "phone", "phone_e164", "email", "birth_date", "notes"):
        assert getattr(row, name) is None, name
    delivery = session.scalars(select(Delivery).where(Delivery.client_id == anna.id)).one()
    assert (delivery.address, delivery.body, delivery.provider_id) == (None, None, None)
    assert delivery.status == "sent"
    event = session.scalars(select(ConsentEvent).where(ConsentEvent.client_id == anna.id)).one()
    assert (event.action, event.evidence) == ("granted", None)
    # Ben is untouched.
    ben = session.get_one(Client, history["ben"].id)
    assert ben.first_name == "Vorname2" and ben.anonymised_at is None
    with pytest.raises(NotFound):
        get_client(session, salon, "K1")


def test_suppressions_keep_only_a_keyed_hash_and_still_suppress_a_later_client(
    session: Session, salon: Salon, history: dict[str, Client], mia: Actor
) -> None:
    number = history["anna"].phone_e164
    assert number is not None
    forget(session, mia, salon, history["anna"], secret_key=SECRET)
    session.commit()
    stored = session.scalars(select(Suppression.address)).all()
    assert stored == [suppression_key(SECRET, "sms", number)]
    assert stored[0].startswith(HASH_PREFIX) and number not in stored[0]
    # The number comes back with a new client: it is suppressed again (R9).
    newcomer = add_client(session, salon, "K9", 9, phone_e164=number)
    now = dt.datetime.now(dt.UTC)
    session.add(Visit(salon_id=salon.id, client_id=newcomer.id, visited_at=now, amount=10))
    record_consent(
        session, salon_id=salon.id, client_id=newcomer.id, channel="sms", action="granted",
        source="oral",
    )  # fmt: skip
    assert restore_suppressions(session, salon.id, secret_key=SECRET) == 1
    session.commit()
    ctx = audience_context(salon, Campaign(window_months=36), now + dt.timedelta(seconds=1))
    query = decision_query(salon_id=salon.id, channel="sms", ctx=ctx, client_ids=[newcomer.id])
    assert session.execute(query).one().code == "R9:suppressed"


def test_a_shared_number_stays_suppressed_in_clear_for_the_remaining_client(
    session: Session, salon: Salon, history: dict[str, Client], mia: Actor
) -> None:
    history["ben"].phone_e164 = history["anna"].phone_e164  # one family phone
    session.commit()
    forget(session, mia, salon, history["anna"], secret_key=SECRET)
    session.commit()
    assert session.scalars(select(Suppression.address)).all() == [history["ben"].phone_e164]


def test_forgetting_is_logged_once(
    session: Session, salon: Salon, history: dict[str, Client], mia: Actor
) -> None:
    forget(session, mia, salon, history["anna"], secret_key=SECRET)
    session.commit()
    rows = session.scalars(select(AccessLog)).all()
    assert [(r.action, r.staff_id, r.client_id) for r in rows] == [
        ("client.forget", mia.staff_id, history["anna"].id)
    ]


def test_another_salons_client_cannot_be_forgotten(
    session: Session, salon: Salon, history: dict[str, Client], mia: Actor
) -> None:
    other = Salon(slug="bea", name="Salon Bea", gate_on=dt.date(2024, 1, 1))
    session.add(other)
    session.commit()
    with pytest.raises(NotFound):
        forget(session, mia, other, history["anna"], secret_key=SECRET)
    session.rollback()
    assert session.get_one(Client, history["anna"].id).anonymised_at is None
    _ = log_access  # the refused call wrote nothing
    assert session.scalar(select(func.count()).select_from(AccessLog)) == 0


def test_a_forgotten_clients_sms_replies_lose_number_and_text(
    session: Session, salon: Salon, history: dict[str, Client], mia: Actor
) -> None:
    from db.models import InboundMessage

    anna, ben = history["anna"], history["ben"]
    for n, client in enumerate((anna, ben)):
        session.add(
            InboundMessage(
                salon_id=salon.id,
                client_id=client.id,
                from_address="+4917611111111",
                body="Termin morgen?",
                provider_id=f"SM{n}",
            )
        )
    session.commit()
    forget(session, mia, salon, anna, secret_key=SECRET)
    session.commit()
    session.expire_all()
    kept = session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
    assert [(m.client_id, m.from_address, m.body) for m in kept] == [
        (anna.id, None, None),
        (ben.id, "+4917611111111", "Termin morgen?"),
    ]
