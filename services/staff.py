"""Staff members and their personal PINs (G4).

A PIN is 4 to 6 digits. It is stored as an Argon2id hash of HMAC-SHA256(pepper, PIN): the pepper
is a server setting (``SALONPOST_PIN_PEPPER``) kept outside the database, so a stolen database
alone does not let anyone try the million possible PINs offline.

Five wrong PINs in a row lock the staff member for 15 minutes; every further lock-out before the
next correct PIN lasts twice as long as the one before (15, 30, 60 ... minutes). While locked,
PINs are not even checked. Errors (:mod:`services.errors`)::

    BadInput     the PIN is empty or not 4-6 digits (nothing counted); a name that is no name
    Forbidden    unknown staff member, wrong PIN, or locked (``locked_until``)
    Conflict     the name or the PIN is taken in this salon
    NotFound     no staff member of that name (unlock, reset)

The operator's commands on staff (add, unlock, reset) each write one access-log row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
from enum import Enum
from typing import TypedDict

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.access import Actor, access_entries, log_access
from db.models import Salon, Staff, utcnow
from services.errors import BadInput, Conflict, Forbidden, NotFound

log = logging.getLogger("salonpost.staff")

MAX_TRIES = 5
FIRST_LOCK = dt.timedelta(minutes=15)
_PIN = re.compile(r"[0-9]{4,6}")
_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile


class PinCheck(Enum):
    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"


def check_pin_format(pin: str | None) -> str:
    if pin is None or not pin.strip():
        raise BadInput("error.pin_empty", field="pin")
    if not _PIN.fullmatch(pin):
        raise BadInput("error.pin_format", field="pin")
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
        raise BadInput("error.staff_no_name", field="name")
    if _PIN.fullmatch(name.strip()):
        raise BadInput("error.staff_name_number", field="name")
    pin_hash = hash_pin(pin, pepper=pepper)
    if find_staff(session, salon.id, name) is not None:
        raise Conflict("error.staff_exists", name=name.strip())
    if _holder_of(session, salon.id, pin, pepper=pepper) is not None:
        # `--staff PIN` identifies the staff member by the PIN alone, so PINs are unique per salon.
        raise Conflict("error.pin_taken")
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
        raise Conflict("error.pin_taken")
    staff.pin_hash, staff.failed_pins, staff.lockouts, staff.locked_until = pin_hash, 0, 0, None
    return staff


def _named(session: Session, salon: Salon, name: str) -> Staff:
    staff = find_staff(session, salon.id, name)
    if staff is None:
        raise NotFound(f"staff member {name.strip()!r}")
    return staff


def is_pin(value: str) -> bool:
    return _PIN.fullmatch(value.strip()) is not None


def _holder_of(session: Session, salon_id: int, pin: str, *, pepper: str) -> Staff | None:
    staff = session.scalars(select(Staff).where(Staff.salon_id == salon_id).order_by(Staff.id))
    return next((s for s in staff if pin_matches(s.pin_hash, pin, pepper=pepper)), None)


def authenticate_by_pin(
    session: Session, salon_id: int, pin: str, *, pepper: str, now: dt.datetime | None = None
) -> Actor:
    """The staff member whose PIN this is (``--staff PIN``), or :class:`Forbidden`.

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
    raise Forbidden("error.pin_refused")


def _checked(staff: Staff, pin: str, *, pepper: str, now: dt.datetime) -> Actor:
    outcome = check_pin(staff, pin, pepper=pepper, now=now)
    if outcome is PinCheck.LOCKED:
        log.warning("salon %s staff %s: PIN refused (locked)", staff.salon_id, staff.id)
        raise _locked(staff)
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
    """The staff member for ``name`` and ``pin``, or :class:`Forbidden`.

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
        raise Forbidden("error.pin_refused")
    outcome = check_pin(staff, pin, pepper=pepper, now=now)
    if outcome is not PinCheck.OK:
        # Ids and counts only: never the PIN that was typed.
        log.warning("salon %s staff %s: PIN refused (%s)", salon_id, staff.id, outcome.value)
    if outcome is PinCheck.LOCKED:
        raise _locked(staff)
    if outcome is PinCheck.WRONG:
        raise Forbidden("error.pin_refused")
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


def _locked(staff: Staff) -> Forbidden:
    until = staff.locked_until
    shown = until.isoformat(timespec="minutes") if until else ""
    return Forbidden("error.pin_locked", locked_until=until, until=shown)


# -- the operator's commands on staff (each one access-log row) -----------------------------------


def _logged(session: Session, salon: Salon, actor: Actor, action: str, staff: Staff) -> Staff:
    detail = f"staff={staff.id} role={staff.role}"
    log_access(session, salon.id, actor, action, detail=detail)
    return staff


def add(
    session: Session, actor: Actor, salon: Salon, name: str, pin: str, *, pepper: str, role: str
) -> Staff:
    """``staff add``: a new staff member with a PIN, logged."""
    staff = add_staff(session, salon, name, pin, pepper=pepper, role=role)
    return _logged(session, salon, actor, "staff.add", staff)


def unlock(session: Session, actor: Actor, salon: Salon, name: str) -> Staff:
    """``staff unlock``: lift a lock-out early, logged."""
    return _logged(session, salon, actor, "staff.unlock", unlock_staff(session, salon, name))


def reset(
    session: Session, actor: Actor, salon: Salon, name: str, pin: str, *, pepper: str
) -> Staff:
    """``staff reset-pin``: a new PIN for a staff member who forgot theirs, logged."""
    staff = reset_pin(session, salon, name, pin, pepper=pepper)
    return _logged(session, salon, actor, "staff.pin_reset", staff)


class AccessEntry(TypedDict):
    at: str
    staff: str | None
    action: str
    client: str | None
    campaign: int | None
    detail: str | None


class AccessLogDocument(TypedDict):
    """``access-log --json``: the salon's access log, newest first."""

    salon: str
    entries: list[AccessEntry]


def access_log(
    session: Session, salon: Salon, *, staff_name: str | None = None, client_ref: str | None = None
) -> AccessLogDocument:
    """Who read or changed which client or campaign, and when (G4); newest first."""
    entries = access_entries(session, salon.id, staff_name=staff_name, client_ref=client_ref)
    return {"salon": salon.slug, "entries": entries}  # type: ignore[typeddict-item]
