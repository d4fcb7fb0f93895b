"""A salon written row by row, with the facts the pure rules see kept beside the rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from db.models import Client, ConsentEvent, Salon, Suppression, Visit
from gate.audience import audience_query
from gate.rules import AudienceContext, ClientFacts, Purchase, select_audience


class SalonRows:
    """Clients of one salon as rows; ``audience`` asks the SQL, ``pure`` the rules, same data."""

    def __init__(self, session: Session, salon: Salon) -> None:
        self.session, self.salon = session, salon
        self.facts: list[ClientFacts] = []
        self.suppressed: set[tuple[str, str]] = set()

    def client(
        self,
        *,
        visits: tuple[tuple[dt.datetime, str], ...] = (),
        consent: tuple[tuple[str, str, str], ...] = (),
        **fields: Any,
    ) -> int:
        row = Client(salon_id=self.salon.id, ref=f"k{len(self.facts) + 1}", **fields)
        self.session.add(row)
        self.session.flush()
        for at, amount in visits:
            self.session.add(
                Visit(
                    salon_id=self.salon.id, client_id=row.id, visited_at=at, amount=Decimal(amount)
                )
            )
        for party, channel, action in consent:  # oldest first; one flush each keeps id order
            self.session.add(
                ConsentEvent(
                    salon_id=self.salon.id,
                    client_id=row.id,
                    party=party,
                    channel=channel,
                    action=action,
                    source="oral",
                )
            )
            self.session.flush()
        contact = {k: v for k, v in fields.items() if k.startswith(("phone", "email", "guardian_"))}
        self.facts.append(
            ClientFacts(
                client_id=row.id,
                created_at=fields["created_at"],
                imported_at=fields.get("imported_at"),
                anonymised=fields.get("anonymised_at") is not None,
                birth_date=fields.get("birth_date"),
                visits=tuple(Purchase(at, Decimal(amount)) for at, amount in visits),
                consent={(party, channel): action for party, channel, action in consent},
                **contact,
            )
        )
        return row.id

    def suppress(self, channel: str, address: str, *, salon_id: int | None = None) -> None:
        self.session.add(
            Suppression(
                salon_id=salon_id or self.salon.id, channel=channel, address=address, reason="test"
            )
        )
        if salon_id is None:
            self.suppressed.add((channel, address))

    def audience(self, channel: str, ctx: AudienceContext) -> dict[int, str | None]:
        self.session.flush()
        query = audience_query(salon_id=self.salon.id, channel=channel, ctx=ctx)
        return {row.client_id: row.code for row in self.session.execute(query)}

    def pure(self, channel: str, ctx: AudienceContext) -> dict[int, str | None]:
        ctx = AudienceContext(
            now=ctx.now,
            timezone=ctx.timezone,
            window_months=ctx.window_months,
            gate_on=ctx.gate_on,
            minor_age=ctx.minor_age,
            suppressed=frozenset(self.suppressed),
        )
        return {i: d.code for i, d in select_audience(self.facts, channel, ctx).items()}


@pytest.fixture
def salon_rows(session: Session, salon: Salon) -> SalonRows:
    """The ``salon`` fixture's salon (Berlin, gate on 1 January 2024), on SQLite and PostgreSQL."""
    return SalonRows(session, salon)
