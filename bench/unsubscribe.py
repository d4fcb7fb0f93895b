"""Benchmark: RFC 8058 one-click unsubscribe POSTs while a campaign is sending, on PostgreSQL.

    python -m bench unsubscribe --requests 10000 --campaign 50000 [--campaign-rate 100]

Creates a fresh PostgreSQL database (dropped afterwards) with a salon whose clients all get an
SMS campaign, sent at ``--campaign-rate`` messages per second: 100 by default, the fastest
Twilio sender (a short code), so the campaign runs as it would in production; 0 sends as fast
as the workers go (a load no real sender produces). Starts
``uvicorn web.app:create_app --factory --workers 2`` and real ``dramatiq`` workers
(``bench.sending.Stack``: its own Redis, the zero-latency fake provider). Once the campaign's
first message is handed off, it measures in the same run, from the same keep-alive connections
of a small raw HTTP/1.1 client (an HTTP library would measure itself):

1. the baseline: GET /healthz of the same server;
2. one-click POSTs of clients of that campaign: every POST is a first withdrawal, so every
   request writes a consent event while the workers recheck consent and send.

Prints req/s and latency percentiles of both and their ratio, the campaign's send rate during
the POSTs, and where everything ran. Targets: >= 1,000 req/s and p99 < 100 ms on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import psycopg
from sqlalchemy import func, insert, select, text

from bench.sending import Stack
from db.migrate import upgrade
from db.models import Campaign, Client, ConsentEvent, Salon, Visit, utcnow
from db.session import get_engine
from web.tokens import UnsubscribeToken, make_token

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret-" + "x" * 32
BODY = b"List-Unsubscribe=One-Click"
BASELINE = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.unsubscribe", description=__doc__.split("\n")[0])
    parser.add_argument("--pg-host", default=os.environ.get("SALONPOST_TEST_PG_HOST", "127.0.0.1"))
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument(
        "--campaign", type=int, default=50_000, help="recipients of the campaign sent meanwhile"
    )
    parser.add_argument(
        "--campaign-rate",
        type=float,
        default=100.0,
        help="the campaign sender's messages per second (0: unpaced)",
    )
    parser.add_argument("--processes", type=int, default=1, help="dramatiq worker processes")
    parser.add_argument("--threads", type=int, default=4, help="dramatiq threads per process")
    parser.add_argument("--claim-chunk", type=int, default=50, help="SALONPOST_CLAIM_CHUNK")
    return parser.parse_args(argv)


def _create_database(host: str, user: str) -> tuple[str, str]:
    name = f"salonpost_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(host=host, user=user, dbname="test", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return name, f"postgresql+psycopg://{user}@{host}/{name}"


def _drop_database(host: str, user: str, name: str) -> None:
    with psycopg.connect(host=host, user=user, dbname="test", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _seed(url: str, clients: int) -> tuple[int, list[int]]:
    """A salon without quiet hours and `clients` existing customers with a mobile number."""
    upgrade(url)
    now = utcnow()
    with get_engine(url).begin() as conn:
        salon_id = conn.execute(
            insert(Salon)
            .values(slug="bench", name="Salon Bench", gate_on=dt.date(2024, 1, 1),
                    quiet_start="00:00", quiet_end="00:00", created_at=now)
            .returning(Salon.id)
        ).scalar_one()  # fmt: skip
        ids: list[int] = []
        for start in range(0, clients, 10_000):
            rows = [
                {"salon_id": salon_id, "ref": f"B{i}", "first_name": f"Kundin{i}",
                 "phone": f"+49151{i:08d}", "phone_e164": f"+49151{i:08d}",
                 "created_at": dt.datetime(2023, 1, 1, tzinfo=dt.UTC), "updated_at": now}
                for i in range(start, min(start + 10_000, clients))
            ]  # fmt: skip
            batch = conn.scalars(insert(Client).returning(Client.id), rows).all()
            visit = {"salon_id": salon_id, "visited_at": now - dt.timedelta(days=30)}
            visit |= {"amount": Decimal("40"), "source": "import"}
            conn.execute(insert(Visit), [{**visit, "client_id": i} for i in batch])
            ids.extend(batch)
    with get_engine(url).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))  # as autovacuum would have: plans of a live database
    return int(salon_id), ids


def _campaign(url: str, salon_id: int) -> int:
    with get_engine(url).begin() as conn:
        return int(
            conn.execute(
                insert(Campaign)
                .values(salon_id=salon_id, name="bench unsubscribe",
                        sms_body="Hallo {{ first_name }}! Abmelden: {{ unsubscribe_url }}",
                        status="queued", queued_at=utcnow(), created_at=utcnow(), window_months=36)
                .returning(Campaign.id)
            ).scalar_one()
        )  # fmt: skip


def _one_click_requests(salon_id: int, client_ids: list[int]) -> list[bytes]:
    """One first-withdrawal POST per client, as a mail provider sends it (RFC 8058)."""
    requests = []
    for client_id in client_ids:
        # The campaign's channel: each POST withdraws what the workers are sending.
        token = make_token(UnsubscribeToken(salon_id, client_id, "sms"), secret_key=SECRET)
        requests.append(
            f"POST /u/{token} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(BODY)}\r\n\r\n".encode()
            + BODY
        )
    return requests


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_server(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALONPOST_")}
    env.update(SALONPOST_DATABASE_URL=url, SALONPOST_SECRET_KEY=SECRET, PYTHONPATH=str(ROOT))
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "web.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
        "--no-proxy-headers",
    ]
    if _pinned():
        command = ["taskset", "-c", "0,1", *command]  # the server gets two cores, the load the rest
    server = subprocess.Popen(command, env=env, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("uvicorn did not start")


def _pinned() -> bool:
    return (os.cpu_count() or 1) > 2 and shutil.which("taskset") is not None


async def _send(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    await reader.readexactly(length)
    return status


@dataclass
class Run:
    latencies: list[float]
    errors: int
    started: float  # unix time
    seconds: float

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000

    def line(self, what: str) -> str:
        return (
            f"{what}: {len(self.latencies)} requests, {self.errors} errors, {self.rate:.0f} req/s, "
            f"p50 {self.percentile(0.5):.1f} ms, p95 {self.percentile(0.95):.1f} ms, "
            f"p99 {self.percentile(0.99):.1f} ms, max {max(self.latencies) * 1000:.1f} ms"
        )


async def _load(port: int, requests: list[bytes], concurrency: int) -> Run:
    queue = iter(requests)
    latencies: list[float] = []
    errors = 0

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for request in queue:
            started = time.perf_counter()
            status = await _send(reader, writer, request)
            latencies.append(time.perf_counter() - started)
            errors += status != 200
        writer.close()

    started, wall = time.time(), time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return Run(latencies, errors, started, time.perf_counter() - wall)


def _sent_between(stack: Stack, campaign_id: int, start: float, end: float) -> int:
    prefix = f"c{campaign_id}-"
    return sum(1 for at, key in stack.accepted() if key.startswith(prefix) and start <= at <= end)


def _wait_for_sending(stack: Stack, campaign_id: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while _sent_between(stack, campaign_id, 0, float("inf")) == 0:
        if time.monotonic() > deadline:
            raise SystemExit(f"the campaign sent nothing in {timeout:.0f} s")
        time.sleep(0.2)


def _measure(args: argparse.Namespace, url: str, workdir: Path) -> dict[str, float]:
    salon_id, client_ids = _seed(url, max(args.campaign, args.warmup + args.requests))
    posts = _one_click_requests(salon_id, client_ids[: args.warmup + args.requests])
    port = _free_port()
    server = _start_server(url, port, args.workers)
    rate = {"SALONPOST_SMS_MESSAGES_PER_SECOND": str(args.campaign_rate)}
    stack = Stack(url, args, workdir, env=rate if args.campaign_rate else None)
    try:
        asyncio.run(_load(port, posts[: args.warmup], args.concurrency))
        campaign_id = _campaign(url, salon_id)
        stack.enqueue("campaigns", "plan_campaign", campaign_id)
        _wait_for_sending(stack, campaign_id)
        load_before = os.getloadavg()[0]
        baseline = asyncio.run(_load(port, [BASELINE] * args.requests, args.concurrency))
        run = asyncio.run(_load(port, posts[args.warmup :], args.concurrency))
        window_end = run.started + run.seconds
        time.sleep(1)  # hand-offs of the window still being written to the log
        sent = (
            _sent_between(stack, campaign_id, 0, run.started),
            _sent_between(stack, campaign_id, run.started, window_end),
            _sent_between(stack, campaign_id, window_end, float("inf")),
        )
        load_after = os.getloadavg()[0]
    finally:
        stack.stop()
        server.terminate()
        server.wait(timeout=30)
    with get_engine(url).connect() as conn:
        stored = conn.scalar(select(func.count()).select_from(ConsentEvent)) or 0
    get_engine(url).dispose()
    return _report(args, baseline, run, stored, sent, (load_before, load_after))


def _pace(args: argparse.Namespace) -> str:
    if args.campaign_rate:
        return f"sender paced at {args.campaign_rate:g} messages/s"
    return "unpaced"


def _report(
    args: argparse.Namespace,
    baseline: Run,
    run: Run,
    stored: int,
    sent: tuple[int, int, int],
    load: tuple[float, float],
) -> dict[str, float]:
    print(run.line("unsubscribe one-click POST"))
    print(f"  consent events stored: {stored} (expected {args.warmup + args.requests})")
    print(baseline.line("baseline GET /healthz (same server, same connections, campaign sending)"))
    ratio = run.rate / baseline.rate
    p99_ratio = run.percentile(0.99) / baseline.percentile(0.99)
    print(f"ratio: one-click {ratio:.2f}x the baseline's req/s, p99 {p99_ratio:.1f}x its p99")
    before, during, after = sent
    print(
        f"campaign meanwhile ({_pace(args)}): {during} SMS handed off in the "
        f"{run.seconds:.1f} s of the POSTs = {during / run.seconds:.0f} messages/s "
        f"({args.campaign} recipients: {before} sent before the POSTs, {after} after"
        f"{'' if after else ': it ran out during the POSTs'})"
    )
    where = "pinned to CPUs 0,1 with taskset" if _pinned() else "not pinned"
    print(
        f"placement: {os.cpu_count()} CPUs; uvicorn ({args.workers} workers, {where}), "
        f"PostgreSQL, Redis, dramatiq ({args.processes} process x {args.threads} threads) and "
        f"this load generator (1 process, {args.concurrency} keep-alive connections) all share "
        f"them; load average {load[0]:.1f} before, {load[1]:.1f} after"
    )
    verdicts = (
        f"req/s {'MET' if run.rate >= 1000 else 'MISSED'}",
        f"p99 {'MET' if run.percentile(0.99) < 100 else 'MISSED'}",
    )
    print(f"targets: >= 1000 req/s, p99 < 100 ms while a campaign sends: {', '.join(verdicts)}")
    return {
        "req_per_s": run.rate,
        "p50_ms": run.percentile(0.5),
        "p99_ms": run.percentile(0.99),
        "errors": run.errors,
        "consent_events": stored,
        "baseline_req_per_s": baseline.rate,
        "baseline_p99_ms": baseline.percentile(0.99),
        "ratio": ratio,
        "campaign_per_s": sent[1] / run.seconds,
    }


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    args = _arguments(argv if argv is not None else sys.argv[1:])
    name, url = _create_database(args.pg_host, args.pg_user)
    try:
        with tempfile.TemporaryDirectory(
            dir="/dev/shm" if Path("/dev/shm").exists() else None
        ) as d:
            return _measure(args, url, Path(d))
    finally:
        get_engine(url).dispose()
        _drop_database(args.pg_host, args.pg_user, name)


if __name__ == "__main__":
    main()
