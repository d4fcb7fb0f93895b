"""The client rules R3–R9 as pure functions: each rule, the order of :func:`decide`, de-duplication.

All tests use one fixed ``now``: 1 March 2027, 00:30 in Berlin, which is still 28 February in UTC,
so every calendar rule shows whether it counts in the salon's zone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from gate.audience import split_code
from gate.dates import months_before, window_start
from gate.rules import AudienceContext, ClientFacts, Purchase, decide, select_audience
from templates.texts import describe

BERLIN = ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2027, 3, 1, 0, 30, tzinfo=BERLIN)  # 2027-02-28 23:30 UTC
WINDOW_START = dt.datetime(2024, 3, 1, 0, 0, tzinfo=BERLIN)  # local midnight, 36 months ago
GATE_ON = dt.date(2024, 1, 1)
CTX = AudienceContext(now=NOW, timezone="Europe/Berlin", window_months=36, gate_on=GATE_ON)
MOM_PHONE = "+4917611111111"


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)


def client(client_id: int = 1, **changes: object) -> ClientFacts:
    """An adult existing customer with a recent purchase, a valid phone and email, never asked."""
    base = ClientFacts(
        client_id=client_id,
        created_at=at(2020, 5, 1),
        birth_date=dt.date(1990, 6, 15),
        phone="0176 2222222",
        phone_e164=f"+49176222222{client_id:02d}",
        email=f"Client{client_id}@Example.com",
        email_normalized=f"client{client_id}@example.com",
        visits=(Purchase(at(2026, 11, 20, 10), Decimal("45.00")),),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def code(facts: ClientFacts, channel: str = "sms", ctx: AudienceContext = CTX) -> str | None:
    return decide(facts, channel, ctx).code


def minor(client_id: int = 1, **changes: object) -> ClientFacts:
    """A 12-year-old with a guardian phone and email and the guardian's consent on both channels."""
    consent = {("guardian", "sms"): "granted", ("guardian", "email"): "granted"}
    fields: dict[str, object] = {
        "birth_date": dt.date(2014, 9, 9),
        "guardian_phone": "0176 1111111",
        "guardian_phone_e164": MOM_PHONE,
        "guardian_email": "mom@example.com",
        "guardian_email_normalized": "mom@example.com",
        "consent": consent,
    }
    return client(client_id, **{**fields, **changes})


# --- R3: a purchase within the window ------------------------------------------------------------


def test_existing_customer_with_a_recent_purchase_is_addressed_on_both_channels() -> None:
    assert decide(client(), "sms", CTX).address == "+4917622222201"
    assert decide(client(), "email", CTX).address == "client1@example.com"
    assert decide(client(), "email", CTX).recipient == "client"


def test_purchase_exactly_at_local_midnight_36_months_ago_counts() -> None:
    assert code(client(visits=(Purchase(WINDOW_START, Decimal("10")),))) is None


def test_purchase_one_second_before_the_window_does_not_count() -> None:
    visit = Purchase(WINDOW_START - dt.timedelta(seconds=1), Decimal("10"))
    assert code(client(visits=(visit,))) == "R3:no_purchase_in_window"


def test_the_salons_time_zone_decides_where_3_years_start() -> None:
    # 29 Feb 2024 12:00 UTC is inside "3 years" counted in UTC (today is still 28 Feb there)
    # but before midnight of 1 March 2024 in Berlin.
    visit = Purchase(dt.datetime(2024, 2, 29, 12, tzinfo=dt.UTC), Decimal("10"))
    in_utc = dataclasses.replace(CTX, timezone="UTC")
    assert code(client(visits=(visit,)), ctx=in_utc) is None
    assert code(client(visits=(visit,))) == "R3:no_purchase_in_window"


def test_window_start_is_local_midnight_of_the_same_day_36_months_ago() -> None:
    assert CTX.window_start == WINDOW_START
    assert CTX.window_start == dt.datetime(2024, 2, 29, 23, tzinfo=dt.UTC)


