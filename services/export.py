"""A client's stored data as one machine-readable JSON document (G3).

Format ``salonpost.client-export``, version 1::

    {
      "format": "salonpost.client-export", "version": 1,
      "exported_at": "2025-01-31T10:00:00+00:00",
      "salon": {"slug": "anna", "name": "Salon Anna"},
      "client": {...every column of the client row...},
      "visit": [...], "consent_event": [...], "delivery": [...], "exclusion": [...],
      "access_log": [...],      # one list per table that has a client_id column,
                                # every column of every row about this client
      "suppression": [...],     # suppressed addresses that are the client's own
      "campaign": [{"id", "name", "kind", "created_at"}]   # the campaigns referred to above
    }

Times are ISO 8601 in UTC, amounts decimal strings, dates ``YYYY-MM-DD``. Deliveries carry the
message body as sent (``body``); a forgotten client's export holds no personal data any more.
Tables added later with a ``client_id`` column are exported without changes here.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from db.forget import client_addresses
from db.models import Base, Campaign, Client, Salon, Suppression, utcnow

log = logging.getLogger("salonpost.rights")
FORMAT = "salonpost.client-export"
VERSION = 1


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _rows(session: Session, table: Any, *conditions: Any) -> list[dict[str, Any]]:
    result = session.execute(select(table).where(*conditions).order_by(table.c.id))
    return [{k: _plain(v) for k, v in row._mapping.items()} for row in result]


def client_tables() -> list[Table]:
    """Every table with rows about one client (a ``client_id`` column), except ``client``."""
    return [t for t in Base.metadata.sorted_tables if "client_id" in t.c and t.name != "client"]


def _suppressions(session: Session, salon: Salon, client: Client) -> list[dict[str, Any]]:
    table = Suppression.__table__
    found: list[dict[str, Any]] = []
    for channel, address in sorted(client_addresses(client)):
        found += _rows(
            session,
            table,
            table.c.salon_id == salon.id,
            table.c.channel == channel,
            table.c.address == address,
        )
    return found


def _campaigns(session: Session, ids: set[int]) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Campaign.id, Campaign.name, Campaign.kind, Campaign.created_at)
        .where(Campaign.id.in_(ids))
        .order_by(Campaign.id)
    )
    return [{k: _plain(v) for k, v in row._mapping.items()} for row in rows]


def export_document(session: Session, salon: Salon, client: Client) -> dict[str, Any]:
    """Everything stored about ``client`` (see the module docstring); no logging."""
    client_table = Client.__table__
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": utcnow().isoformat(),
        "salon": {"slug": salon.slug, "name": salon.name},
        "client": _rows(session, client_table, client_table.c.id == client.id)[0],
    }
    campaign_ids: set[int] = set()
    for table in client_tables():
        rows = _rows(session, table, table.c.client_id == client.id, table.c.salon_id == salon.id)
        document[table.name] = rows
        campaign_ids |= {r["campaign_id"] for r in rows if r.get("campaign_id") is not None}
    document["suppression"] = _suppressions(session, salon, client)
    document["campaign"] = _campaigns(session, campaign_ids)
    return document
