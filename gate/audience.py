"""The audience of a campaign as one set-based SQL query (no per-client round trips).

:func:`decision_query` computes, for every client of a salon on one channel, the same decision as
:func:`gate.rules.decide` in the same rule order, as a ``'R4:withdrawn'`` style code (NULL when
the client may receive the message). :func:`audience_query` adds R8's one-message-per-address.
Both run unchanged on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    null,
    or_,
    select,
)
from sqlalchemy.orm import aliased

from db.models import Client, ConsentEvent, Suppression, Visit
from gate.rules import AudienceContext, Channel


def _latest_consent(salon_id: int, channel: Channel) -> Any:
    """The latest consent event per client and party on the channel (C2: state from the log)."""
    latest_ids = (
        select(func.max(ConsentEvent.id))
        .where(ConsentEvent.salon_id == salon_id, ConsentEvent.channel == channel)
        .group_by(ConsentEvent.client_id, ConsentEvent.party)
    )
    return (
        select(ConsentEvent.client_id, ConsentEvent.party, ConsentEvent.action)
        .where(ConsentEvent.id.in_(latest_ids))
        .subquery("latest_consent")
    )


def _contact_columns(channel: Channel) -> tuple[Any, Any, Any, Any]:
    if channel == "sms":
        return (Client.phone, Client.phone_e164, Client.guardian_phone, Client.guardian_phone_e164)
    return (
        Client.email,
        Client.email_normalized,
        Client.guardian_email,
        Client.guardian_email_normalized,
    )


def _empty(column: Any) -> ColumnElement[bool]:
    return or_(column.is_(None), column == "")


def _has_purchase(ctx: AudienceContext) -> ColumnElement[bool]:
    return exists().where(
        Visit.client_id == Client.id,
        Visit.amount > 0,
        Visit.visited_at > ctx.window_start,
        Visit.visited_at <= ctx.now,
        or_(Client.imported_at.is_(None), Visit.visited_at > Client.imported_at),
    )


def decision_query(
    *,
    salon_id: int,
    channel: Channel,
    ctx: AudienceContext,
    client_ids: Collection[int] | None = None,
) -> Select[Any]:
    """client_id, address, recipient, code for every client of the salon (or of ``client_ids``)."""
    latest = _latest_consent(salon_id, channel)
    own = aliased(latest, name="own_consent")
    guardian = aliased(latest, name="guardian_consent")
    raw, normalised, guardian_raw, guardian_normalised = _contact_columns(channel)
    kind = "phone" if channel == "sms" else "email"

    minor = and_(Client.birth_date.is_not(None), Client.birth_date > ctx.adult_born_on_or_before)
    address = case((minor, guardian_normalised), else_=normalised)
    address_raw = case((minor, guardian_raw), else_=raw)
    suppressed = exists().where(
        Suppression.salon_id == salon_id,
        Suppression.channel == channel,
        Suppression.address == address,
    )
    code = case(
        (Client.anonymised_at.is_not(None), literal("R7:forgotten")),
        (func.coalesce(own.c.action, "") == "withdrawn", literal("R4:withdrawn")),
        (and_(minor, _empty(guardian_raw)), literal("R6:minor_without_guardian_contact")),
        (
            and_(minor, func.coalesce(guardian.c.action, "") != "granted"),
            literal("R6:minor_without_guardian_consent"),
        ),
        (~_has_purchase(ctx), literal("R3:no_purchase_in_window")),
        (
            and_(
                ~minor,
                func.coalesce(own.c.action, "") != "granted",
                Client.created_at >= ctx.gate_on_utc,
            ),
            literal("R5:new_client_without_consent"),
        ),
        (_empty(address_raw), literal(f"R8:no_{kind}")),
        (address.is_(None), literal(f"R8:invalid_{kind}")),
        (suppressed, literal("R9:suppressed")),
        else_=null(),
    )
    query = (
        select(
            Client.id.label("client_id"),
            address.label("address"),
            case((minor, literal("guardian")), else_=literal("client")).label("recipient"),
            code.label("code"),
        )
        .outerjoin(own, and_(own.c.client_id == Client.id, own.c.party == "client"))
        .outerjoin(guardian, and_(guardian.c.client_id == Client.id, guardian.c.party == "guardian"))
        .where(Client.salon_id == salon_id)
    )
    if client_ids is not None:
        query = query.where(Client.id.in_(list(client_ids)))
    return query


def audience_query(*, salon_id: int, channel: Channel, ctx: AudienceContext) -> Select[Any]:
    """As :func:`decision_query`, with later clients sharing an address excluded (R8)."""
    decided = decision_query(salon_id=salon_id, channel=channel, ctx=ctx).subquery("decided")
    allowed = decided.c.code.is_(None)
    rank = func.row_number().over(
        partition_by=case((allowed, decided.c.address), else_=null()),
        order_by=decided.c.client_id,
    )
    ranked = select(decided, rank.label("rank")).subquery("ranked")
    final_code = case(
        (and_(ranked.c.code.is_(None), ranked.c.rank > 1), literal("R8:duplicate_address")),
        else_=ranked.c.code,
    )
    return select(
        ranked.c.client_id,
        ranked.c.address,
        ranked.c.recipient,
        final_code.label("code"),
    )


def split_code(code: str) -> tuple[str, str]:
    rule, _, reason = code.partition(":")
    return rule, reason
