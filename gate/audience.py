"""The audience of a campaign as one set-based SQL query (no per-client round trips).

:func:`decision_query` computes, for every client of a salon on one channel, the same decision as
:func:`gate.rules.decide` in the same rule order, as a ``'R4:withdrawn'`` style code (NULL when
the client may receive the message). :func:`audience_query` adds R8's one-message-per-address.
Both run unchanged on SQLite and PostgreSQL.

Performance (``python -m bench audience``: 1,000,000 clients in a few seconds on PostgreSQL) rests
on three things: the visits and the consent log are read through covering indexes in client order
(revision 0002), so both aggregates stream into merge joins; every decision is computed once, in a
CTE, and only the clients it allows go through R8's sort by address; and that sort compares
addresses byte-wise, since only equal addresses matter, not their linguistic order.

Left at the server's work_mem on purpose. R8's sort of about 570,000 addresses spills to disk at
the default 4 MB, but that external merge costs only a few tenths of a second; with
``SET LOCAL work_mem = '64MB'`` the planner hashes the consent and purchase aggregates instead of
merging the indexes in client order, and the query got slower (median 3.2 s against 2.6 s at
1,000,000 clients). With hash joins also switched off it was no faster than the default. Ranking
only addresses found to be shared (14,703 of 556,225 in the bench) was slower as well: finding
them takes an aggregate over every allowed address, which costs as much as the sort it saves.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from db.models import Client, ConsentEvent, Suppression, Visit
from gate.rules import AudienceContext, Channel


def _latest_consent(salon_id: int, channel: Channel, client_ids: list[int] | None) -> Any:
    """Per client, the latest consent event of each party on the channel (C2: state from the log).

    One pass over the log: each event is stamped ``id * 2 + (1 if withdrawn else 0)``, so the
    largest stamp is the latest event and its parity says what it was. NULL: never asked.
    """
    withdrawn = case((ConsentEvent.action == "withdrawn", 1), else_=0)
    stamp = cast(ConsentEvent.id, BigInteger) * 2 + withdrawn
    query = (
        select(
            ConsentEvent.client_id,
            func.max(case((ConsentEvent.party == "client", stamp))).label("own"),
            func.max(case((ConsentEvent.party == "guardian", stamp))).label("guardian"),
        )
        .where(ConsentEvent.salon_id == salon_id, ConsentEvent.channel == channel)
        .group_by(ConsentEvent.client_id)
    )
    if client_ids is not None:
        query = query.where(ConsentEvent.client_id.in_(client_ids))
    return query.subquery("latest_consent")


def _withdrawn(stamp: Any) -> ColumnElement[bool]:
    return func.coalesce(stamp % 2, 0) == 1


def _granted(stamp: Any) -> ColumnElement[bool]:
    return func.coalesce(stamp % 2, 1) == 0


def _last_purchase(salon_id: int, ctx: AudienceContext, client_ids: list[int] | None) -> Any:
    """Per client, the latest purchase within the window (R3), by one pass over the visits.

    "Some purchase in the window after the import" holds exactly when the latest purchase in the
    window is after the import, so one aggregate replaces a per-client EXISTS probe.
    """
    query = (
        select(Visit.client_id, func.max(Visit.visited_at).label("at"))
        .where(
            Visit.salon_id == salon_id,
            # Written out, not bound: the planner may only read the purchases index (its WHERE
            # is ``amount > 0``) when it sees the very same condition, and a bound parameter
            # hides it from SQLite always and from PostgreSQL's cached generic plans.
            Visit.amount > literal_column("0"),
            Visit.visited_at >= ctx.window_start,
            Visit.visited_at <= ctx.now,
        )
        .group_by(Visit.client_id)
    )
    if client_ids is not None:
        query = query.where(Visit.client_id.in_(client_ids))
    return query.subquery("last_purchase")


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


def decision_query(
    *,
    salon_id: int,
    channel: Channel,
    ctx: AudienceContext,
    client_ids: Collection[int] | None = None,
) -> Select[Any]:
    """client_id, address, recipient, code for every client of the salon (or of ``client_ids``)."""
    ids = None if client_ids is None else list(client_ids)
    consent = _latest_consent(salon_id, channel, ids)
    purchase = _last_purchase(salon_id, ctx, ids)
    raw, normalised, guardian_raw, guardian_normalised = _contact_columns(channel)
    kind = "phone" if channel == "sms" else "email"

    minor = and_(Client.birth_date.is_not(None), Client.birth_date > ctx.adult_born_on_or_before)
    address = case((minor, guardian_normalised), else_=normalised)
    address_raw = case((minor, guardian_raw), else_=raw)
    has_purchase = and_(
        purchase.c.at.is_not(None),
        or_(Client.imported_at.is_(None), purchase.c.at > Client.imported_at),
    )
    # An uncorrelated IN, not a correlated EXISTS (whose per-client cost estimate alone made
    # PostgreSQL spend most of a second JIT-compiling the query) nor a join: the salon's
    # suppression list is hashed once and probed only for clients that passed R3 to R8.
    suppressed = address.in_(
        select(Suppression.address).where(
            Suppression.salon_id == salon_id, Suppression.channel == channel
        )
    )
    code = case(
        (Client.anonymised_at.is_not(None), literal("R7:forgotten")),
        (_withdrawn(consent.c.own), literal("R4:withdrawn")),
        (and_(minor, _empty(guardian_raw)), literal("R6:minor_without_guardian_contact")),
        (and_(minor, ~_granted(consent.c.guardian)), literal("R6:minor_without_guardian_consent")),
        (~has_purchase, literal("R3:no_purchase_in_window")),
        (
            and_(~minor, ~_granted(consent.c.own), Client.created_at >= ctx.gate_on_utc),
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
        .outerjoin(consent, consent.c.client_id == Client.id)
        .outerjoin(purchase, purchase.c.client_id == Client.id)
        .where(Client.salon_id == salon_id)
    )
    if ids is not None:
        query = query.where(Client.id.in_(ids))
    return query


class _Bytewise(FunctionElement[str]):
    """A text compared byte by byte (PostgreSQL's "C" collation), where only equality matters.

    The database's own collation (de_DE.UTF-8, say) sorts linguistically, which costs a library
    call per comparison and rules out PostgreSQL's abbreviated sort keys; SQLite compares bytes
    by default, so there the text stays as it is.
    """

    type = String()
    inherit_cache = True


@compiles(_Bytewise)
def _compile_bytewise(element: _Bytewise, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(_Bytewise, "postgresql")
def _compile_bytewise_postgresql(element: _Bytewise, compiler: SQLCompiler, **kw: Any) -> str:
    return f'({compiler.process(element.clauses, **kw)}) COLLATE "C"'


def audience_query(*, salon_id: int, channel: Channel, ctx: AudienceContext) -> Select[Any]:
    """As :func:`decision_query`, with later clients sharing an address excluded (R8).

    The decisions are a CTE used twice (so computed once): refused clients pass straight
    through, and only the allowed ones are ranked by address, so the sort R8 needs sees about
    half the clients. Sorting every client, refused ones under a NULL key, cost more than
    computing all the decisions.
    """
    decided = decision_query(salon_id=salon_id, channel=channel, ctx=ctx).cte("decided")
    columns = (decided.c.client_id, decided.c.address, decided.c.recipient)
    rank = func.row_number().over(
        partition_by=_Bytewise(decided.c.address), order_by=decided.c.client_id
    )
    refused = select(*columns, decided.c.code).where(decided.c.code.is_not(None))
    allowed = select(
        *columns,
        case((rank > 1, literal("R8:duplicate_address")), else_=null()).label("code"),
    ).where(decided.c.code.is_(None))
    audience = union_all(refused, allowed).subquery("audience")
    return select(audience.c.client_id, audience.c.address, audience.c.recipient, audience.c.code)


def split_code(code: str) -> tuple[str, str]:
    rule, _, reason = code.partition(":")
    return rule, reason
