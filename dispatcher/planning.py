"""Planning: a queued campaign's audience becomes a snapshot of deliveries, set-based.

One INSERT ... SELECT per channel writes the deliveries and one the exclusions (with their
rule); the unique constraints make a second plan of the same campaign a no-op.

The snapshot is the gate's verdict at planning time. Its :class:`Watermark` travels with the
first batch messages, so a batch sent right after planning claims without running the gate
again (see :mod:`dispatcher.batch_run`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Integer, String, exists, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from db.models import (
    Campaign,
    ConsentEvent,
    Delivery,
    Exclusion,
    Salon,
    Suppression,
    UTCDateTime,
    utcnow,
)
from db.session import analyse_bulk_write
from db.states import MAX_WINDOW_MONTHS, CampaignStatus, DeliveryStatus
from gate.audience import audience_query
from gate.rules import AudienceContext


@dataclass(frozen=True)
class Watermark:
    """The newest consent event and suppression when the gate last ran: a claim leaves out
    every client with anything newer, so a withdrawal stored before the claim always stops
    the send, without running the whole gate query for every chunk."""

    consent_id: int
    suppression_id: int

    @classmethod
    def now(cls, session: Session) -> Watermark:
        """Read before the gate runs: whatever is stored meanwhile is newer, so held back."""
        return cls(
            session.scalar(select(func.coalesce(func.max(ConsentEvent.id), 0))) or 0,
            session.scalar(select(func.coalesce(func.max(Suppression.id), 0))) or 0,
        )


def audience_context(salon: Salon, campaign: Campaign, now: dt.datetime) -> AudienceContext:
    return AudienceContext(
        now=now,
        timezone=salon.timezone,
        # Staff may narrow the window, never widen it past the salon's (at most 36 months).
        window_months=min(campaign.window_months, salon.window_months, MAX_WINDOW_MONTHS),
        gate_on=salon.gate_on,
        minor_age=salon.minor_age,
    )


def _insert(
    session: Session, table: type, columns: list[str], query: object, *, first: bool
) -> int:
    """INSERT ... SELECT; on a campaign planned before (`first` False), skipping what exists.

    Why two forms: ON CONFLICT makes every row a speculative insertion (each unique index
    probed, then the insertion confirmed), about a fifth of the planning's cost, and the first
    snapshot of a campaign cannot conflict: the audience query gives each client one row per
    channel and each address one client (R8)."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    # The table, not the mapped class: an ORM-enabled INSERT's result has no row count.
    statement = module.insert(table.__table__).from_select(columns, query)  # type: ignore[attr-defined]
    written = session.execute(
        statement if first else statement.on_conflict_do_nothing(),
        execution_options={"preserve_rowcount": True},  # an INSERT's count is otherwise -1
    )
    assert isinstance(written, CursorResult)
    return int(written.rowcount)


def write_snapshot(
    session: Session, salon: Salon, campaign: Campaign, now: dt.datetime
) -> dict[str, int]:
    """Write the campaign's deliveries and exclusions; what a snapshot written before holds
    stays as it is (the unique constraints make a second snapshot add only what is new).
    Returns the rows written per table."""
    written = {"delivery": 0, "exclusion": 0}
    ctx = audience_context(salon, campaign, now)
    planned_before = exists().where(Delivery.campaign_id == campaign.id)
    excluded_before = exists().where(Exclusion.campaign_id == campaign.id)
    first = not session.scalar(select(or_(planned_before, excluded_before)))
    for channel in campaign.channels:
        audience = audience_query(salon_id=salon.id, channel=channel, ctx=ctx).subquery("audience")
        common = [
            literal(salon.id, Integer),
            literal(campaign.id, Integer),
            audience.c.client_id,
            literal(channel, String),
        ]
        deliveries = select(
            *common,
            audience.c.address,
            audience.c.recipient,
            literal(DeliveryStatus.PENDING.value, String),
            literal(0, Integer),
            literal(now, UTCDateTime),
        ).where(audience.c.code.is_(None))
        written["delivery"] += _insert(
            session,
            Delivery,
            [
                "salon_id",
                "campaign_id",
                "client_id",
                "channel",
                "address",
                "recipient",
                "status",
                "attempts",
                "created_at",
            ],
            deliveries,
            first=first,
        )
        exclusions = select(
            *common,
            func.substr(audience.c.code, 1, 2),
            func.substr(audience.c.code, 4),
        ).where(audience.c.code.is_not(None))
        written["exclusion"] += _insert(
            session,
            Exclusion,
            ["salon_id", "campaign_id", "client_id", "channel", "rule", "reason"],
            exclusions,
            first=first,
        )
    return written


