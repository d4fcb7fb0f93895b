"""Creating a client in the salon (C3): the marketing consent answer per channel is required.

The answer is one of:

- ``oral``: the client agreed when asked; a ``granted`` event, source ``oral``, with the staff
  member;
- ``form``: the client signed the intake form; a ``granted`` event, source ``form``, evidence the
  form reference (required);
- ``declined``: the client said no; a ``withdrawn`` event, source ``oral``;
- ``not-asked``: no event (no marketing until asked, R5), but the access log records it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.access import log_access
from db.consent import record_consent
from db.forget import restore_suppressions
from db.models import Client, Salon, utcnow
from gate.contacts import normalise_email, normalise_phone
from services.staff import Actor

log = logging.getLogger("salonpost.rights")

ANSWERS = ("oral", "form", "declined", "not-asked")


class IntakeError(ValueError):
    """The client was not created: a missing or invalid answer, or the ref is taken."""


@dataclass(frozen=True)
class NewClient:
    ref: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    email: str | None = None
    birth_date: dt.date | None = None
    guardian_name: str | None = None
    guardian_phone: str | None = None
    guardian_email: str | None = None
    notes: str | None = None


@dataclass(frozen=True)
class ConsentAnswers:
    sms: str
    email: str
    form_ref: str | None = None

    def check(self) -> None:
        for channel, answer in (("sms", self.sms), ("email", self.email)):
            if answer not in ANSWERS:
                raise IntakeError(f"{channel} consent: answer one of {', '.join(ANSWERS)}")
        if "form" in (self.sms, self.email) and not (self.form_ref or "").strip():
            raise IntakeError("a consent given on the intake form needs the form reference")


def _client_row(salon: Salon, new: NewClient, now: dt.datetime) -> Client:
    region = salon.default_region
    return Client(
        salon_id=salon.id,
        ref=new.ref.strip(),
        first_name=new.first_name,
        last_name=new.last_name,
        phone=new.phone,
        phone_e164=normalise_phone(new.phone, region=region),
        email=new.email,
        email_normalized=normalise_email(new.email),
        birth_date=new.birth_date,
        guardian_name=new.guardian_name,
        guardian_phone=new.guardian_phone,
        guardian_phone_e164=normalise_phone(new.guardian_phone, region=region),
        guardian_email=new.guardian_email,
        guardian_email_normalized=normalise_email(new.guardian_email),
        notes=new.notes,
        created_at=now,
    )


def _check_contacts(salon: Salon, new: NewClient) -> None:
    """A typo in a number or address typed by staff is refused now, not found at send time."""
    for what, phone in (("phone", new.phone), ("guardian phone", new.guardian_phone)):
        if phone and phone.strip() and not _is_number(phone, salon.default_region):
            raise IntakeError(
                f"{what} {phone.strip()!r} is not a valid number (region {salon.default_region})"
            )
    for what, email in (("email", new.email), ("guardian email", new.guardian_email)):
        if email and email.strip() and normalise_email(email) is None:
            raise IntakeError(f"{what} {email.strip()!r} is not a valid address")


def _is_number(raw: str, region: str) -> bool:
    """Any valid number: a landline is fine to store, it just receives no SMS (R8)."""
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(raw, region))
    except phonenumbers.NumberParseException:
        return False


def _record_answer(
    session: Session, client: Client, actor: Actor, channel: str, answers: ConsentAnswers
) -> None:
    answer = getattr(answers, channel)
    if answer == "not-asked":
        return
    record_consent(
        session,
        salon_id=client.salon_id,
        client_id=client.id,
        channel=channel,
        action="withdrawn" if answer == "declined" else "granted",
        source="form" if answer == "form" else "oral",
        staff_id=actor.staff_id,
        evidence=answers.form_ref if answer == "form" else None,
        at=client.created_at,
    )


def create_client(
    session: Session,
    salon: Salon,
    new: NewClient,
    answers: ConsentAnswers,
    actor: Actor,
    *,
    secret_key: str,
) -> Client:
    """A new client with its consent answers, logged; the caller commits."""
    answers.check()
    if not new.ref.strip():
        raise IntakeError("a client needs a ref")
    taken = session.scalar(
        select(Client.id).where(Client.salon_id == salon.id, Client.ref == new.ref.strip())
    )
    if taken is not None:
        raise IntakeError(f"a client {new.ref.strip()!r} exists already")
    _check_contacts(salon, new)
    client = _client_row(salon, new, utcnow())
    session.add(client)
    session.flush()
    for channel in ("sms", "email"):
        _record_answer(session, client, actor, channel, answers)
    restore_suppressions(session, salon.id, secret_key=secret_key)
    detail = f"sms={answers.sms} email={answers.email}"
    log_access(session, salon.id, actor, "client.create", client_id=client.id, detail=detail)
    log.info("salon %s: client %s created (%s)", salon.id, client.id, detail)
    return client
