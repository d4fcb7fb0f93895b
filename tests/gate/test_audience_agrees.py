"""The set-based SQL selection and the pure rules agree, on SQLite and on PostgreSQL.

Hypothesis builds random salons around the calendar edges (window start, gate-on day, age
threshold, import time), with shared phones and emails, consent histories, suppressions and a
neighbouring salon using the same addresses. Each example is inserted inside the test's
transaction and rolled back afterwards, so examples never see each other's rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from db.models import Client, ConsentEvent, Salon, Suppression, Visit
from gate.audience import audience_query, decision_query
from gate.rules import AudienceContext, ClientFacts, Purchase, decide, select_audience

CHANNELS = ("sms", "email")
SALON_ID, NEIGHBOUR_ID = 1, 2
NOWS = (
    dt.datetime(2027, 2, 28, 23, 30, tzinfo=dt.UTC),  # already 1 March in Berlin
    dt.datetime(2028, 2, 29, 12, 0, tzinfo=dt.UTC),  # a leap day
    dt.datetime(2026, 3, 29, 0, 59, 59, tzinfo=dt.UTC),  # the night Berlin moves to summer time
    dt.datetime(2026, 10, 25, 5, 0, tzinfo=dt.UTC),
)
ZONES = ("Europe/Berlin", "UTC", "America/New_York", "Pacific/Auckland")
PHONES = ("+4917611111111", "+4917622222222", "+4917633333333")
EMAILS = ("mia@example.com", "family@example.com", "tom@example.org")
DAY = 86400
OFFSETS = st.one_of(
    st.sampled_from([-1, 0, 0, 1]),
    st.sampled_from([-400 * DAY, -DAY, -3600, 3600, DAY, 30 * DAY]),
    st.integers(min_value=-3 * DAY, max_value=3 * DAY),
)


@dataclass(frozen=True)
class ClientSpec:
    client_id: int
    salon_id: int
    created_at: dt.datetime
    imported_at: dt.datetime | None
    anonymised: bool
    birth_date: dt.date | None
    contacts: dict[str, tuple[str | None, str | None]]  # field prefix -> (as entered, normalised)
    visits: tuple[Purchase, ...]
    consent: tuple[tuple[str, str, str], ...]  # (party, channel, action), oldest first


@dataclass(frozen=True)
class SalonSpec:
    ctx: AudienceContext
    clients: tuple[ClientSpec, ...]
    suppressions: frozenset[tuple[int, str, str]]  # (salon, channel, address)
    subset: frozenset[int] = field(default_factory=frozenset)

    def context(self) -> AudienceContext:
        """The context as the pure rules see it: with this salon's suppressions."""
        own = frozenset((ch, a) for salon, ch, a in self.suppressions if salon == SALON_ID)
        return AudienceContext(
            now=self.ctx.now,
            timezone=self.ctx.timezone,
            window_months=self.ctx.window_months,
            gate_on=self.ctx.gate_on,
            minor_age=self.ctx.minor_age,
            suppressed=own,
        )


def near(*anchors: dt.datetime) -> st.SearchStrategy[dt.datetime]:
    """Instants a few seconds to days around the anchors (and a few far from them)."""
    return st.tuples(st.sampled_from(anchors), OFFSETS).map(
        lambda pair: pair[0] + dt.timedelta(seconds=pair[1])
    )


def contact(draw: st.DrawFn, pool: Sequence[str]) -> tuple[str | None, str | None]:
    kind = draw(st.sampled_from(["valid", "valid", "valid", "invalid", "none", "empty"]))
    if kind == "valid":
        normalised = draw(st.sampled_from(pool))
        return f" {normalised.upper()} ", normalised  # as entered differs from the normalised form
    return {"invalid": ("0301234", None), "none": (None, None), "empty": ("", None)}[kind]


