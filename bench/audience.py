"""Audience selection at scale: the SQL query on PostgreSQL and the pure rules in memory.

Creates a throwaway PostgreSQL database, migrates it, loads a synthetic salon (and a neighbouring
salon a tenth its size) with COPY, and times

- ``audience_sql``: :func:`gate.audience.audience_query` evaluated completely in the database and
  summed up per rule, as planning's INSERT ... SELECT and the live audience preview use it;
- ``audience_fetch``: the same query with every row fetched into Python;
- ``rules_pure``: :func:`gate.rules.select_audience` over the same clients, in memory;

each against a baseline measured in the same run (a plain scan of the tables, a plain loop over
the clients). Checks that SQL and pure rules give the same counts per rule, then drops the database.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import Engine, func, select, text

from bench import data
from bench.timing import measure, verdict
from db.migrate import upgrade
from db.session import get_engine
from gate.audience import audience_query
from gate.rules import AudienceContext, ClientFacts, select_audience

SALON_ID, NEIGHBOUR_ID = 1, 2
SQL_TARGET_SECONDS = 3.0
PURE_TARGET_SECONDS = 5.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--visits", type=int, default=None, help="default: 5 per client")
    parser.add_argument("--channel", choices=("sms", "email"), default="sms")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--admin-url",
        default="postgresql://postgres@127.0.0.1/test",
        help="an existing PostgreSQL database to run CREATE/DROP DATABASE from",
    )
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE")
    parser.add_argument("--keep", action="store_true", help="do not drop the database")


@contextmanager
def throwaway_database(admin_url: str, *, keep: bool) -> Iterator[str]:
    """A new, migrated PostgreSQL database; dropped afterwards unless ``keep``."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        get_engine(url).dispose()
        if keep:
            print(f"kept database {name}")
        else:
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _copy(
    conn: psycopg.Connection[Any], table: str, columns: list[str], rows: Iterable[Any]
) -> int:
    count = 0
    with (
        conn.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def load(url: str, salons: dict[int, data.SyntheticSalon]) -> Counter[str]:
    """Every salon's rows via COPY, then VACUUM ANALYZE (as autovacuum would have by then)."""
    counts: Counter[str] = Counter()
    with psycopg.connect(url) as conn:
        for salon_id, salon in salons.items():
            conn.execute(
                "INSERT INTO salon (id, slug, name, timezone, default_region, gate_on, minor_age,"
                " window_months, quiet_start, quiet_end, created_at) VALUES"
                " (%s, %s, %s, 'Europe/Berlin', 'DE', %s, 16, 36, '20:00', '08:00', now())",
                (salon_id, f"bench-{salon_id}", f"Bench {salon_id}", data.GATE_ON),
            )
            counts["clients"] += _copy(
                conn, "client", data.CLIENT_COLUMNS, data.client_rows(salon, salon_id)
            )
            rows = data.visit_rows(salon, salon_id, first_id=counts["visits"] + 1)
            counts["visits"] += _copy(conn, "visit", data.VISIT_COLUMNS, rows)
            rows = data.consent_rows(salon, salon_id, first_id=counts["consent_events"] + 1)
            counts["consent_events"] += _copy(conn, "consent_event", data.CONSENT_COLUMNS, rows)
            rows = data.suppression_rows(salon, salon_id)
            counts["suppressions"] += _copy(conn, "suppression", data.SUPPRESSION_COLUMNS, rows)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    return counts


def _context(suppressed: frozenset[tuple[str, str]] = frozenset()) -> AudienceContext:
    return AudienceContext(
        now=data.NOW,
        timezone="Europe/Berlin",
        window_months=36,
        gate_on=data.GATE_ON,
        suppressed=suppressed,
    )


def _rule_counts_sql(engine: Engine, channel: str) -> Counter[str]:
    audience = audience_query(salon_id=SALON_ID, channel=channel, ctx=_context()).subquery()
    rule = func.coalesce(func.substr(audience.c.code, 1, 2), "recipients")
    query = select(rule, audience.c.recipient, func.count()).group_by(rule, audience.c.recipient)
    counts: Counter[str] = Counter()
    with engine.connect() as conn:
        for name, _recipient, count in conn.execute(query):
            counts[name] += count
    return counts


def _fetch_all(engine: Engine, channel: str) -> int:
    with engine.connect() as conn:
        rows = conn.execute(audience_query(salon_id=SALON_ID, channel=channel, ctx=_context()))
        return len(rows.all())


def _scan_baseline(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT count(*) FROM client WHERE salon_id = :s"), {"s": SALON_ID})
        conn.execute(text("SELECT count(*) FROM visit WHERE amount > 0"))


def _explain(engine: Engine, channel: str) -> None:
    audience = audience_query(salon_id=SALON_ID, channel=channel, ctx=_context())
    compiled = audience.compile(engine, compile_kwargs={"literal_binds": True})
    # The compiled text escapes % for the driver; text() would escape it a second time.
    sql = str(compiled).replace("%%", "%")
    with engine.connect() as conn:
        for (line,) in conn.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")):
            print("  " + line)


def _rule_counts_pure(
    clients: list[ClientFacts], channel: str, ctx: AudienceContext
) -> Counter[str]:
    decisions = select_audience(clients, channel, ctx)
    return Counter(d.rule or "recipients" for d in decisions.values())


def _plain_loop(clients: list[ClientFacts]) -> int:
    return sum(1 for c in clients if not c.anonymised and c.visits)


def _line(name: str, **figures: object) -> None:
    print(name, " ".join(f"{key}={value}" for key, value in figures.items()), flush=True)


def _bench_sql(url: str, args: argparse.Namespace, visits: int) -> Counter[str]:
    engine = get_engine(url)
    size = {"clients": args.clients, "visits": visits}
    _rule_counts_sql(engine, args.channel)  # warm the cache, as a running server has it
    scan, _ = measure(lambda: _scan_baseline(engine), repeat=args.repeat)
    _line("baseline_scan", **size, best=f"{scan.best:.2f}s", median=f"{scan.median:.2f}s")
    timing, counts = measure(lambda: _rule_counts_sql(engine, args.channel), repeat=args.repeat)
    ratio = timing.best / scan.best
    _line(
        "audience_sql",
        **size,
        channel=args.channel,
        best=f"{timing.best:.2f}s",
        median=f"{timing.median:.2f}s",
        vs_scan=f"{ratio:.1f}x",
        verdict=verdict(timing.best, SQL_TARGET_SECONDS),
    )
    fetch, rows = measure(lambda: _fetch_all(engine, args.channel), repeat=args.repeat)
    _line(
        "audience_fetch",
        **size,
        rows=rows,
        best=f"{fetch.best:.2f}s",
        median=f"{fetch.median:.2f}s",
    )
    if args.explain:
        _explain(engine, args.channel)
    return counts


def _bench_pure(salon: data.SyntheticSalon, args: argparse.Namespace) -> Counter[str]:
    ctx = _context(salon.suppressed)
    loop, _ = measure(lambda: _plain_loop(salon.clients), repeat=args.repeat)
    timing, counts = measure(
        lambda: _rule_counts_pure(salon.clients, args.channel, ctx), repeat=args.repeat
    )
    per_client = timing.best / len(salon.clients) * 1e6
    _line(
        "rules_pure",
        clients=len(salon.clients),
        channel=args.channel,
        best=f"{timing.best:.2f}s",
        median=f"{timing.median:.2f}s",
        per_client=f"{per_client:.1f}us",
        vs_plain_loop=f"{timing.best / loop.best:.0f}x",
        verdict=verdict(timing.best, PURE_TARGET_SECONDS),
    )
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench audience", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    visits = args.visits if args.visits is not None else 5 * args.clients
    start = time.perf_counter()
    salon = data.build(args.clients, visits)
    neighbour = data.build(args.clients // 10, visits // 10, seed=7, first_id=args.clients + 1)
    _line(
        "build_data",
        clients=args.clients,
        visits=visits,
        seconds=f"{time.perf_counter() - start:.1f}",
    )
    with throwaway_database(args.admin_url, keep=args.keep) as url:
        start = time.perf_counter()
        counts = load(url, {SALON_ID: salon, NEIGHBOUR_ID: neighbour})
        _line("load_copy", **counts, seconds=f"{time.perf_counter() - start:.1f}")
        sql_counts = _bench_sql(url, args, visits)
    pure_counts = _bench_pure(salon, args)
    same = sql_counts == pure_counts
    _line(
        "agree",
        sql_equals_pure="OK" if same else "MISMATCH",
        counts=",".join(f"{k}:{v}" for k, v in sorted(sql_counts.items())),
    )
    if not same:
        _line("agree_pure", counts=",".join(f"{k}:{v}" for k, v in sorted(pure_counts.items())))
    return 0 if same else 1
