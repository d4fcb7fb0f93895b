"""Consent as an append-only log (C1, C2): record events, derive the current state."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    Insert,
    Integer,
    String,
    bindparam,
    exists,
    func,
    literal,
    null,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.models import Campaign, Client, ConsentEvent, utcnow
from db.states import Channel, ConsentAction, ConsentParty, ConsentSource


def current_consent(session: Session, client_id: int) -> dict[tuple[str, str], str]:
    """(party, channel) -> latest action, from the log."""
    events = session.scalars(
        select(ConsentEvent).where(ConsentEvent.client_id == client_id).order_by(ConsentEvent.id)
    )
    return {(event.party, event.channel): event.action for event in events}


def record_consent(
    session: Session,
    *,
    salon_id: int,
    client_id: int,
    channel: str,
    action: str,
    source: str,
    party: str = ConsentParty.CLIENT,
    staff_id: int | None = None,
    campaign_id: int | None = None,
    evidence: str | None = None,
    dedupe_key: str | None = None,
    at: dt.datetime | None = None,
) -> ConsentEvent:
    """Append one consent event; the caller commits."""
    _check(channel, action, source)
    event = ConsentEvent(
        salon_id=salon_id,
        client_id=client_id,
        channel=channel,
        party=party,
        action=action,
        source=source,
        staff_id=staff_id,
        campaign_id=campaign_id,
        evidence=evidence,
        dedupe_key=dedupe_key,
        at=at or utcnow(),
    )
    session.add(event)
    session.flush()
    return event


def _check(channel: str, action: str, source: str) -> None:
    if channel not in tuple(Channel):
        raise ValueError(f"unknown channel {channel!r}")
    if action not in tuple(ConsentAction):
        raise ValueError(f"unknown consent action {action!r}")
    if source not in tuple(ConsentSource):
        raise ValueError(f"unknown consent source {source!r}")


def record_consent_once(
    session: Session | Connection,
    *,
    dedupe_key: str,
    salon_id: int,
    client_id: int,
    channel: str,
    action: str,
    source: str,
    party: str = ConsentParty.CLIENT,
    campaign_id: int | None = None,
    evidence: str | None = None,
    at: dt.datetime | None = None,
) -> bool:
    """Append one consent event unless an event with ``dedupe_key`` exists; True if appended.

    Why INSERT .. ON CONFLICT DO NOTHING rather than catching IntegrityError: a concurrent
    duplicate (two webhook deliveries, two clicks) waits for the first and then inserts nothing,
    without aborting the caller's transaction on PostgreSQL or needing a savepoint on SQLite.
    Takes a Session or a Core Connection. The caller commits.
    """
    _check(channel, action, source)
    values: dict[str, Any] = {
        "salon_id": salon_id,
        "client_id": client_id,
        "channel": channel,
        "party": party,
        "action": action,
        "source": source,
        "campaign_id": campaign_id,
        "evidence": evidence,
        "dedupe_key": dedupe_key,
        "at": at or utcnow(),
    }
    bind = session if isinstance(session, Connection) else session.get_bind()
    dialect = postgresql if bind.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(ConsentEvent)
        .values(values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(ConsentEvent.id)
    )
    return session.execute(statement).first() is not None


def withdraw_by_link(
    conn: Connection, *, salon_id: int, client_id: int, channel: str, campaign_id: int | None
) -> bool:
    """Append the client's withdrawal (source ``link``) unless already withdrawn; True if appended.

    Runs :func:`link_withdrawal`; on an autocommit connection it is its own transaction.
    """
    statement, values = link_withdrawal(
        conn.dialect.name,
        salon_id=salon_id,
        client_id=client_id,
        channel=channel,
        campaign_id=campaign_id,
    )
    return conn.execute(statement, values).first() is not None


def link_withdrawal(
    dialect_name: str, *, salon_id: int, client_id: int, channel: str, campaign_id: int | None
) -> tuple[Insert, dict[str, Any]]:
    """The statement and values appending a withdrawal by link; it returns the new event's id.

    Nothing is appended unless the client is the salon's (and the campaign, if named, too): the
    token's claims are checked in the same statement, so a first click is one round trip (the
    link is the public hot path). The dedupe key names the latest event seen, so concurrent
    clicks race for one key and only one event is stored, while a click after a re-grant (a
    newer latest event) stores a new withdrawal: a withdrawal always wins.
    """
    if channel not in tuple(Channel):
        raise ValueError(f"unknown channel {channel!r}")
    values = {
        "salon_id": salon_id,
        "client_id": client_id,
        "channel": channel,
        "campaign_id": campaign_id,
        "key_prefix": f"link:{client_id}:{channel}:after:",
        # Naive UTC, as UTCDateTime stores it: the statement may run on a raw driver connection.
        "at": utcnow().replace(tzinfo=None),
    }
    return _withdrawal(dialect_name, campaign_id is not None), values


@cache
def _withdrawal(dialect_name: str, with_campaign: bool) -> Insert:
    """The statement of :func:`withdraw_by_link`, built once (it is hot) per dialect and shape."""
    client_id, channel = bindparam("client_id", type_=Integer), bindparam("channel", type_=String)
    salon_id = bindparam("salon_id", type_=Integer)
    latest_id = (
        select(func.max(ConsentEvent.id))
        .where(
            ConsentEvent.client_id == client_id,
            ConsentEvent.channel == channel,
            ConsentEvent.party == "client",
        )
        .scalar_subquery()
    )
    latest_action = select(ConsentEvent.action).where(ConsentEvent.id == latest_id)
    campaign_id = bindparam("campaign_id", type_=Integer) if with_campaign else null()
    event = select(
        salon_id,
        Client.id,
        channel,
        literal("client"),
        literal("withdrawn"),
        literal("link"),
        campaign_id,
        bindparam("key_prefix", type_=String) + func.coalesce(latest_id, 0).cast(String),
        bindparam("at", type_=DateTime()),
    ).where(
        Client.id == client_id,
        Client.salon_id == salon_id,
        func.coalesce(latest_action.scalar_subquery(), "") != "withdrawn",
    )
    if with_campaign:
        event = event.where(
            exists().where(Campaign.id == campaign_id, Campaign.salon_id == salon_id)
        )
    columns = ["salon_id", "client_id", "channel", "party", "action", "source", "campaign_id"]
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement: Insert = (
        dialect.insert(ConsentEvent)
        .from_select([*columns, "dedupe_key", "at"], event)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(ConsentEvent.id)
    )
    return statement


def latest_events(session: Session, client_id: int, channel: str) -> dict[str, tuple[int, str]]:
    """party -> (id, action) of the latest consent event of a client on a channel."""
    latest = (
        select(func.max(ConsentEvent.id))
        .where(ConsentEvent.client_id == client_id, ConsentEvent.channel == channel)
        .group_by(ConsentEvent.party)
    )
    rows = session.execute(
        select(ConsentEvent.party, ConsentEvent.id, ConsentEvent.action).where(
            ConsentEvent.id.in_(latest)
        )
    )
    return {row.party: (row.id, row.action) for row in rows}


def ever_granted(
    session: Session, client_id: int, channel: str, party: str = ConsentParty.CLIENT
) -> bool:
    """True if the log holds a grant for the client (or guardian) on the channel."""
    found = session.scalar(
        select(ConsentEvent.id)
        .where(
            ConsentEvent.client_id == client_id,
            ConsentEvent.channel == channel,
            ConsentEvent.party == party,
            ConsentEvent.action == "granted",
        )
        .limit(1)
    )
    return found is not None


def consent_history(session: Session, client_id: int) -> list[dict[str, str | int | None]]:
    """Every consent event of a client, oldest first, as plain data."""
    events = session.scalars(
        select(ConsentEvent).where(ConsentEvent.client_id == client_id).order_by(ConsentEvent.id)
    )
    return [
        {
            "at": event.at.isoformat(),
            "channel": event.channel,
            "party": event.party,
            "action": event.action,
            "source": event.source,
            "staff_id": event.staff_id,
            "campaign_id": event.campaign_id,
            "evidence": event.evidence,
        }
        for event in events
    ]
