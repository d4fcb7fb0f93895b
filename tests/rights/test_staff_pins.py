"""Staff PINs (G4): Argon2id with a pepper, 5 wrong tries lock for 15 minutes, growing."""

from __future__ import annotations

import datetime as dt

import pytest
from rights_support import PEPPER, PIN
from sqlalchemy.orm import Session

from db.models import Salon, Staff
from services.errors import BadInput, Conflict, Forbidden
from services.staff import (
    add_staff,
    pin_matches,
    sign_in,
)
from settings import Settings

T0 = dt.datetime(2025, 3, 1, 10, 0, tzinfo=dt.UTC)


def _try(database_url: str, staff: Staff, pin: str, at: dt.datetime) -> str:
    try:
        sign_in(database_url, staff.salon_id, staff.name, pin, pepper=PEPPER, now=at)
    except Forbidden as exc:
        return "locked" if exc.locked_until else "wrong"
    return "ok"


def test_the_pin_is_stored_as_a_peppered_argon2id_hash(staff: Staff) -> None:
    assert staff.pin_hash is not None and staff.pin_hash.startswith("$argon2id$")
    assert PIN not in staff.pin_hash
    assert pin_matches(staff.pin_hash, PIN, pepper=PEPPER)
    assert not pin_matches(staff.pin_hash, PIN, pepper="another-pepper")


def test_a_correct_pin_signs_the_staff_member_in(database_url: str, staff: Staff) -> None:
    actor = sign_in(database_url, staff.salon_id, "Mia", PIN, pepper=PEPPER)
    assert (actor.staff_id, actor.name) == (staff.id, "Mia")


def test_five_wrong_pins_lock_for_15_minutes_then_longer(
    database_url: str, session: Session, staff: Staff
) -> None:
    assert [_try(database_url, staff, "0000", T0) for _ in range(4)] == ["wrong"] * 4
    assert _try(database_url, staff, "0000", T0) == "locked"
    # Locked: even the right PIN is refused, until 15 minutes have passed.
    assert _try(database_url, staff, PIN, T0 + dt.timedelta(minutes=14)) == "locked"
    again = T0 + dt.timedelta(minutes=15, seconds=1)
    assert [_try(database_url, staff, "0000", again) for _ in range(5)][-1] == "locked"
    session.expire_all()
    row = session.get_one(Staff, staff.id)
    assert row.locked_until == again + dt.timedelta(minutes=30)  # the second lock-out doubles
    assert _try(database_url, staff, PIN, again + dt.timedelta(minutes=29)) == "locked"
    assert _try(database_url, staff, PIN, again + dt.timedelta(minutes=31)) == "ok"


def test_an_empty_pin_is_a_clear_error_and_counts_nothing(
    database_url: str, session: Session, staff: Staff
) -> None:
    for empty in ("", "   "):
        with pytest.raises(BadInput, match="empty PIN"):
            sign_in(database_url, staff.salon_id, "Mia", empty, pepper=PEPPER)
    session.expire_all()
    assert session.get_one(Staff, staff.id).failed_pins == 0


@pytest.mark.parametrize("pin", ["", "123", "1234567", "12a4"])
def test_a_pin_is_4_to_6_digits(session: Session, salon: Salon, pin: str) -> None:
    with pytest.raises(BadInput):
        add_staff(session, salon, "Lea", pin, pepper=PEPPER)


def test_staff_names_are_unique_per_salon(session: Session, salon: Salon, staff: Staff) -> None:
    with pytest.raises(Conflict):
        add_staff(session, salon, "Mia", "123456", pepper=PEPPER)


def test_the_development_pepper_is_refused_outside_development() -> None:
    https = "https://post.salon.example"
    production = Settings(environment="production", secret_key="x" * 40, base_url=https)
    with pytest.raises(ValueError, match="SALONPOST_PIN_PEPPER"):
        production.checked_pin_pepper()
    assert Settings(
        environment="production", secret_key="x" * 40, pin_pepper="p" * 40, base_url=https
    )
    assert Settings().checked_pin_pepper()  # development: the default is fine


def test_the_pin_alone_says_who_acts(database_url: str, session: Session, staff: Staff) -> None:
    """``--staff PIN``: PINs are unique per salon, so a PIN identifies its staff member."""
    salon = session.get_one(Salon, staff.salon_id)
    other = add_staff(session, salon, "Jonas", "24680", pepper=PEPPER)
    session.commit()
    assert sign_in(database_url, salon.id, None, "24680", pepper=PEPPER).staff_id == other.id
    assert sign_in(database_url, salon.id, None, PIN, pepper=PEPPER).staff_id == staff.id
    with pytest.raises(Conflict, match="has that PIN"):
        add_staff(session, salon, "Lea", "24680", pepper=PEPPER)


def test_wrong_pins_without_a_name_throttle_the_whole_salon(
    database_url: str, session: Session, staff: Staff
) -> None:
    for _ in range(4):
        with pytest.raises(Forbidden) as refused:
            sign_in(database_url, staff.salon_id, None, "0000", pepper=PEPPER, now=T0)
        assert refused.value.locked_until is None
    with pytest.raises(Forbidden):
        sign_in(database_url, staff.salon_id, None, "0000", pepper=PEPPER, now=T0)
    with pytest.raises(Forbidden, match="locked"):
        sign_in(database_url, staff.salon_id, None, PIN, pepper=PEPPER, now=T0)
    later = T0 + dt.timedelta(minutes=16)
    assert sign_in(database_url, staff.salon_id, None, PIN, pepper=PEPPER, now=later).name == "Mia"


def test_a_staff_name_cannot_look_like_a_pin(session: Session, salon: Salon) -> None:
    with pytest.raises(BadInput, match="cannot be a number"):
        add_staff(session, salon, "1234", "5678", pepper=PEPPER)
