"""The client rules R3–R9 as pure functions over plain data.

Each rule looks at one client on one channel and returns None (passes) or a refusing
:class:`~gate.decisions.Decision`. :func:`decide` runs them in a fixed order, so the first rule
that fails is the one reported; the set-based SQL selection in :mod:`gate.audience` computes the
same decision in the same order, and a property test holds the two together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from operator import attrgetter

from db.states import MAX_WINDOW_MONTHS
from gate.dates import adult_born_on_or_before, local_midnight_utc, window_start
from gate.decisions import Decision, allow, refuse

Channel = str  # "sms" | "email"

# A Decimal, as amounts are: comparing a Decimal with an int converts the int every time.
NOTHING_PAID = Decimal(0)


@dataclass(frozen=True, slots=True)
class Purchase:
    at: dt.datetime
    amount: Decimal


@dataclass(frozen=True, slots=True)
class ClientFacts:
    """What the gate knows about one client: contact data, visits and latest consent."""

    client_id: int
    created_at: dt.datetime
    imported_at: dt.datetime | None = None
    anonymised: bool = False
    birth_date: dt.date | None = None
    phone: str | None = None
    phone_e164: str | None = None
    email: str | None = None
    email_normalized: str | None = None
    guardian_phone: str | None = None
    guardian_phone_e164: str | None = None
    guardian_email: str | None = None
    guardian_email_normalized: str | None = None
    visits: tuple[Purchase, ...] = ()
    # (party, channel) -> latest action ("granted" / "withdrawn"); absent = never asked.
    consent: Mapping[tuple[str, Channel], str] = field(default_factory=dict)

    def consent_of(self, party: str, channel: Channel) -> str | None:
        return self.consent.get((party, channel))


@dataclass(frozen=True, slots=True)
class AudienceContext:
    """The campaign- and salon-wide inputs of the rules, fixed for one evaluation.

    The calendar values (window start, adult birth date, gate-on instant) are computed once here:
    the rules read them for every client and every visit.
    """

    now: dt.datetime
    timezone: str
    window_months: int
    gate_on: dt.date
    minor_age: int = 16
    suppressed: frozenset[tuple[Channel, str]] = frozenset()
    window_start: dt.datetime = field(init=False, repr=False, compare=False)
    adult_born_on_or_before: dt.date = field(init=False, repr=False, compare=False)
    gate_on_utc: dt.datetime = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError(f"naive now {self.now!r}: the gate needs an aware time")
        if not 1 <= self.window_months <= MAX_WINDOW_MONTHS:
            # R3: staff may narrow the window, never widen it past MAX_WINDOW_MONTHS.
            raise ValueError(
                f"window_months must be 1..{MAX_WINDOW_MONTHS}, not {self.window_months}"
            )
        start = window_start(self.now, self.timezone, self.window_months)
        object.__setattr__(self, "window_start", start)
        adult = adult_born_on_or_before(self.now, self.timezone, self.minor_age)
        object.__setattr__(self, "adult_born_on_or_before", adult)
        object.__setattr__(self, "gate_on_utc", local_midnight_utc(self.gate_on, self.timezone))


def is_minor(client: ClientFacts, ctx: AudienceContext) -> bool:
    # An unknown birth date counts as an adult: there is nothing to compute an age from.
    return client.birth_date is not None and client.birth_date > ctx.adult_born_on_or_before


def contact(
    client: ClientFacts, channel: Channel, *, guardian: bool
) -> tuple[str | None, str | None]:
    """(as entered, normalised) contact of the client or their guardian on a channel."""
    if channel == "sms":
        if guardian:
            return client.guardian_phone, client.guardian_phone_e164
        return client.phone, client.phone_e164
    if guardian:
        return client.guardian_email, client.guardian_email_normalized
    return client.email, client.email_normalized


def r7_not_forgotten(
    client: ClientFacts, channel: Channel, ctx: AudienceContext
) -> Decision | None:
    return refuse("R7", "forgotten") if client.anonymised else None


def r4_not_opted_out(
    client: ClientFacts, channel: Channel, ctx: AudienceContext
) -> Decision | None:
    if client.consent_of("client", channel) == "withdrawn":
        return refuse("R4", "withdrawn")
    return None


def r6_minor_guardian(
    client: ClientFacts, channel: Channel, ctx: AudienceContext
) -> Decision | None:
    if not is_minor(client, ctx):
        return None
    raw, _ = contact(client, channel, guardian=True)
    if not raw:
        return refuse("R6", "minor_without_guardian_contact")
    if client.consent_of("guardian", channel) != "granted":
        return refuse("R6", "minor_without_guardian_consent")
    return None


def r3_recent_purchase(
    client: ClientFacts, channel: Channel, ctx: AudienceContext
) -> Decision | None:
    # Imported clients: only purchases recorded after the import count (FAQ, import).
    imported = client.imported_at
    # One plain loop: this runs for every visit of most clients, where a generator and a
    # predicate call per visit cost more than the comparisons themselves.
    for visit in client.visits:
        if (
            visit.amount > NOTHING_PAID
            and ctx.window_start <= visit.at <= ctx.now
            and (imported is None or visit.at > imported)
        ):
            return None
    return refuse("R3", "no_purchase_in_window")


def r5_lawful_basis(client: ClientFacts, channel: Channel, ctx: AudienceContext) -> Decision | None:
    # A minor who got here has their guardian's explicit consent (R6).
    if is_minor(client, ctx) or client.consent_of("client", channel) == "granted":
        return None
    # Legitimate interest: an existing customer (R3 passed) from before the gate was on.
    if client.created_at < ctx.gate_on_utc:
        return None
    return refuse("R5", "new_client_without_consent")


def r8_reachable(client: ClientFacts, channel: Channel, ctx: AudienceContext) -> Decision | None:
    raw, normalised = contact(client, channel, guardian=is_minor(client, ctx))
    kind = "phone" if channel == "sms" else "email"
    if not raw:
        return refuse("R8", f"no_{kind}")
    if normalised is None:
        return refuse("R8", f"invalid_{kind}")
    return None


def r9_not_suppressed(
    client: ClientFacts, channel: Channel, ctx: AudienceContext
) -> Decision | None:
    _, address = contact(client, channel, guardian=is_minor(client, ctx))
    return refuse("R9", "suppressed") if (channel, address) in ctx.suppressed else None


Rule = Callable[[ClientFacts, Channel, AudienceContext], Decision | None]

# The order is part of the contract: the first failing rule is the one reported.
CLIENT_RULES: tuple[Rule, ...] = (
    r7_not_forgotten,
    r4_not_opted_out,
    r6_minor_guardian,
    r3_recent_purchase,
    r5_lawful_basis,
    r8_reachable,
    r9_not_suppressed,
)


def decide(client: ClientFacts, channel: Channel, ctx: AudienceContext) -> Decision:
    """The gate's decision for one client on one channel, before de-duplication."""
    for rule in CLIENT_RULES:
        refused = rule(client, channel, ctx)
        if refused is not None:
            return refused
    minor = is_minor(client, ctx)
    _, address = contact(client, channel, guardian=minor)
    assert address is not None  # r8_reachable passed
    return allow(address, "guardian" if minor else "client")


def select_audience(
    clients: Iterable[ClientFacts], channel: Channel, ctx: AudienceContext
) -> dict[int, Decision]:
    """Decisions for every client, with R8's one-message-per-address applied.

    Among clients sharing an address (a family on one parent's phone), the one with the lowest
    id receives the message; the others are excluded as duplicates.
    """
    decisions: dict[int, Decision] = {}
    taken: set[str] = set()
    for client in sorted(clients, key=attrgetter("client_id")):
        decision = decide(client, channel, ctx)
        address = decision.address
        if decision.allowed:
            assert address is not None
            if address in taken:
                decision = refuse("R8", "duplicate_address")
            else:
                taken.add(address)
        decisions[client.client_id] = decision
    return decisions