def plan(session: Session, campaign_id: int, *, now: dt.datetime | None = None) -> Watermark | None:
    """Write the snapshot of a queued campaign and return the gate's watermark for it; None
    when there is nothing (more) to plan."""
    campaign = session.get(Campaign, campaign_id, with_for_update=True, populate_existing=True)
    if campaign is None or campaign.status != CampaignStatus.QUEUED:
        return None
    salon = session.get_one(Salon, campaign.salon_id)
    now = now or utcnow()
    watermark = Watermark.now(session)
    # Autovacuum analyses a while after a big insert, if at all; until then the planner takes
    # the new campaign for a few rows and reads all of its deliveries for every chunk claimed.
    analyse_bulk_write(session, write_snapshot(session, salon, campaign, now))
    session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id)
        .values(status=CampaignStatus.SENDING, planned_at=now)
    )
    return watermark


def pending_batches(
    session: Session,
    campaign_id: int,
    batch_size: int,
    *,
    due_by: dt.datetime | None = None,
) -> Iterator[tuple[int, int]]:
    """(first id, last id) ranges of the campaign's pending deliveries, ``batch_size`` each.

    Computed in the database (row numbers grouped by ``batch_size``), so a million deliveries
    cost a few thousand result rows, not a million ids in the worker. ``due_by``: only
    deliveries whose next attempt is due by then (the sweep leaves waiting retries alone)."""
    conditions = [Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.PENDING]
    if due_by is not None:
        conditions.append(
            or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= due_by)
        )
    numbered = (
        select(Delivery.id, func.row_number().over(order_by=Delivery.id).label("n"))
        .where(*conditions)
        .subquery("numbered")
    )
    group = (numbered.c.n - 1) // batch_size
    ranges = (
        select(func.min(numbered.c.id), func.max(numbered.c.id)).group_by(group).order_by(group)
    )
    for first_id, last_id in session.execute(ranges):
        yield int(first_id), int(last_id)


def live_audience(
    session: Session, salon: Salon, campaign: Campaign, *, now: dt.datetime | None = None
) -> dict[str, dict[str, int]]:
    """channel -> {"recipients": n, "R3": n, ...}: the audience if the campaign were planned now."""
    ctx = audience_context(salon, campaign, now or utcnow())
    summary: dict[str, dict[str, int]] = {}
    for channel in campaign.channels:
        audience = audience_query(salon_id=salon.id, channel=channel, ctx=ctx).subquery()
        rule = func.coalesce(func.substr(audience.c.code, 1, 2), "recipients")
        rows = session.execute(select(rule, func.count()).group_by(rule))
        summary[channel] = {name: count for name, count in rows}
        summary[channel].setdefault("recipients", 0)
    return summary


def live_exclusions(
    session: Session, salon: Salon, campaign: Campaign, *, now: dt.datetime | None = None
) -> list[tuple[int, str, str]]:
    """(client id, channel, 'Rn:reason') of every client the gate would leave out now."""
    ctx = audience_context(salon, campaign, now or utcnow())
    found = []
    for channel in campaign.channels:
        audience = audience_query(salon_id=salon.id, channel=channel, ctx=ctx).subquery()
        rows = session.execute(
            select(audience.c.client_id, audience.c.code)
            .where(audience.c.code.is_not(None))
            .order_by(audience.c.client_id)
        )
        found += [(client_id, channel, code) for client_id, code in rows]
    return found
