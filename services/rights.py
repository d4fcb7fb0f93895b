"""Client rights and retention: forget on request (G1), export (G3), automatic forgetting (G2).

Each use case takes the acting :class:`db.access.Actor` and writes exactly one access-log row in
the caller's transaction; another salon's client is "not found", a forgotten client cannot be
forgotten again (:class:`services.errors.Conflict`).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy.orm import Session

from db.access import Actor, log_access
from db.forget import AlreadyForgotten, ForgetMessages, anonymise
from db.models import Client, Salon, utcnow
from services.errors import BadInput, Conflict, NotFound, Unavailable
from services.export import export_document

log = logging.getLogger("salonpost.rights")
MAX_RETENTION_MONTHS = 240


def _own(salon: Salon, client: Client) -> Client:
    if client.salon_id != salon.id:
        raise NotFound(f"client {client.id} in salon {salon.slug!r}")
    return client


def forget(
    session: Session,
    actor: Actor,
    salon: Salon,
    client: Client,
    *,
    secret_key: str,
    now: dt.datetime | None = None,
    forget_messages: ForgetMessages | None = None,
) -> None:
    """Forget the client on request (G1); irreversible. The caller commits.

    ``forget_messages``: removes the copies channels keep (the outbox files), see
    :func:`db.forget.anonymise`; when it fails nothing is forgotten (:class:`Unavailable`).
    """
    try:
        anonymise(
            session, _own(salon, client), secret_key=secret_key, now=now or utcnow(),
            forget_messages=forget_messages,
        )  # fmt: skip
    except AlreadyForgotten:
        raise Conflict("error.already_forgotten") from None
    except OSError as exc:
        raise Unavailable("error.forget_files_failed", what=exc) from None
    log_access(session, salon.id, actor, "client.forget", client_id=client.id, detail="request")
    log.info("salon %s: client %s forgotten on request by %s", salon.id, client.id, _who(actor))


def export(session: Session, actor: Actor, salon: Salon, client: Client) -> dict[str, Any]:
    """Everything stored about the client (format in :mod:`services.export`); the export is
    logged first, so the document shows it too."""
    log_access(session, salon.id, actor, "client.export", client_id=_own(salon, client).id)
    log.info("salon %s: client %s exported by staff %s", salon.id, client.id, actor.staff_id)
    return export_document(session, salon, client)


def set_retention(
    session: Session,
    actor: Actor,
    salon: Salon,
    months: int | None,
    *,
    now: dt.datetime | None = None,
    also: str | None = None,
) -> None:
    """Switch automatic forgetting on (``months``) or off (None); the caller commits.

    Switching on starts the schedule (first run the following night); changing the months of a
    switched-on salon keeps it. ``also``: other settings changed with it, for the same log row.
    """
    if months is not None and not 1 <= months <= MAX_RETENTION_MONTHS:
        raise BadInput(
            "error.retention_months", field="retention_months", most=MAX_RETENTION_MONTHS
        )
    if months is None:
        salon.retention_months, salon.retention_enabled_at = None, None
    else:
        if salon.retention_months is None or salon.retention_enabled_at is None:
            salon.retention_enabled_at = now or utcnow()
        salon.retention_months = months
    detail = f"months={months if months is not None else 'off'}"
    if also is not None:  # saved with the salon's other settings
        detail = f"settings {detail} {also}".strip()
    log_access(session, salon.id, actor, "salon.retention", detail=detail)


def _who(actor: Actor) -> str:
    return f"staff {actor.staff_id}" if actor.staff_id is not None else str(actor.label)
