"""Forgetting a client (G1), on request or by the retention run (G2). Irreversible.

What goes: name, phone, email, birth date, notes, guardian data and the client ref (replaced by
``forgotten-<id>``); in past deliveries the address, the body as sent, the provider's message id
and the provider's error text (they can all lead back to the person); in consent events the
evidence text and the provider's message id. What stays: the client row (``anonymised_at`` set),
visits with their amounts, consent actions with channel, source and time, deliveries with status
and error code, exclusions, the access log. So every report adds up to the same totals after.

Outside the database, copies of the messages may be kept by the channel that sent them (the
outbox folder of the embedded default). ``forget_messages``, given by the caller (who knows the
channels), gets a :class:`MessageTrace` of every delivery of the client and must remove them;
it runs in the caller's transaction, before the commit: a commit that fails after it leaves the
delivery rows (with address and body) to forget again, while a crash after a commit that came
first would leave files no row leads back to.

Suppressions (R9) keep only a keyed hash of an address once no live client of the salon carries
it: ``hash:`` + HMAC-SHA256(secret key, "channel:address"). Suppressions are kept in clear while
some client carries the address because the gate compares addresses in SQL; when an address
turns up again (a new or re-imported client), :func:`restore_suppressions` puts it back in clear,
so the new client is still suppressed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from db.models import Client, ConsentEvent, Delivery, InboundMessage, Suppression, utcnow

HASH_PREFIX = "hash:"
# What forgetting empties on the client row (G1).
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


class AlreadyForgotten(ValueError):
    """The client was forgotten before; there is nothing left to forget."""


@dataclass(frozen=True)
class MessageTrace:
    """What leads from a delivery to the copy of its message a channel may keep."""

    campaign_id: int
    delivery_id: int
    channel: str
    provider_id: str | None


ForgetMessages = Callable[[list[MessageTrace]], object]


def _message_traces(session: Session, client_id: int) -> list[MessageTrace]:
    rows = session.execute(
        select(Delivery.campaign_id, Delivery.id, Delivery.channel, Delivery.provider_id)
        .where(Delivery.client_id == client_id)
        .order_by(Delivery.id)
    )
    return [MessageTrace(*row) for row in rows]


def suppression_key(secret_key: str, channel: str, address: str) -> str:
    """The keyed hash a suppression keeps once the address is forgotten."""
    digest = hmac.new(secret_key.encode(), f"{channel}:{address}".encode(), hashlib.sha256)
    return HASH_PREFIX + digest.hexdigest()


def _pairs(*found: tuple[str, str | None]) -> set[tuple[str, str]]:
    return {(channel, address) for channel, address in found if address}


def client_addresses(client: Client) -> set[tuple[str, str]]:
    return _pairs(
        ("sms", client.phone_e164),
        ("sms", client.guardian_phone_e164),
        ("email", client.email_normalized),
        ("email", client.guardian_email_normalized),
    )


def _delivery_addresses(session: Session, client_id: int) -> set[tuple[str, str]]:
    rows = session.execute(
        select(Delivery.channel, Delivery.address)
        .where(Delivery.client_id == client_id, Delivery.address.is_not(None))
        .distinct()
    )
    return _pairs(*((channel, address) for channel, address in rows))


def _live_addresses(session: Session, salon_id: int, exclude_client: int) -> set[tuple[str, str]]:
    rows = session.execute(
        select(
            Client.phone_e164,
            Client.guardian_phone_e164,
            Client.email_normalized,
            Client.guardian_email_normalized,
        ).where(
            Client.salon_id == salon_id,
            Client.anonymised_at.is_(None),
            Client.id != exclude_client,
        )
    )
    found: set[tuple[str, str]] = set()
    for phone, guardian_phone, email, guardian_email in rows:
        found |= _pairs(("sms", phone), ("sms", guardian_phone))
        found |= _pairs(("email", email), ("email", guardian_email))
    return found


def hash_suppressions(
    session: Session, salon_id: int, addresses: Iterable[tuple[str, str]], *, secret_key: str
) -> int:
    """Replace suppressed ``addresses`` by their keyed hash; the number of rows changed."""
    changed = 0
    for channel, address in addresses:
        row = session.scalar(
            select(Suppression).where(
                Suppression.salon_id == salon_id,
                Suppression.channel == channel,
                Suppression.address == address,
            )
        )
        if row is None:
            continue
        key = suppression_key(secret_key, channel, address)
        if _suppression_exists(session, salon_id, channel, key):
            session.delete(row)
        else:
            row.address = key
        changed += 1
    session.flush()
    return changed


def _suppression_exists(session: Session, salon_id: int, channel: str, address: str) -> bool:
    found = session.scalar(
        select(Suppression.id).where(
            Suppression.salon_id == salon_id,
            Suppression.channel == channel,
            Suppression.address == address,
        )
    )
    return found is not None


def anonymise(
    session: Session,
    client: Client,
    *,
    secret_key: str | None,
    now: dt.datetime | None = None,
    forget_messages: ForgetMessages | None = None,
) -> None:
    """Forget ``client`` in the caller's transaction (see the module docstring for what goes).

    Without ``secret_key`` suppressions are left as they are (the demo's shortcut); without
    ``forget_messages`` copies outside the database are (no channel kept any).
    """
    if client.anonymised_at is not None:
        raise AlreadyForgotten(f"client {client.id} is forgotten already")
    if forget_messages is not None:
        forget_messages(_message_traces(session, client.id))
    addresses = client_addresses(client) | _delivery_addresses(session, client.id)
    for name in PERSONAL_FIELDS:
        setattr(client, name, None)
    client.ref = f"forgotten-{client.id}"
    client.anonymised_at = now or utcnow()
    session.execute(
        update(Delivery)
        .where(Delivery.client_id == client.id)
        .values(address=None, body=None, provider_id=None, error=None)
    )
    session.execute(
        update(ConsentEvent)
        .where(ConsentEvent.client_id == client.id)
        .values(evidence=None, dedupe_key=None)
    )
    session.execute(
        update(InboundMessage)
        .where(InboundMessage.client_id == client.id)
        .values(from_address=None, body=None)
    )
    session.flush()
    if secret_key is not None:
        still_used = _live_addresses(session, client.salon_id, client.id)
        hash_suppressions(session, client.salon_id, addresses - still_used, secret_key=secret_key)


def restore_suppressions(session: Session, salon_id: int, *, secret_key: str) -> int:
    """Put hashed suppressions back in clear for addresses a live client carries again (R9)."""
    hashed = session.execute(
        select(Suppression.id, Suppression.channel, Suppression.address).where(
            Suppression.salon_id == salon_id, Suppression.address.startswith(HASH_PREFIX)
        )
    ).all()
    if not hashed:
        return 0
    keys = {
        suppression_key(secret_key, channel, address): (channel, address)
        for channel, address in _live_addresses(session, salon_id, exclude_client=-1)
    }
    restored = 0
    for row_id, channel, key in hashed:
        match = keys.get(key)
        if match is None or match[0] != channel:
            continue
        if _suppression_exists(session, salon_id, channel, match[1]):
            session.execute(delete(Suppression).where(Suppression.id == row_id))
        else:
            session.execute(
                update(Suppression).where(Suppression.id == row_id).values(address=match[1])
            )
        restored += 1
    return restored


__all__ = [
    "HASH_PREFIX",
    "AlreadyForgotten",
    "ForgetMessages",
    "MessageTrace",
    "anonymise",
    "hash_suppressions",
    "restore_suppressions",
    "suppression_key",
]
