"""A synthetic salon for the benchmarks: ClientFacts in memory and the same data as COPY rows.

Deterministic for a seed. Proportions follow a plausible salon: most clients have a phone, some
families share one, a few are minors (most with a guardian), imported or forgotten, and consent
was granted or withdrawn for some.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gate.rules import ClientFacts, Purchase

NOW = dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.UTC)
GATE_ON = dt.date(2025, 5, 25)
IMPORTED_AT = dt.datetime(2024, 6, 1, 4, 0, tzinfo=dt.UTC)
AMOUNTS = tuple(Decimal(a) for a in ("0.00", "19.90", "35.00", "48.50", "89.00", "140.00"))
YEAR = 365 * 86400

CLIENT_COLUMNS = [
    *("id", "salon_id", "ref", "phone", "phone_e164", "email", "email_normalized", "birth_date"),
    *("guardian_phone", "guardian_phone_e164", "guardian_email", "guardian_email_normalized"),
    *("no_reminders", "created_at", "imported_at", "anonymised_at", "updated_at"),
]
VISIT_COLUMNS = ["id", "salon_id", "client_id", "visited_at", "amount", "source"]
CONSENT_COLUMNS = ["id", "salon_id", "client_id", "channel", "party", "action", "source", "at"]
SUPPRESSION_COLUMNS = ["salon_id", "channel", "address", "reason", "created_at"]


@dataclass
class SyntheticSalon:
    clients: list[ClientFacts]
    consent_events: list[tuple[int, str, str, str]]  # client, party, channel, action
    suppressed: frozenset[tuple[str, str]]
    visits: int


def naive(at: dt.datetime | None) -> dt.datetime | None:
    """As the database stores it: naive UTC."""
    return None if at is None else at.astimezone(dt.UTC).replace(tzinfo=None)


def _contacts(rng: random.Random, i: int) -> dict[str, str | None]:
    family = i - 1 if i > 1 and rng.random() < 0.05 else i  # shares the previous client's phone
    phone_kind, email_kind = rng.random(), rng.random()
    e164 = f"+49176{family:08d}"
    found: dict[str, str | None] = {"phone": None, "phone_e164": None}
    found |= {"email": None, "email_normalized": None}
    if phone_kind < 0.87:
        found |= {"phone": "0" + e164[3:], "phone_e164": e164}
    elif phone_kind < 0.90:
        found |= {"phone": "030 1234", "phone_e164": None}
    if email_kind < 0.78:
        found |= {"email": f"Client{i}@Example.com", "email_normalized": f"client{i}@example.com"}
    elif email_kind < 0.80:
        found |= {"email": f"client{i}@", "email_normalized": None}
    return found


def _guardian(rng: random.Random, i: int) -> dict[str, str | None]:
    if rng.random() < 0.3:
        return {}
    parent = i // 3  # siblings share a parent
    return {
        "guardian_phone": f"0170{parent:08d}",
        "guardian_phone_e164": f"+49170{parent:08d}",
        "guardian_email": f"parent{parent}@example.com",
        "guardian_email_normalized": f"parent{parent}@example.com",
    }


def _consent(rng: random.Random, minor: bool) -> dict[tuple[str, str], str]:
    found = {}
    for channel in ("sms", "email"):
        roll = rng.random()
        if roll < 0.35:
            found[("client", channel)] = "granted"
        elif roll < 0.45:
            found[("client", channel)] = "withdrawn"
        if minor and rng.random() < 0.6:
            found[("guardian", channel)] = "granted"
    return found


def _client(rng: random.Random, i: int, visits: list[Purchase]) -> ClientFacts:
    created_at = NOW - dt.timedelta(seconds=rng.randrange(10 * YEAR))
    age_days = (
        rng.randrange(5 * 365, 16 * 365)
        if rng.random() < 0.08
        else rng.randrange(18 * 365, 80 * 365)
    )
    minor = age_days < 16 * 365
    return ClientFacts(
        client_id=i,
        created_at=created_at,
        imported_at=IMPORTED_AT if created_at < IMPORTED_AT and rng.random() < 0.3 else None,
        anonymised=rng.random() < 0.02,
        birth_date=(NOW - dt.timedelta(days=age_days)).date() if rng.random() > 0.01 else None,
        visits=tuple(visits),
        consent=_consent(rng, minor),
        **_contacts(rng, i),
        **(_guardian(rng, i) if minor else {}),
    )


def build(clients: int, visits: int, *, seed: int = 20270301, first_id: int = 1) -> SyntheticSalon:
    """``clients`` clients with ``visits`` visits spread over the last six years."""
    rng = random.Random(seed)
    per_client: list[list[Purchase]] = [[] for _ in range(clients)]
    for _ in range(visits):
        at = NOW - dt.timedelta(seconds=rng.randrange(6 * YEAR))
        per_client[rng.randrange(clients)].append(Purchase(at, rng.choice(AMOUNTS)))
    facts = [_client(rng, first_id + i, per_client[i]) for i in range(clients)]
    suppressed = frozenset(
        ("sms", c.phone_e164) for c in facts if c.phone_e164 and rng.random() < 0.005
    )
    events = []
    for c in facts:
        for (party, channel), action in c.consent.items():
            if action == "withdrawn":  # a history: granted first, withdrawn later
                events.append((c.client_id, party, channel, "granted"))
            events.append((c.client_id, party, channel, action))
    return SyntheticSalon(facts, events, suppressed, visits)


def client_rows(salon: SyntheticSalon, salon_id: int) -> Iterator[tuple[Any, ...]]:
    for c in salon.clients:
        yield (
            c.client_id,
            salon_id,
            f"k{c.client_id}",
            c.phone,
            c.phone_e164,
            c.email,
            c.email_normalized,
            c.birth_date,
            c.guardian_phone,
            c.guardian_phone_e164,
            c.guardian_email,
            c.guardian_email_normalized,
            False,
            naive(c.created_at),
            naive(c.imported_at),
            naive(NOW) if c.anonymised else None,
            naive(c.created_at),
        )


def visit_rows(salon: SyntheticSalon, salon_id: int, first_id: int) -> Iterator[tuple[Any, ...]]:
    visit_id = first_id - 1
    for c in salon.clients:
        for visit in {(v.at, v.amount) for v in c.visits}:  # unique per client, as in the table
            visit_id += 1
            yield (visit_id, salon_id, c.client_id, naive(visit[0]), visit[1], "import")


def consent_rows(salon: SyntheticSalon, salon_id: int, first_id: int) -> Iterator[tuple[Any, ...]]:
    at = naive(IMPORTED_AT)
    for event_id, (client_id, party, channel, action) in enumerate(salon.consent_events, first_id):
        yield (event_id, salon_id, client_id, channel, party, action, "import", at)


def suppression_rows(salon: SyntheticSalon, salon_id: int) -> Iterator[tuple[Any, ...]]:
    for channel, address in sorted(salon.suppressed):
        yield (salon_id, channel, address, "bench", naive(NOW))
