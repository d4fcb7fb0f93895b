"""CSV imports: bad rows are named by line and column, and a refused file stores nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.consent import current_consent, record_consent
from db.models import Client, ConsentEvent, Salon, Visit
from services.imports import CLIENT_COLUMNS, ImportError_, import_clients, import_visits

HEADER = ",".join(CLIENT_COLUMNS)


def row(ref: str, **values: str) -> str:
    fields = dict.fromkeys(CLIENT_COLUMNS, "")
    fields.update(ref=ref, first_name="Anna", phone="0176 12345678", email=f"{ref}@example.com")
    fields.update(values)
    return ",".join(fields[c] for c in CLIENT_COLUMNS)


def csv(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_import_creates_clients_with_normalised_contacts_and_consent(
    session: Session, salon: Salon
) -> None:
    result = import_clients(session, salon, csv(row("K1", sms_marketing="granted")))
    session.commit()
    client = session.scalars(select(Client)).one()
    assert (result.created, result.updated, result.consent_events) == (1, 0, 1)
    assert client.phone_e164 == "+4917612345678"
    assert client.email_normalized == "k1@example.com"
    assert current_consent(session, client.id) == {("client", "sms"): "granted"}


def test_bad_rows_are_reported_with_line_numbers_and_nothing_is_stored(
    session: Session, salon: Salon
) -> None:
    text = csv(
        row("K1"),
        row("K2", birth_date="31.12.1990"),
        row("K3", sms_marketing="yes"),
        row("K1"),
    )
    with pytest.raises(ImportError_) as refused:
        import_clients(session, salon, text)
    session.rollback()
    assert refused.value.problems == [
        "line 3: birth_date: not a date (YYYY-MM-DD): '31.12.1990'",
        "line 4: sms_marketing: must be 'granted', 'withdrawn' or blank, not 'yes'",
        "line 5: ref: 'K1' already on line 2",
    ]
    assert count(session, Client) == 0


def test_a_missing_column_refuses_the_file(session: Session, salon: Salon) -> None:
    with pytest.raises(ImportError_, match="missing column"):
        import_clients(session, salon, "ref,first_name\nK1,Anna\n")


def test_an_invalid_phone_is_kept_but_marked_unreachable(session: Session, salon: Salon) -> None:
    result = import_clients(session, salon, csv(row("K1", phone="030 1234567")))
    session.commit()
    client = session.scalars(select(Client)).one()
    assert client.phone == "030 1234567" and client.phone_e164 is None
    assert result.warnings == ["line 2: phone: not a valid mobile number '030 1234567' (R8)"]


def test_reimporting_the_same_ref_updates_the_client(session: Session, salon: Salon) -> None:
    import_clients(session, salon, csv(row("K1")))
    session.commit()
    result = import_clients(
        session, salon, csv(row("K1", first_name="Anne", phone="0176 99999999"))
    )
    session.commit()
    client = session.scalars(select(Client)).one()
    assert (result.created, result.updated) == (0, 1)
    assert (client.first_name, client.phone_e164) == ("Anne", "+4917699999999")


def test_an_import_never_turns_a_withdrawal_back_into_a_grant(
    session: Session, salon: Salon
) -> None:
    import_clients(session, salon, csv(row("K1", sms_marketing="granted")))
    client = session.scalars(select(Client)).one()
    record_consent(
        session,
        salon_id=salon.id,
        client_id=client.id,
        channel="sms",
        action="withdrawn",
        source="link",
    )
    session.commit()
    result = import_clients(session, salon, csv(row("K1", sms_marketing="granted")))
    session.commit()
    assert result.kept_withdrawals == 1
    assert current_consent(session, client.id)[("client", "sms")] == "withdrawn"
    assert count(session, ConsentEvent) == 2


def test_visits_import_is_all_or_nothing_and_idempotent(session: Session, salon: Salon) -> None:
    import_clients(session, salon, csv(row("K1")))
    session.commit()
    good = "client_ref,visited_at,amount\nK1,2025-03-01T10:00:00,45.00\nK1,2025-04-01,0\n"
    assert import_visits(session, salon, good).visits == 2
    session.commit()
    assert import_visits(session, salon, good).visits == 0
    session.commit()
    bad = "client_ref,visited_at,amount\nK1,2025-05-01,12\nK9,2025-05-01,12\nK1,yesterday,-3\n"
    with pytest.raises(ImportError_) as refused:
        import_visits(session, salon, bad)
    session.rollback()
    assert refused.value.problems == [
        "line 4: visited_at: not a date or time (ISO 8601): 'yesterday'",
        "line 4: amount: must be zero or more: '-3'",
        "line 3: client_ref: no client 'K9' in this salon",
    ]
    assert count(session, Visit) == 2


def test_local_times_are_the_salons_time_zone(session: Session, salon: Salon) -> None:
    import_clients(session, salon, csv(row("K1")))
    import_visits(session, salon, "client_ref,visited_at,amount\nK1,2025-07-01T10:00:00,45\n")
    session.commit()
    visit = session.scalars(select(Visit)).one()
    assert visit.visited_at == dt.datetime(2025, 7, 1, 8, 0, tzinfo=dt.UTC)  # Berlin summer time


def test_another_salons_client_is_unknown_to_a_visits_import(
    session: Session, salon: Salon
) -> None:
    other = Salon(slug="other", name="Other", gate_on=dt.date(2024, 1, 1))
    session.add(other)
    session.flush()
    import_clients(session, other, csv(row("K1")))
    session.commit()
    with pytest.raises(ImportError_, match="no client 'K1' in this salon"):
        import_visits(session, salon, "client_ref,visited_at,amount\nK1,2025-05-01,12\n")