@st.composite
def client_specs(draw: st.DrawFn, client_id: int, ctx: AudienceContext) -> ClientSpec:
    start, now = ctx.window_start, ctx.now
    imported_at = draw(st.none() | near(start, now - dt.timedelta(days=300)))
    recent = now - dt.timedelta(days=100)
    visit_anchors = (start, now, recent, recent) + ((imported_at,) if imported_at else ())
    visits = draw(
        st.lists(
            st.builds(
                Purchase,
                near(*visit_anchors),
                st.sampled_from([Decimal("0.00"), Decimal("0.01"), Decimal("45.50")]),
            ),
            max_size=3,
            unique_by=lambda v: (v.at, v.amount),
        )
    )
    adult_day = ctx.adult_born_on_or_before
    birth_date = draw(
        st.none()
        | st.sampled_from([dt.date(1980, 2, 29), dt.date(2019, 7, 1)])
        | st.integers(-2, 2).map(lambda d: adult_day + dt.timedelta(days=d))
    )
    prefixes = ("", "guardian_")
    contacts = {f"{p}phone": contact(draw, PHONES) for p in prefixes}
    contacts |= {f"{p}email": contact(draw, EMAILS) for p in prefixes}
    consent = st.tuples(
        st.sampled_from(["client", "guardian"]),
        st.sampled_from(CHANNELS),
        st.sampled_from(["granted", "withdrawn"]),
    )
    return ClientSpec(
        client_id=client_id,
        salon_id=draw(st.sampled_from([SALON_ID] * 5 + [NEIGHBOUR_ID])),
        created_at=draw(near(ctx.gate_on_utc, start, now - dt.timedelta(days=3000))),
        imported_at=imported_at,
        anonymised=draw(st.sampled_from([False] * 6 + [True])),
        birth_date=birth_date,
        contacts=contacts,
        visits=tuple(visits),
        consent=tuple(draw(st.lists(consent, max_size=4))),
    )


@st.composite
def salons(draw: st.DrawFn) -> SalonSpec:
    now = draw(st.sampled_from(NOWS))
    ctx = AudienceContext(
        now=now,
        timezone=draw(st.sampled_from(ZONES)),
        window_months=draw(st.sampled_from([1, 12, 35, 36])),
        gate_on=(now + dt.timedelta(days=draw(st.sampled_from([-2000, -400, -30, 0, 1])))).date(),
        minor_age=draw(st.sampled_from([16, 16, 18, 0])),
    )
    # Ids in an order unrelated to insertion: "lowest id wins" must not mean "inserted first".
    ids = draw(st.permutations(range(1, draw(st.integers(1, 30)) + 1)))
    clients = tuple(draw(client_specs(client_id, ctx)) for client_id in ids)
    suppression = st.tuples(
        st.sampled_from([SALON_ID, NEIGHBOUR_ID]),
        st.sampled_from([("sms", a) for a in PHONES] + [("email", a) for a in EMAILS]),
    ).map(lambda pair: (pair[0], *pair[1]))
    # The recheck's client ids may name another salon's client: it must not be returned.
    subset = draw(st.sets(st.sampled_from(ids)))
    return SalonSpec(
        ctx, clients, frozenset(draw(st.sets(suppression, max_size=4))), frozenset(subset)
    )


def facts_of(spec: ClientSpec) -> ClientFacts:
    """What the pure rules get for a client: the latest consent event per (party, channel)."""
    latest = {(party, channel): action for party, channel, action in spec.consent}
    fields: dict[str, str | None] = {}
    for name, (raw, normalised) in spec.contacts.items():
        fields[name] = raw
        fields[name + ("_e164" if name.endswith("phone") else "_normalized")] = normalised
    return ClientFacts(
        client_id=spec.client_id,
        created_at=spec.created_at,
        imported_at=spec.imported_at,
        anonymised=spec.anonymised,
        birth_date=spec.birth_date,
        visits=spec.visits,
        consent=latest,
        **fields,  # type: ignore[arg-type]
    )


def _salon_row(salon_id: int, ctx: AudienceContext) -> Salon:
    return Salon(
        id=salon_id,
        slug=f"salon-{salon_id}",
        name=f"Salon {salon_id}",
        timezone=ctx.timezone,
        gate_on=ctx.gate_on,
        minor_age=ctx.minor_age,
        window_months=ctx.window_months,
    )


