"""Staff members and their personal PINs (G4).

A PIN is 4 to 6 digits. It is stored as an Argon2id hash of HMAC-SHA256(pepper, PIN): the pepper
is a server setting (``SALONPOST_PIN_PEPPER``) kept outside the database, so a stolen database
alone does not let anyone try the million possible PINs offline.

Five wrong PINs in a row lock the staff member for 15 minutes; every further lock-out before the
next correct PIN lasts twice as long as the one before (15, 30, 60 ... minutes). While locked,
PINs are not even checked. Errors::

    StaffError
     ├── BadPin            the PIN is empty or not 4-6 digits (nothing counted)
     ├── PinRefused        unknown staff member, wrong PIN, or locked (``locked_until``)
     └── StaffExists       the name is taken in this salon
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
from dataclasses import dataclass
from enum import Enum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Salon, Staff, utcnow

log = logging.getLogger("salonpost.staff")

MAX_TRIES = 5
FIRST_LOCK = dt.timedelta(minutes=15)
_PIN = re.compile(r"[0-9]{4,6}")
_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile


class StaffError(ValueError):
    """Root of the staff/PIN errors."""


class BadPin(StaffError):
    """The PIN is empty or not 4-6 digits."""


class StaffExists(StaffError):
    """A staff member of that name exists in the salon."""


class PinRefused(StaffError):
    """Wrong staff member or PIN, or locked; ``locked_until`` is set when locked."""

    def __init__(self, message: str, locked_until: dt.datetime | None = None) -> None:
        super().__init__(message)
        self.locked_until = locked_until


class PinCheck(Enum):
    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"


@dataclass(frozen=True)
class Actor:
    """Who acts: a staff member (``staff_id``) or, without one, the operator or a job."""

    salon_id: int | None
    staff_id: int | None = None
    name: str = "operator"

    @property
    def label(self) -> str | None:
        """The access log's ``actor`` column: None when a staff member acted."""
        return None if self.staff_id is not None else self.name


OPERATOR = Actor(salon_id=None)


def check_pin_format(pin: str | None) -> str:
    if pin is None or not pin.strip():
        raise BadPin("an empty PIN is not a PIN")
    if not _PIN.fullmatch(pin):
        raise BadPin("a PIN is 4 to 6 digits")
    return pin


def _peppered(pin: str, pepper: str) -> str:
    return hmac.new(pepper.encode(), pin.encode(), hashlib.sha256).hexdigest()


def hash_pin(pin: str, *, pepper: str) -> str:
    return _hasher.hash(_peppered(check_pin_format(pin), pepper))


def pin_matches(pin_hash: str | None, pin: str, *, pepper: str) -> bool:
    if not pin_hash:
        return False
    try:
        return _hasher.verify(pin_hash, _peppered(pin, pepper))
    except (VerificationError, InvalidHashError):
        return False


def add_staff(
    session: Session, salon: Salon, name: str, pin: str, *, pepper: str, role: str = "marketing"
) -> Staff:
    """A new staff member with a PIN; the caller commits."""
    if not name.strip():
        raise StaffError("a staff member needs a name")
    if _PIN.fullmatch(name.strip()):
        raise StaffError("a staff member's name cannot be a number: it would read as a PIN")
    pin_hash = hash_pin(pin, pepper=pepper)
    if find_staff(session, salon.id, name) is not None:
        raise StaffExists(f"a staff member {name!r} exists already")
    if _holder_of(session, salon.id, pin, pepper=pepper) is not None:
        # `--staff PIN` identifies the staff member by the PIN alone, so PINs are unique per salon.
        raise StaffError("another staff member of this salon has that PIN; choose another")
    staff = Staff(salon_id=salon.id, name=name.strip(), role=role, pin_hash=pin_hash)
    session.add(staff)
    session.flush()
    return staff


def unlock_staff(session: Session, salon: Salon, name: str) -> Staff:
    """Lift a lock-out early (the operator has spoken to the staff member); the caller commits.

    The lock-out count is kept, so a staff member who locks themselves again soon waits longer;
    it resets with the next correct PIN, as ever."""
    staff = _named(session, salon, name)
    staff.failed_pins, staff.locked_until = 0, None
    return staff


def reset_pin(session: Session, salon: Salon, name: str, pin: str, *, pepper: str) -> Staff:
    """Give a staff member who forgot their PIN a new one; it also lifts any lock-out."""
    staff = _named(session, salon, name)
    pin_hash = hash_pin(pin, pepper=pepper)
    holder = _holder_of(session, salon.id, pin, pepper=pepper)
    if holder is not None and holder.id != staff.id:
        raise StaffError("another staff member of this salon has that PIN; choose another")
    staff.pin_hash, staff.failed_pins, staff.lockouts, staff.locked_until = pin_hash, 0, 0, None
    return staff


def _named(session: Session, salon: Salon, name: str) -> Staff:
    staff = find_staff(session, salon.id, name)
    if staff is None:
        raise StaffError(f"salon {salon.slug!r} has no staff member {name.strip()!r}")
    return staff


