"""One access-log row per staff action (G4), through :func:`db.access.log_access`."""

from __future__ import annotations

from sqlalchemy.orm import Session

from db.access import log_access
from web.staff.auth import Who


def log(
    session: Session,
    who: Who,
    action: str,
    *,
    campaign_id: int | None = None,
    client_id: int | None = None,
    detail: str | None = None,
) -> None:
    log_access(
        session,
        who.salon.id,
        who.actor,
        action,
        campaign_id=campaign_id,
        client_id=client_id,
        detail=f"web {detail}" if detail else "web",
    )
