"""Consent as an append-only log (C1, C2): record events, derive the current state."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import CHANNELS, CONSENT_ACTIONS, CONSENT_SOURCES, ConsentEvent, utcnow


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
    party: str = "client",
    staff_id: int | None = None,
    campaign_id: int | None = None,
    evidence: str | None = None,
    dedupe_key: str | None = None,
    at: dt.datetime | None = None,
) -> ConsentEvent:
    """Append one consent event; the caller commits."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    if action not in CONSENT_ACTIONS:
        raise ValueError(f"unknown consent action {action!r}")
    if source not in CONSENT_SOURCES:
        raise ValueError(f"unknown consent source {source!r}")
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