def is_pin(value: str) -> bool:
    return _PIN.fullmatch(value.strip()) is not None


def _holder_of(session: Session, salon_id: int, pin: str, *, pepper: str) -> Staff | None:
    staff = session.scalars(select(Staff).where(Staff.salon_id == salon_id).order_by(Staff.id))
    return next((s for s in staff if pin_matches(s.pin_hash, pin, pepper=pepper)), None)


def authenticate_by_pin(
    session: Session, salon_id: int, pin: str, *, pepper: str, now: dt.datetime | None = None
) -> Actor:
    """The staff member whose PIN this is (``--staff PIN``), or :class:`PinRefused`.

    A wrong PIN cannot be pinned on one person, so it counts against every staff member of the
    salon who is not locked yet: guessing through the PIN space is throttled salon-wide, which
    is the online limit that makes short PINs defensible.
    """
    check_pin_format(pin)
    now = now or utcnow()
    staff = list(
        session.scalars(
            select(Staff).where(Staff.salon_id == salon_id).order_by(Staff.id).with_for_update()
        )
    )
    holder = next((s for s in staff if pin_matches(s.pin_hash, pin, pepper=pepper)), None)
    if holder is not None:
        return _checked(holder, pin, pepper=pepper, now=now)
    for member in staff:
        check_pin(member, pin, pepper=pepper, now=now)
    log.warning("salon %s: PIN matched no staff member", salon_id)
    raise PinRefused("unknown staff member or wrong PIN")


def _checked(staff: Staff, pin: str, *, pepper: str, now: dt.datetime) -> Actor:
    outcome = check_pin(staff, pin, pepper=pepper, now=now)
    if outcome is PinCheck.LOCKED:
        log.warning("salon %s staff %s: PIN refused (locked)", staff.salon_id, staff.id)
        raise PinRefused("too many wrong PINs: locked", locked_until=staff.locked_until)
    return Actor(salon_id=staff.salon_id, staff_id=staff.id, name=staff.name)


def find_staff(session: Session, salon_id: int, name: str) -> Staff | None:
    return session.scalar(
        select(Staff).where(Staff.salon_id == salon_id, Staff.name == name.strip())
    )


def check_pin(staff: Staff, pin: str, *, pepper: str, now: dt.datetime | None = None) -> PinCheck:
    """Check a PIN and count the outcome on ``staff``; the caller commits even when refused."""
    now = now or utcnow()
    if staff.locked_until is not None and staff.locked_until > now:
        return PinCheck.LOCKED
    if pin_matches(staff.pin_hash, pin, pepper=pepper):
        staff.failed_pins, staff.lockouts, staff.locked_until = 0, 0, None
        return PinCheck.OK
    staff.failed_pins = (staff.failed_pins or 0) + 1
    if staff.failed_pins >= MAX_TRIES:
        staff.lockouts = (staff.lockouts or 0) + 1
        staff.locked_until = now + FIRST_LOCK * 2 ** (staff.lockouts - 1)
        staff.failed_pins = 0
        return PinCheck.LOCKED
    return PinCheck.WRONG


def authenticate(
    session: Session,
    salon_id: int,
    name: str,
    pin: str,
    *,
    pepper: str,
    now: dt.datetime | None = None,
) -> Actor:
    """The staff member for ``name`` and ``pin``, or :class:`PinRefused`.

    Failed tries are counted on the row; the caller must commit before handling the error
    (as :func:`sign_in` does) or the count is rolled back.
    """
    check_pin_format(pin)
    staff = session.scalar(
        select(Staff)
        .where(Staff.salon_id == salon_id, Staff.name == name.strip())
        .with_for_update()
    )
    if staff is None:
        raise PinRefused("unknown staff member or wrong PIN")
    outcome = check_pin(staff, pin, pepper=pepper, now=now)
    if outcome is not PinCheck.OK:
        # Ids and counts only: never the PIN that was typed.
        log.warning("salon %s staff %s: PIN refused (%s)", salon_id, staff.id, outcome.value)
    if outcome is PinCheck.LOCKED:
        raise PinRefused("too many wrong PINs: locked", locked_until=staff.locked_until)
    if outcome is PinCheck.WRONG:
        raise PinRefused("unknown staff member or wrong PIN")
    return Actor(salon_id=salon_id, staff_id=staff.id, name=staff.name)


def sign_in(
    database_url: str,
    salon_id: int,
    name: str | None,
    pin: str,
    *,
    pepper: str,
    now: dt.datetime | None = None,
) -> Actor:
    """:func:`authenticate` (or :func:`authenticate_by_pin` without a name) in its own
    transaction, committed also when the PIN is refused."""
    from db.session import session_factory

    session = session_factory(database_url)()
    try:
        if name is None:
            return authenticate_by_pin(session, salon_id, pin, pepper=pepper, now=now)
        return authenticate(session, salon_id, name, pin, pepper=pepper, now=now)
    finally:
        session.commit()  # the failed-try count must survive the refusal
        session.close()
