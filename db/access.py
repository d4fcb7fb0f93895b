"""The access log (G4): every read or change of client data and every campaign action.

One row per action: who (a staff member, or ``actor`` "operator"/"retention" when none), what
(``action``), which client or campaign, when. ``detail`` never holds personal data: counts,
channels and option values only, so the log itself needs no forgetting.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import AccessLog, Client, Staff, utcnow


@dataclass(frozen=True)
class Actor:
    """Who acts: a staff member (``staff_id``) or, without one, the operator or a job.

    ``via`` names the edge when it is not the command line ("web"): it starts the log's detail,
    so the log tells a click on a staff page from a command typed by the same person.
    """

    salon_id: int | None
    staff_id: int | None = None
    name: str = "operator"
    via: str | None = None

    @property
    def label(self) -> str | None:
        """The access log's ``actor`` column: None when a staff member acted."""
        return None if self.staff_id is not None else self.name


OPERATOR = Actor(salon_id=None)

ACTIONS = (
    "client.create",
    "client.show",
    "client.export",
    "client.forget",
    "client.no_reminders",
    "consent.record",
    "clients.import",
    "visits.import",
    "campaign.create",
    "campaign.validate",
    "campaign.audience",
    "campaign.queue",
    "campaign.pause",
    "campaign.cancel",
    "campaign.resume",
    "campaign.retry",
    "campaign.resolve",
    "campaign.edit",
    "campaign.test",
    "clients.search",
    "message.send",
    "salon.retention",
    "salon.settings",
    "staff.add",
    "staff.unlock",
    "staff.pin_reset",
    "staff.sign_in",
)


def log_access(
    session: Session,
    salon_id: int,
    actor: Actor,
    action: str,
    *,
    client_id: int | None = None,
    campaign_id: int | None = None,
    detail: str | None = None,
    at: dt.datetime | None = None,
) -> AccessLog:
    """Append one access-log row in the caller's transaction (so it commits with the action)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown access-log action {action!r}")
    row = AccessLog(
        salon_id=salon_id,
        staff_id=actor.staff_id,
        actor=actor.label,
        action=action,
        client_id=client_id,
        campaign_id=campaign_id,
        detail=_detail(actor, detail),
        at=at or utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def _detail(actor: Actor, detail: str | None) -> str | None:
    if actor.via is not None:
        detail = f"{actor.via} {detail}" if detail else actor.via
    return detail[:500] if detail else None


def access_entries(
    session: Session,
    salon_id: int,
    *,
    staff_name: str | None = None,
    client_ref: str | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """The salon's access log, newest first, as plain data (staff name and client ref)."""
    query = (
        select(AccessLog, Staff.name, Client.ref)
        .outerjoin(Staff, Staff.id == AccessLog.staff_id)
        .outerjoin(Client, Client.id == AccessLog.client_id)
        .where(AccessLog.salon_id == salon_id)
        .order_by(AccessLog.at.desc(), AccessLog.id.desc())
        .limit(limit)
    )
    if staff_name is not None:
        query = query.where(Staff.name == staff_name)
    if client_ref is not None:
        query = query.where(Client.ref == client_ref)
    return [_entry(row, name, ref) for row, name, ref in session.execute(query)]


def _entry(row: AccessLog, staff_name: str | None, client_ref: str | None) -> dict[str, Any]:
    return {
        "at": row.at.isoformat(),
        "staff": staff_name or row.actor,
        "action": row.action,
        "client": client_ref,
        "campaign": row.campaign_id,
        "detail": row.detail,
    }