def insert(session: Session, salon: SalonSpec) -> None:
    """The salon as rows; consent event ids follow the order the events were generated in."""
    session.add_all([_salon_row(SALON_ID, salon.ctx), _salon_row(NEIGHBOUR_ID, salon.ctx)])
    session.flush()
    for spec in salon.clients:
        facts = facts_of(spec)
        session.add(
            Client(
                id=spec.client_id,
                salon_id=spec.salon_id,
                ref=f"k{spec.client_id}",
                created_at=spec.created_at,
                imported_at=spec.imported_at,
                anonymised_at=spec.created_at if spec.anonymised else None,
                birth_date=spec.birth_date,
                phone=facts.phone,
                phone_e164=facts.phone_e164,
                email=facts.email,
                email_normalized=facts.email_normalized,
                guardian_phone=facts.guardian_phone,
                guardian_phone_e164=facts.guardian_phone_e164,
                guardian_email=facts.guardian_email,
                guardian_email_normalized=facts.guardian_email_normalized,
            )
        )
    session.flush()
    event_id = visit_id = 0
    for spec in salon.clients:
        for visit in spec.visits:
            visit_id += 1
            session.add(
                Visit(
                    id=visit_id,
                    salon_id=spec.salon_id,
                    client_id=spec.client_id,
                    visited_at=visit.at,
                    amount=visit.amount,
                )
            )
        for party, channel, action in spec.consent:
            event_id += 1
            session.add(
                ConsentEvent(
                    id=event_id,
                    salon_id=spec.salon_id,
                    client_id=spec.client_id,
                    channel=channel,
                    party=party,
                    action=action,
                    source="oral",
                )
            )
    for number, (salon_id, channel, address) in enumerate(sorted(salon.suppressions), 1):
        session.add(
            Suppression(id=number, salon_id=salon_id, channel=channel, address=address, reason="x")
        )
    session.flush()


@contextmanager
def inserted(session: Session, salon: SalonSpec) -> Iterator[None]:
    try:
        insert(session, salon)
        yield
    finally:
        session.rollback()


Row = tuple[int, str | None, str | None, str | None]


def _row(client_id: int, code: str | None, address: str | None, recipient: str) -> Row:
    # A refused client has no address in the pure decision; compare only the code then.
    return (client_id, code, address, recipient) if code is None else (client_id, code, None, None)


def sql_rows(session: Session, query: object) -> set[Row]:
    return {_row(r.client_id, r.code, r.address, r.recipient) for r in session.execute(query)}  # type: ignore[call-overload]


def pure_rows(salon: SalonSpec, channel: str) -> set[Row]:
    facts = [facts_of(c) for c in salon.clients if c.salon_id == SALON_ID]
    decisions = select_audience(facts, channel, salon.context())
    return {_row(i, d.code, d.address, d.recipient) for i, d in decisions.items()}


PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY
@given(salon=salons())
def test_sql_audience_and_pure_rules_give_the_same_recipients_and_reasons(
    session: Session, salon: SalonSpec
) -> None:
    with inserted(session, salon):
        for channel in CHANNELS:
            expected = pure_rows(salon, channel)
            query = audience_query(salon_id=SALON_ID, channel=channel, ctx=salon.ctx)
            assert sql_rows(session, query) == expected
            for _, code, _, _ in expected:
                event(f"{channel} {code or 'allowed'}")


@PROPERTY
@given(salon=salons())
def test_recheck_of_some_clients_gives_the_same_codes_as_the_full_query(
    session: Session, salon: SalonSpec
) -> None:
    with inserted(session, salon):
        for channel in CHANNELS:
            full = decision_query(salon_id=SALON_ID, channel=channel, ctx=salon.ctx)
            some = decision_query(
                salon_id=SALON_ID, channel=channel, ctx=salon.ctx, client_ids=salon.subset
            )
            expected = {row for row in sql_rows(session, full) if row[0] in salon.subset}
            assert sql_rows(session, some) == expected
            pure = {
                _row(c.client_id, d.code, d.address, d.recipient)
                for c in salon.clients
                if c.client_id in salon.subset and c.salon_id == SALON_ID
                for d in [decide(facts_of(c), channel, salon.context())]
            }
            assert expected == pure