def test_window_from_a_leap_day_starts_on_28_february() -> None:
    start = window_start(at(2028, 2, 29, 12), "Europe/Berlin", 36)
    assert start == at(2025, 2, 28)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2028, 2, 29), 36, dt.date(2025, 2, 28)),
        (dt.date(2028, 2, 29), 48, dt.date(2024, 2, 29)),
        (dt.date(2027, 3, 31), 1, dt.date(2027, 2, 28)),
        (dt.date(2024, 3, 31), 1, dt.date(2024, 2, 29)),
        (dt.date(2027, 1, 15), 13, dt.date(2025, 12, 15)),
        (dt.date(2027, 12, 31), 12, dt.date(2026, 12, 31)),
    ],
)
def test_months_before_keeps_the_day_or_clamps_to_the_months_end(
    day: dt.date, months: int, expected: dt.date
) -> None:
    assert months_before(day, months) == expected


def test_a_narrowed_window_leaves_out_an_older_purchase() -> None:
    thirteen_months_ago = client(visits=(Purchase(at(2026, 1, 20), Decimal("30")),))
    assert code(thirteen_months_ago) is None
    narrow = AudienceContext(now=NOW, timezone="Europe/Berlin", window_months=12, gate_on=GATE_ON)
    assert code(thirteen_months_ago, ctx=narrow) == "R3:no_purchase_in_window"


@pytest.mark.parametrize("months", [0, 37, 120])
def test_the_window_can_never_be_widened_past_36_months(months: int) -> None:
    with pytest.raises(ValueError, match="window_months"):
        AudienceContext(now=NOW, timezone="Europe/Berlin", window_months=months, gate_on=GATE_ON)


def test_the_gate_refuses_a_naive_now() -> None:
    with pytest.raises(ValueError, match="naive"):
        AudienceContext(
            now=dt.datetime(2027, 3, 1), timezone="UTC", window_months=36, gate_on=GATE_ON
        )


def test_a_visit_without_a_sale_is_no_purchase() -> None:
    assert code(client(visits=(Purchase(at(2026, 11, 20), Decimal("0")),))) == (
        "R3:no_purchase_in_window"
    )


def test_a_purchase_dated_after_now_does_not_count() -> None:
    assert code(client(visits=(Purchase(at(2027, 3, 1, 9), Decimal("10")),))) == (
        "R3:no_purchase_in_window"
    )


def test_imported_client_with_only_visits_from_before_the_import_gets_no_marketing() -> None:
    imported = client(
        imported_at=at(2026, 12, 1),
        visits=(Purchase(at(2026, 11, 20), Decimal("45")), Purchase(at(2026, 12, 1), Decimal("9"))),
    )
    assert code(imported) == "R3:no_purchase_in_window"


def test_imported_client_with_a_purchase_after_the_import_is_addressed() -> None:
    imported = client(
        imported_at=at(2026, 12, 1),
        visits=(Purchase(at(2026, 12, 1, 0, 0, 1), Decimal("45")),),
    )
    assert code(imported) is None


# --- R4: a withdrawal always wins ----------------------------------------------------------------


def test_client_who_withdrew_by_sms_still_gets_email() -> None:
    facts = client(consent={("client", "sms"): "withdrawn", ("client", "email"): "granted"})
    assert code(facts, "sms") == "R4:withdrawn"
    assert code(facts, "email") is None


def test_withdrawal_wins_over_a_guardians_consent() -> None:
    assert code(
        minor(consent={("guardian", "sms"): "granted", ("client", "sms"): "withdrawn"})
    ) == ("R4:withdrawn")


# --- R5: lawful basis ----------------------------------------------------------------------------


def test_existing_customer_from_before_the_gate_needs_no_explicit_consent() -> None:
    assert code(client(created_at=at(2023, 12, 31, 23, 59, 59))) is None


def test_client_created_exactly_at_gate_on_midnight_is_a_new_client() -> None:
    assert code(client(created_at=at(2024, 1, 1))) == "R5:new_client_without_consent"


