"""Client use cases: create (C3), show, record a consent answer (C1), "no reminders".

Each writes one access-log row; another salon's client is "not found". Creating a client needs
the marketing consent answer per channel, one of:

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
from typing import TypedDict

import phonenumbers
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from db.access import Actor, log_access
from db.consent import consent_history, record_consent
from db.forget import restore_suppressions
from db.models import Client, Salon, utcnow
from db.states import STAFF_CONSENT_SOURCES, Channel, ConsentAction, ConsentSource
from gate.contacts import normalise_email, normalise_phone
from services.errors import BadInput, Forbidden, Refused
from services.lookups import get_client

log = logging.getLogger("salonpost.rights")

ANSWERS = ("oral", "form", "declined", "not-asked")


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
                raise BadInput(
                    "error.consent_answer", field=f"{channel}_consent", channel=channel,
                    answers=", ".join(ANSWERS),
                )  # fmt: skip
        if "form" in (self.sms, self.email) and not (self.form_ref or "").strip():
            raise BadInput("error.form_ref_needed", field="form_ref")


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
    for name, phone in (("phone", new.phone), ("guardian_phone", new.guardian_phone)):
        if phone and phone.strip() and not _is_number(phone, salon.default_region):
            raise BadInput(
                "error.bad_phone", field=name, value=phone.strip(), region=salon.default_region
            )
    for name, email in (("email", new.email), ("guardian_email", new.guardian_email)):
        if email and email.strip() and normalise_email(email) is None:
            raise BadInput("error.bad_email", field=name, value=email.strip())


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
        action=ConsentAction.WITHDRAWN if answer == "declined" else ConsentAction.GRANTED,
        source=ConsentSource.FORM if answer == "form" else ConsentSource.ORAL,
        staff_id=actor.staff_id,
        evidence=answers.form_ref if answer == "form" else None,
        at=client.created_at,
    )


def create(
    session: Session,
    actor: Actor,
    salon: Salon,
    new: NewClient,
    answers: ConsentAnswers,
    *,
    secret_key: str,
) -> Client:
    """A new client with its consent answers, logged; the caller commits."""
    answers.check()
    if not new.ref.strip():
        raise BadInput("error.client_no_ref", field="ref")
    taken = session.scalar(
        select(Client.id).where(Client.salon_id == salon.id, Client.ref == new.ref.strip())
    )
    if taken is not None:
        raise BadInput("error.client_exists", field="ref", ref=new.ref.strip())
    _check_contacts(salon, new)
    client = _client_row(salon, new, utcnow())
    session.add(client)
    session.flush()
    for channel in Channel:
        _record_answer(session, client, actor, channel, answers)
    restore_suppressions(session, salon.id, secret_key=secret_key)
    detail = f"sms={answers.sms} email={answers.email}"
    log_access(session, salon.id, actor, "client.create", client_id=client.id, detail=detail)
    log.info("salon %s: client %s created (%s)", salon.id, client.id, detail)
    return client


# -- show, consent, no reminders -----------------------------------------------------------------


class ConsentEntry(TypedDict):
    at: str
    channel: str
    party: str
    action: str
    source: str
    staff_id: int | None
    campaign_id: int | None
    evidence: str | None


class ClientDocument(TypedDict):
    """``client show --json``: the client with current consent and the whole history (C2)."""

    ref: str
    first_name: str | None
    last_name: str | None
    phone: str | None
    email: str | None
    birth_date: str | None
    guardian_name: str | None
    guardian_phone: str | None
    guardian_email: str | None
    created_at: str
    imported_at: str | None
    forgotten: bool
    consent: dict[str, str]
    guardian_consent: dict[str, str]
    consent_history: list[ConsentEntry]


def client_document(session: Session, client: Client) -> ClientDocument:
    history: list[ConsentEntry] = consent_history(session, client.id)  # type: ignore[assignment]
    current: dict[str, str] = {}
    for event in history:
        current[f"{event['party']}:{event['channel']}"] = str(event["action"])
    return {
        "ref": client.ref,
        "first_name": client.first_name,
        "last_name": client.last_name,
        "phone": client.phone,
        "email": client.email,
        "birth_date": client.birth_date.isoformat() if client.birth_date else None,
        "guardian_name": client.guardian_name,
        "guardian_phone": client.guardian_phone,
        "guardian_email": client.guardian_email,
        "created_at": client.created_at.isoformat(),
        "imported_at": client.imported_at.isoformat() if client.imported_at else None,
        "forgotten": client.anonymised_at is not None,
        "consent": {ch: current.get(f"client:{ch}", "not_asked") for ch in Channel},
        "guardian_consent": {ch: current.get(f"guardian:{ch}", "not_asked") for ch in Channel},
        "consent_history": history,
    }


def _own(salon: Salon, client: Client) -> Client:
    if client.salon_id != salon.id:
        from services.errors import NotFound

        raise NotFound(f"client {client.id} in salon {salon.slug!r}")
    return client


def show(session: Session, actor: Actor, salon: Salon, client: Client) -> ClientDocument:
    """The client with its consent history (``client show``, the client card); a logged read."""
    log_access(session, salon.id, actor, "client.show", client_id=_own(salon, client).id)
    return client_document(session, client)


def show_by_ref(session: Session, actor: Actor, salon: Salon, ref: str) -> ClientDocument:
    return show(session, actor, salon, get_client(session, salon, ref))


@dataclass(frozen=True)
class ConsentAnswer:
    """A consent answer given in the salon (C1): by the client, recorded by staff."""

    channel: str
    action: str
    source: str = ConsentSource.ORAL
    evidence: str | None = None

    def check(self) -> None:
        if self.channel not in tuple(Channel) or self.action not in tuple(ConsentAction):
            raise BadInput("error.consent_invalid", field="channel", what=self.channel)
        if self.source not in STAFF_CONSENT_SOURCES:
            raise BadInput("error.consent_invalid", field="source", what=self.source)
        granted_on_form = self.source == ConsentSource.FORM and self.action == ConsentAction.GRANTED
        if granted_on_form and not (self.evidence or "").strip():
            raise BadInput("error.form_ref_needed", field="evidence")


def record_answer(
    session: Session, actor: Actor, salon: Salon, client: Client, answer: ConsentAnswer
) -> None:
    """``consent record``, the client card's consent form: one append-only event, logged."""
    answer.check()
    if _own(salon, client).anonymised_at is not None:
        raise Refused("error.client_forgotten", rule="R7")
    record_consent(
        session, salon_id=salon.id, client_id=client.id, channel=answer.channel,
        action=answer.action, source=answer.source,
        evidence=(answer.evidence or "").strip() or None, staff_id=actor.staff_id,
    )  # fmt: skip
    detail = f"{answer.channel} {answer.action} {answer.source}"
    log_access(session, salon.id, actor, "consent.record", client_id=client.id, detail=detail)


def set_no_reminders(
    session: Session, actor: Actor, salon: Salon, client: Client, *, on: bool
) -> None:
    """Switch service messages off (``on``) or back on for the client; staff only."""
    _own(salon, client)
    if actor.staff_id is None:
        raise Forbidden("error.staff_needed", permission="staff")
    client.no_reminders = on
    detail = "on" if on else "off"
    log_access(session, salon.id, actor, "client.no_reminders", client_id=client.id, detail=detail)


def search(
    session: Session, actor: Actor, salon: Salon, query: str, *, limit: int = 50
) -> list[Client]:
    """Clients of the salon by ref, name, exact email or phone number; a logged read."""
    like = f"%{query.strip()}%"
    phone = normalise_phone(query, region=salon.default_region)
    matches = or_(
        Client.ref.ilike(like),
        Client.first_name.ilike(like),
        Client.last_name.ilike(like),
        Client.email_normalized == query.strip().lower(),
        Client.phone_e164 == (phone or "-"),
    )
    found = list(
        session.scalars(
            select(Client)
            .where(Client.salon_id == salon.id, matches)
            .order_by(Client.ref)
            .limit(limit)
        )
    )
    log_access(session, salon.id, actor, "clients.search", detail=f"{len(found)} found")
    return found
