"""Client look-ups scoped to one salon, and forgetting (G1)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Client, Salon

PERSONAL_FIELDS = [
    "first_name",
    "last_name",
    "phone",
    "phone_e164",
    "email",
    "email_normalized",
    "birth_date",
    "guardian_name",
    "guardian_phone",
    "guardian_phone_e164",
    "guardian_email",
    "guardian_email_normalized",
    "notes",
]


class NotFound(LookupError):
    """No such salon or client (or it belongs to another salon, which is the same to the caller)."""


def get_salon(session: Session, slug: str) -> Salon:
    salon = session.scalar(select(Salon).where(Salon.slug == slug))
    if salon is None:
        raise NotFound(f"no salon {slug!r}")
    return salon


def get_client(session: Session, salon: Salon, ref: str) -> Client:
    client = session.scalar(select(Client).where(Client.salon_id == salon.id, Client.ref == ref))
    if client is None:
        raise NotFound(f"no client {ref!r} in salon {salon.slug!r}")
    return client


def forget_client(session: Session, client: Client, *, secret_key: str | None = None) -> None:
    """Anonymise a client's personal data; visits and delivery counts stay for the reports.

    See :func:`db.forget.anonymise`; staff use :func:`services.rights.forget` (PIN, access log).
    """
    from db.forget import anonymise

    anonymise(session, client, secret_key=secret_key)


def client_document(session: Session, client: Client) -> dict[str, Any]:
    """The client with current consent and full consent history, for ``client show``."""
    from db.consent import consent_history

    history = consent_history(session, client.id)
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
        "consent": {
            channel: current.get(f"client:{channel}", "not_asked") for channel in ("sms", "email")
        },
        "guardian_consent": {
            channel: current.get(f"guardian:{channel}", "not_asked") for channel in ("sms", "email")
        },
        "consent_history": history,
    }