def test_gate_on_midnight_is_the_salons_not_utc() -> None:
    # 31 Dec 2023 23:30 UTC is already 1 January in Berlin.
    assert code(client(created_at=dt.datetime(2023, 12, 31, 23, 30, tzinfo=dt.UTC))) == (
        "R5:new_client_without_consent"
    )


def test_new_client_needs_explicit_consent_per_channel() -> None:
    facts = client(created_at=at(2025, 6, 1), consent={("client", "email"): "granted"})
    assert code(facts, "email") is None
    assert code(facts, "sms") == "R5:new_client_without_consent"


# --- R6: minors ----------------------------------------------------------------------------------


def test_minor_with_guardian_consent_is_messaged_through_the_guardian() -> None:
    decision = decide(minor(), "sms", CTX)
    assert (decision.code, decision.address, decision.recipient) == (None, MOM_PHONE, "guardian")


def test_minor_without_a_guardian_contact_gets_no_marketing() -> None:
    assert code(minor(guardian_phone=None, guardian_phone_e164=None)) == (
        "R6:minor_without_guardian_contact"
    )
    assert code(minor(guardian_email=""), "email") == "R6:minor_without_guardian_contact"


def test_minor_whose_guardian_never_consented_gets_no_marketing() -> None:
    own_consent_only = minor(consent={("client", "sms"): "granted"})
    assert code(own_consent_only) == "R6:minor_without_guardian_consent"


def test_minor_whose_guardian_withdrew_gets_no_marketing() -> None:
    assert code(minor(consent={("guardian", "sms"): "withdrawn"})) == (
        "R6:minor_without_guardian_consent"
    )


def test_client_turning_16_today_in_berlin_is_an_adult_although_utc_is_still_yesterday() -> None:
    sixteen_today = client(birth_date=dt.date(2011, 3, 1))
    decision = decide(sixteen_today, "sms", CTX)
    assert (decision.code, decision.recipient) == (None, "client")
    in_utc = dataclasses.replace(CTX, timezone="UTC")
    assert code(sixteen_today, ctx=in_utc) == "R6:minor_without_guardian_contact"


def test_client_turning_16_tomorrow_is_a_minor() -> None:
    assert code(client(birth_date=dt.date(2011, 3, 2))) == "R6:minor_without_guardian_contact"


def test_the_age_threshold_is_per_salon() -> None:
    seventeen = client(birth_date=dt.date(2010, 1, 1))
    assert code(seventeen) is None
    strict = AudienceContext(
        now=NOW, timezone="Europe/Berlin", window_months=36, gate_on=GATE_ON, minor_age=18
    )
    assert code(seventeen, ctx=strict) == "R6:minor_without_guardian_contact"


def test_leap_day_child_comes_of_age_on_1_march_in_a_common_year() -> None:
    born = client(birth_date=dt.date(2012, 2, 29))

    def ctx_on(day: dt.datetime) -> AudienceContext:
        return AudienceContext(
            now=day, timezone="Europe/Berlin", window_months=36, gate_on=GATE_ON, minor_age=17
        )

    # Guardian-less, so a minor shows as R6; the purchase is moved into every window.
    born = dataclasses.replace(born, visits=(Purchase(at(2028, 12, 1), Decimal("5")),))
    assert code(born, ctx=ctx_on(at(2029, 2, 28, 23, 59))) == "R6:minor_without_guardian_contact"
    assert code(born, ctx=ctx_on(at(2029, 3, 1, 0, 0))) is None


def test_client_without_a_birth_date_counts_as_an_adult() -> None:
    assert code(client(birth_date=None)) is None


# --- R7: forgotten clients -----------------------------------------------------------------------


def test_forgotten_client_is_never_addressed() -> None:
    assert code(client(anonymised=True, consent={("client", "sms"): "granted"})) == "R7:forgotten"


# --- R8: reachable, one message per address ------------------------------------------------------


def test_client_without_a_phone_gets_no_sms() -> None:
    assert code(client(phone=None, phone_e164=None)) == "R8:no_phone"
    assert code(client(phone="", phone_e164=None)) == "R8:no_phone"


