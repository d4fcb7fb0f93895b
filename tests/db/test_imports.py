"""CSV imports: bad rows are named by line and column, and a refused file stores nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from db.consent import current_consent, record_consent
from db.models import Client, ConsentEvent, Salon, Visit
from db.session import get_engine, session_factory
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


@contextmanager
def statements(session: Session) -> Iterator[list[str]]:
    """Every SQL statement the session's engine sends meanwhile (executemany counts once)."""
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_a_big_import_is_written_in_bulk_not_a_statement_per_row(
    session: Session, salon: Salon
) -> None:
    rows = [row(f"K{n}", phone=f"0176 {n:08d}", sms_marketing="granted",
                created_at="2023-01-01T10:00:00") for n in range(3000)]  # fmt: skip
    visits = "client_ref,visited_at,amount\n" + "".join(
        f"K{n},2025-03-01T10:00:00,45.00\nK{n},2025-04-01,0\n" for n in range(3000)
    )
    with statements(session) as seen:
        result = import_clients(session, salon, csv(*rows))
        assert import_visits(session, salon, visits).visits == 6000
    session.commit()
    assert (result.created, result.consent_events) == (3000, 3000)
    assert (count(session, Client), count(session, ConsentEvent), count(session, Visit)) == (
        3000,
        3000,
        6000,
    )
    # A handful of statements per 1,000 rows (SQLite: executemany runs once per row in the
    # driver, but it is one statement here; PostgreSQL: COPY), never one per row.
    assert len(seen) <= 40, seen[:50]
    k2999 = session.scalars(select(Client).where(Client.ref == "K2999")).one()
    assert (k2999.phone_e164, k2999.created_at) == (
        "+4917600002999",
        dt.datetime(2023, 1, 1, 9, 0, tzinfo=dt.UTC),  # Berlin winter time
    )
    assert current_consent(session, k2999.id) == {("client", "sms"): "granted"}


def test_a_bulk_reimport_updates_creates_and_keeps_withdrawals(
    session: Session, salon: Salon
) -> None:
    import_clients(
        session, salon, csv(*(row(f"K{n}", email_marketing="granted") for n in range(600)))
    )
    session.commit()
    withdrawn = session.scalars(select(Client).where(Client.ref == "K7")).one()
    record_consent(session, salon_id=salon.id, client_id=withdrawn.id, channel="email",
                   action="withdrawn", source="link")  # fmt: skip
    session.commit()
    again = [row(f"K{n}", first_name="Neu", email_marketing="granted", sms_marketing="granted",
                 created_at="2020-02-02" if n % 2 else "") for n in range(650)]  # fmt: skip
    result = import_clients(session, salon, csv(*again))
    session.commit()
    assert (result.created, result.updated, result.kept_withdrawals) == (50, 600, 1)
    assert result.consent_events == 650 + 50 - 0  # sms for all; email for the 50 new ones
    assert current_consent(session, withdrawn.id) == {
        ("client", "email"): "withdrawn",
        ("client", "sms"): "granted",
    }
    names = set(session.scalars(select(Client.first_name)))
    assert names == {"Neu"} and count(session, Client) == 650
    k3 = session.scalars(select(Client).where(Client.ref == "K3")).one()
    assert k3.created_at == dt.datetime(2020, 2, 1, 23, 0, tzinfo=dt.UTC)  # Berlin midnight


def test_every_forgotten_client_in_a_file_is_named_and_nothing_is_stored(
    session: Session, salon: Salon
) -> None:
    import_clients(session, salon, csv(row("K1"), row("K2"), row("K3")))
    session.commit()
    for ref in ("K1", "K3"):
        client = session.scalars(select(Client).where(Client.ref == ref)).one()
        client.anonymised_at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    session.commit()
    with pytest.raises(ImportError_) as refused:
        import_clients(session, salon, csv(row("K1", first_name="X"), row("K2", first_name="X"),
                                           row("K3", first_name="X"), row("K4")))  # fmt: skip
    session.rollback()
    assert refused.value.problems == [
        "line 2: ref: client 'K1' was forgotten",
        "line 4: ref: client 'K3' was forgotten",
    ]
    assert count(session, Client) == 3 and "X" not in set(
        session.scalars(select(Client.first_name))
    )


@pytest.mark.services
def test_the_planner_knows_a_fresh_import_without_autovacuum(pg_url: str) -> None:
    """Autovacuum off (per table): the planner's estimates still count the imported rows,
    because the import analysed what it wrote."""
    with get_engine(pg_url).begin() as conn:
        for table in ("client", "visit", "consent_event"):
            conn.execute(text(f"ALTER TABLE {table} SET (autovacuum_enabled = false)"))
    session = session_factory(pg_url)()
    try:
        salon = Salon(slug="neu", name="Salon Neu", gate_on=dt.date(2024, 1, 1))
        session.add(salon)
        session.commit()
        rows = [row(f"K{n}", email_marketing="granted") for n in range(2000)]
        import_clients(session, salon, csv(*rows))
        visits = "client_ref,visited_at,amount\n" + "".join(
            f"K{n},2025-03-01T10:00:00,45.00\n" for n in range(2000)
        )
        import_visits(session, salon, visits)
        session.commit()
        for table, where, real in [("client", f"salon_id = {salon.id}", 2000),
                                   ("visit", f"salon_id = {salon.id} AND amount > 0", 2000),
                                   ("consent_event", "channel = 'email'", 2000)]:  # fmt: skip
            plan = session.execute(
                text(f"EXPLAIN (FORMAT JSON) SELECT * FROM {table} WHERE {where}")
            )
            estimate = plan.scalar_one()[0]["Plan"]["Plan Rows"]
            assert real / 2 <= estimate <= real * 2, (table, estimate)
    finally:
        session.close()
