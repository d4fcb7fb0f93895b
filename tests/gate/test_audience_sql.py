"""The audience query on the edge cases of the issue, on SQLite and PostgreSQL.

Each test asserts the expected codes from the SQL and, on the same rows, from the pure rules.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from db.models import Salon
from gate.rules import AudienceContext

BERLIN = ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2027, 3, 1, 0, 30, tzinfo=BERLIN)
WINDOW_START = dt.datetime(2024, 3, 1, tzinfo=BERLIN)
CTX = AudienceContext(
    now=NOW, timezone="Europe/Berlin", window_months=36, gate_on=dt.date(2024, 1, 1)
)
OLD = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
RECENT = ((dt.datetime(2026, 12, 1, tzinfo=BERLIN), "40.00"),)
SECOND = dt.timedelta(seconds=1)


def adult(phone: str = "+4917600000001", **fields: Any) -> dict[str, Any]:
    base = {
        "created_at": OLD,
        "birth_date": dt.date(1990, 1, 1),
        "phone": "0176 0000001",
        "phone_e164": phone,
        "email": "a@example.com",
        "email_normalized": "a@example.com",
    }
    return base | fields


def both(
    salon_rows: Any, channel: str = "sms", ctx: AudienceContext = CTX
) -> dict[int, str | None]:
    sql = salon_rows.audience(channel, ctx)
    assert sql == salon_rows.pure(channel, ctx)
    return sql  # type: ignore[no-any-return]


def test_purchase_at_local_midnight_36_months_ago_counts_and_one_second_earlier_not(
    salon_rows: Any,
) -> None:
    at_start = salon_rows.client(visits=((WINDOW_START, "10.00"),), **adult("+4917600000001"))
    before = salon_rows.client(
        visits=((WINDOW_START - SECOND, "10.00"),), **adult("+4917600000002")
    )
    assert both(salon_rows) == {at_start: None, before: "R3:no_purchase_in_window"}


def test_imported_client_counts_only_purchases_after_the_import(salon_rows: Any) -> None:
    imported_at = dt.datetime(2026, 12, 1, tzinfo=BERLIN)
    old_only = salon_rows.client(
        visits=((imported_at, "10.00"),), imported_at=imported_at, **adult("+4917600000001")
    )
    later = salon_rows.client(
        visits=((imported_at + SECOND, "10.00"),),
        imported_at=imported_at,
        **adult("+4917600000002"),
    )
    assert both(salon_rows) == {old_only: "R3:no_purchase_in_window", later: None}


def test_client_created_at_gate_on_midnight_needs_consent(salon_rows: Any) -> None:
    gate_on = dt.datetime(2024, 1, 1, tzinfo=BERLIN)
    new = salon_rows.client(visits=RECENT, **adult("+4917600000001", created_at=gate_on))
    old = salon_rows.client(visits=RECENT, **adult("+4917600000002", created_at=gate_on - SECOND))
    assert both(salon_rows) == {new: "R5:new_client_without_consent", old: None}


def test_guardian_sharing_a_phone_with_two_children_gets_one_sms(salon_rows: Any) -> None:
    child = {
        "created_at": OLD,
        "birth_date": dt.date(2015, 5, 5),
        "guardian_phone": "0176 9",
        "guardian_phone_e164": "+4917699999999",
        "consent": (("guardian", "sms", "granted"),),
        "visits": RECENT,
    }
    first, second = salon_rows.client(**child), salon_rows.client(**child)
    assert both(salon_rows) == {first: None, second: "R8:duplicate_address"}


def test_client_who_withdrew_by_sms_still_gets_email(salon_rows: Any) -> None:
    history = (
        ("client", "sms", "granted"),
        ("client", "email", "granted"),
        ("client", "sms", "withdrawn"),
    )
    client_id = salon_rows.client(visits=RECENT, consent=history, **adult())
    assert both(salon_rows, "sms") == {client_id: "R4:withdrawn"}
    assert both(salon_rows, "email") == {client_id: None}


def test_consent_given_again_after_a_withdrawal_counts(salon_rows: Any) -> None:
    history = (("client", "sms", "withdrawn"), ("client", "sms", "granted"))
    created = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    client_id = salon_rows.client(visits=RECENT, consent=history, **adult(created_at=created))
    assert both(salon_rows) == {client_id: None}


@pytest.mark.parametrize("other_salon", [False, True])
def test_only_the_salons_own_suppressions_apply(salon_rows: Any, other_salon: bool) -> None:
    client_id = salon_rows.client(visits=RECENT, **adult("+4917600000001"))
    if other_salon:
        other = Salon(slug="other", name="Other", gate_on=dt.date(2024, 1, 1))
        salon_rows.session.add(other)
        salon_rows.session.flush()
        salon_rows.suppress("sms", "+4917600000001", salon_id=other.id)
    else:
        salon_rows.suppress("sms", "+4917600000001")
    assert both(salon_rows) == {client_id: None if other_salon else "R9:suppressed"}