def test_client_with_an_invalid_phone_or_email_is_unreachable() -> None:
    assert code(client(phone="030 123456", phone_e164=None)) == "R8:invalid_phone"
    assert code(client(email="anna@", email_normalized=None), "email") == "R8:invalid_email"
    assert code(client(email=None, email_normalized=None), "email") == "R8:no_email"


def test_minor_is_reachable_only_through_a_valid_guardian_contact() -> None:
    assert code(minor(guardian_phone="0301234", guardian_phone_e164=None)) == "R8:invalid_phone"


def test_family_on_one_phone_gets_one_sms_for_the_lowest_client_id() -> None:
    family = [client(3, phone_e164=MOM_PHONE), client(2, phone_e164=MOM_PHONE), client(5)]
    decisions = select_audience(family, "sms", CTX)
    assert {i: d.code for i, d in decisions.items()} == {
        2: None,
        3: "R8:duplicate_address",
        5: None,
    }


def test_guardian_sharing_a_phone_with_two_children_gets_one_sms() -> None:
    children = [minor(7), minor(4)]
    decisions = select_audience(children, "sms", CTX)
    assert decisions[4].address == MOM_PHONE and decisions[4].recipient == "guardian"
    assert decisions[7].code == "R8:duplicate_address"
    # Both children give the same mother's email, too.
    assert select_audience(children, "email", CTX)[7].code == "R8:duplicate_address"


def test_guardian_who_is_a_client_herself_and_her_child_share_one_sms() -> None:
    mother = client(9, phone_e164=MOM_PHONE)
    decisions = select_audience([mother, minor(8)], "sms", CTX)
    assert decisions[8].code is None and decisions[8].recipient == "guardian"
    assert decisions[9].code == "R8:duplicate_address"


def test_a_refused_client_does_not_take_the_shared_address() -> None:
    withdrawn = client(1, phone_e164=MOM_PHONE, consent={("client", "sms"): "withdrawn"})
    decisions = select_audience([withdrawn, client(2, phone_e164=MOM_PHONE)], "sms", CTX)
    assert decisions[1].code == "R4:withdrawn"
    assert decisions[2].address == MOM_PHONE


# --- R9: suppressed addresses --------------------------------------------------------------------


def test_suppressed_number_gets_no_sms_but_the_client_still_gets_email() -> None:
    ctx = dataclasses.replace(CTX, suppressed=frozenset({("sms", "+4917622222201")}))
    assert code(client(), "sms", ctx) == "R9:suppressed"
    assert code(client(), "email", ctx) is None


def test_suppression_applies_to_the_guardians_address_for_a_minor() -> None:
    ctx = dataclasses.replace(CTX, suppressed=frozenset({("email", "mom@example.com")}))
    assert code(minor(), "email", ctx) == "R9:suppressed"


# --- decide: the first failing rule is the one reported -----------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"anonymised": True, "consent": {("client", "sms"): "withdrawn"}}, "R7:forgotten"),
        ({"consent": {("client", "sms"): "withdrawn"}, "visits": ()}, "R4:withdrawn"),
        ({"birth_date": dt.date(2015, 1, 1), "visits": ()}, "R6:minor_without_guardian_contact"),
        ({"visits": (), "created_at": at(2025, 1, 1)}, "R3:no_purchase_in_window"),
        ({"created_at": at(2025, 1, 1), "phone": None}, "R5:new_client_without_consent"),
        ({"phone": None, "phone_e164": None}, "R8:no_phone"),
    ],
)
def test_the_first_failing_rule_in_gate_order_is_reported(
    changes: dict[str, object], expected: str
) -> None:
    assert code(client(**changes)) == expected


def test_refusal_codes_split_into_rule_and_reason_and_read_in_german() -> None:
    assert split_code("R6:minor_without_guardian_consent") == (
        "R6",
        "minor_without_guardian_consent",
    )
    assert describe("R4", "withdrawn", language="de") == (
        "R4 abgemeldet: Kunde hat die Einwilligung widerrufen"
    )
