"""Staff sign-in with salon, name and PIN; a signed session cookie; CSRF tokens; the acting staff.

The session cookie (itsdangerous, 8 hours, HttpOnly, SameSite=Strict, Secure over HTTPS) holds
the staff id, the salon id and the session's CSRF token; every POST form carries that token.
Every request loads the staff member again: one who was removed, moved or is locked (too many
wrong PINs, wherever they were typed) can do nothing more with an existing session.

Errors (turned into pages by :func:`web.staff.install`)::

    StaffAuthError(reason)   "signed_out" | "locked" | "csrf"
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from db.access import Actor
from db.models import Salon, Staff, utcnow
from services import transaction
from settings import Settings
from web.i18n import Translator
from web.staff.render import translator

COOKIE = "salonpost_staff"
LOGIN_COOKIE = "salonpost_login"
SESSION_SECONDS = 8 * 3600


class StaffAuthError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SessionData:
    staff_id: int
    salon_id: int
    csrf: str


@dataclass(frozen=True)
class Who:
    """The signed-in staff member of this request, with the page's language."""

    actor: Actor
    salon: Salon
    staff: Staff
    csrf: str
    t: Translator


class Sessions:
    def __init__(self, secret_key: str) -> None:
        self._signer = URLSafeTimedSerializer(secret_key, salt="salonpost.staff-session")

    def dump(self, data: SessionData) -> str:
        return str(self._signer.dumps([data.staff_id, data.salon_id, data.csrf]))

    def load(self, raw: str | None) -> SessionData | None:
        if not raw:
            return None
        try:
            staff_id, salon_id, csrf = self._signer.loads(raw, max_age=SESSION_SECONDS)
        except (BadSignature, ValueError, TypeError):
            return None
        return SessionData(int(staff_id), int(salon_id), str(csrf))


def new_csrf() -> str:
    return secrets.token_urlsafe(24)


def same_token(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def start_session(request: Request, response: Response, settings: Settings, actor: Actor) -> None:
    assert actor.staff_id is not None and actor.salon_id is not None
    data = SessionData(actor.staff_id, actor.salon_id, new_csrf())
    set_cookie(request, response, COOKIE, Sessions(settings.secret_key).dump(data), SESSION_SECONDS)
    response.delete_cookie(LOGIN_COOKIE, path="/")


def session_data(request: Request, settings: Settings) -> SessionData | None:
    return Sessions(settings.secret_key).load(request.cookies.get(COOKIE))


def _who(session: Session, request: Request, data: SessionData) -> Who:
    staff = session.get(Staff, data.staff_id)
    if staff is None or staff.salon_id != data.salon_id:
        raise StaffAuthError("signed_out")
    if staff.locked_until is not None and staff.locked_until > utcnow():
        raise StaffAuthError("locked")
    salon = session.get_one(Salon, data.salon_id)
    actor = Actor(salon_id=salon.id, staff_id=staff.id, name=staff.name, via="web")
    return Who(actor, salon, staff, data.csrf, translator(request, salon.timezone))


@contextmanager
def acting(
    request: Request, settings: Settings, *, csrf_token: str | None = None, change: bool = False
) -> Iterator[tuple[Session, Who]]:
    """The database session and the signed-in staff member; ``change`` checks the CSRF token.

    The session commits when the block ends without an error (the action and its access-log
    row together) or with a use case's refusal (its access-log row), and rolls back otherwise.
    """
    data = session_data(request, settings)
    if data is None:
        raise StaffAuthError("signed_out")
    if change and not same_token(data.csrf, csrf_token):
        raise StaffAuthError("csrf")
    with transaction(settings.database_url) as session:
        yield session, _who(session, request, data)
