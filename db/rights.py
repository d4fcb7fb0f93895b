"""Client rights for staff (G1, G3, no-reminders, show): what the CLI and the staff API call.

Every function takes the acting :class:`db.staff.Actor` (signed in with a PIN, see
:func:`db.staff.sign_in`) and writes exactly one access-log row in the caller's transaction.
Errors::

    LookupError
     └── db.clients.NotFound          no such client in this salon (another salon's is the same)
    ValueError
     └── db.forget.AlreadyForgotten   nothing left to forget
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy.orm import Session

from db.access import log_access
from db.clients import NotFound, client_document
from db.forget import ForgetMessages, anonymise
from db.models import Client, Salon, utcnow
from db.staff import Actor

log = logging.getLogger("salonpost.rights")


def client_by_id(session: Session, salon: Salon, client_id: int) -> Client:
    """The client with ``client_id`` of this salon (the staff API's look-up)."""
    client = session.get(Client, client_id)
    if client is None or client.salon_id != salon.id:
        raise NotFound(f"no client {client_id} in salon {salon.slug!r}")
    return client


def show(session: Session, salon: Salon, client: Client, actor: Actor) -> dict[str, Any]:
    """The client with its consent history (``client show``); a logged read."""
    _same_salon(salon, client)
    log_access(session, salon.id, actor, "client.show", client_id=client.id)
    return client_document(session, client)


def forget(
    session: Session,
    salon: Salon,
    client: Client,
    actor: Actor,
    *,
    secret_key: str,
    now: dt.datetime | None = None,
    forget_messages: ForgetMessages | None = None,
) -> None:
    """Forget the client on request (G1); irreversible. The caller commits.

    ``forget_messages``: removes the copies channels keep (the outbox files), see
    :func:`db.forget.anonymise`.
    """
    _same_salon(salon, client)
    anonymise(
        session, client, secret_key=secret_key, now=now or utcnow(), forget_messages=forget_messages
    )
    log_access(session, salon.id, actor, "client.forget", client_id=client.id, detail="request")
    log.info("salon %s: client %s forgotten on request by %s", salon.id, client.id, _who(actor))


def set_no_reminders(
    session: Session, salon: Salon, client: Client, actor: Actor, *, on: bool
) -> None:
    """Switch transactional messages off (``on``) or back on for the client; staff only."""
    _same_salon(salon, client)
    if actor.staff_id is None:
        raise PermissionError("only a staff member with a PIN can change the no-reminders flag")
    client.no_reminders = on
    detail = "on" if on else "off"
    log_access(session, salon.id, actor, "client.no_reminders", client_id=client.id, detail=detail)


def _who(actor: Actor) -> str:
    return f"staff {actor.staff_id}" if actor.staff_id is not None else str(actor.label)


def _same_salon(salon: Salon, client: Client) -> None:
    if client.salon_id != salon.id:
        raise NotFound(f"no client {client.id} in salon {salon.slug!r}")
