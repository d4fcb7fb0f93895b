"""Benchmark: end-to-end sending rate, from ``queue`` to the last hand-off, for SMS and email.

    python -m bench sending --recipients 100000
    python -m bench sending --memory 1000000     # worker RSS at 10,000 and 1,000,000 (SMS only)

A fresh PostgreSQL database (dropped afterwards) and a Redis of its own; real ``dramatiq``
worker processes; the provider is the zero-latency fake channel logging each accepted message
to tmpfs (so the log also proves every recipient got exactly one message). Measured in the same
run: a naive baseline, one actor message and one commit per recipient. Worker memory (RSS of
every worker process, sampled) is reported for a small and the full campaign.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import dramatiq
import psycopg
from dramatiq.message import Message as QueueMessage
from sqlalchemy import insert, select, update

import dispatcher.actors  # noqa: F401  (installs the process's broker, which the naive actor joins)
from db.migrate import upgrade
from db.models import Campaign, Client, Delivery, Salon, Visit, utcnow
from db.session import get_engine, session_scope
from db.states import MAX_WINDOW_MONTHS, CampaignStatus, DeliveryStatus
from dispatcher.broker import enqueuer

ROOT = Path(__file__).resolve().parents[1]
EMAIL_TEXT = "Hallo {{ first_name }}\n{{ unsubscribe_url }}"
SMS = "Hallo {{ first_name }}, 20% bei {{ salon_name }}. Abmelden: {{ unsubscribe_url }}"


def arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=5_000, help="recipients of the baseline")
    parser.add_argument("--small", type=int, default=10_000, help="the small size for memory")
    parser.add_argument(
        "--processes", type=int, help="worker processes (default: one per CPU; --channel: 2)"
    )
    parser.add_argument("--threads", type=int, help="threads per worker (4; --channel: 8)")
    parser.add_argument("--pg-host", default=os.environ.get("SALONPOST_TEST_PG_HOST", "127.0.0.1"))
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument(
        "--memory",
        type=int,
        metavar="N",
        help="the memory run only: SMS campaigns of --small and N recipients (e.g. 1000000), "
        "worker RSS at both; no email, no baseline",
    )
    parser.add_argument("--claim-chunk", type=int, help="SALONPOST_CLAIM_CHUNK (default: settings)")
    from bench import realpath  # which builds on this module

    realpath.arguments(parser)
    return parser


# -- the naive baseline: one actor message and one commit per recipient -----------------------


@dramatiq.actor(queue_name="sends", max_retries=0)
def naive_send(delivery_id: int) -> None:
    from dispatcher.batch import ClientView
    from dispatcher.runtime import get_runtime
    from dispatcher.sending import build_message

    runtime = get_runtime()
    with session_scope(runtime.database_url) as session:
        delivery = session.get(Delivery, delivery_id, with_for_update=True)
        if delivery is None or delivery.status != DeliveryStatus.PENDING:
            return
        campaign = session.get_one(Campaign, delivery.campaign_id)
        salon = session.get_one(Salon, campaign.salon_id)
        client = session.get_one(Client, delivery.client_id)
        view = ClientView(client.id, client.first_name, client.last_name, client.guardian_name)
        message = build_message(runtime, salon, campaign, delivery, view)
        receipt = runtime.channel(delivery.channel).send(message)
        delivery.status, delivery.provider_id, delivery.sent_at = (
            "sent",
            receipt.provider_id,
            utcnow(),
        )
        delivery.body = message.body


# -- set-up ------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _database(host: str, user: str) -> tuple[str, str]:
    name = f"salonpost_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(host=host, user=user, dbname="test", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://{user}@{host}/{name}"
    upgrade(url)
    return name, url


def _drop(host: str, user: str, name: str) -> None:
    get_engine(f"postgresql+psycopg://{user}@{host}/{name}").dispose()
    with psycopg.connect(host=host, user=user, dbname="test", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _seed(url: str, recipients: int) -> int:
    """A salon without quiet hours and `recipients` clients, each with a recent purchase."""
    now = utcnow()
    with get_engine(url).begin() as conn:
        salon_id = conn.execute(
            insert(Salon)
            .values(slug=f"bench{time.time_ns()}", name="Salon Bench", gate_on=dt.date(2024, 1, 1),
                    quiet_start="00:00", quiet_end="00:00", created_at=now)
            .returning(Salon.id)
        ).scalar_one()  # fmt: skip
        for start in range(0, recipients, 10_000):
            rows = [
                {"salon_id": salon_id, "ref": f"B{n}", "first_name": f"Kundin{n}",
                 "phone": f"0176 {n:08d}", "phone_e164": f"+49176{n:08d}",
                 "email": f"b{n}@example.com", "email_normalized": f"b{n}@example.com",
                 "created_at": dt.datetime(2023, 1, 1, tzinfo=dt.UTC), "updated_at": now,
                 "no_reminders": False}
                for n in range(start, min(start + 10_000, recipients))
            ]  # fmt: skip
            ids = conn.scalars(insert(Client).returning(Client.id), rows).all()
            visit_at = now - dt.timedelta(days=30)
            conn.execute(
                insert(Visit),
                [{"salon_id": salon_id, "client_id": i, "visited_at": visit_at,
                  "amount": Decimal("40"), "source": "import"} for i in ids],
            )  # fmt: skip
    # A salon's clients are not all minutes old: without this, autovacuum analyses the freshly
    # seeded tables during the first timed campaign, and the planner works from empty statistics.
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return int(salon_id)


def _campaign(url: str, salon_id: int, channel: str) -> int:
    email = channel == "email"
    with get_engine(url).begin() as conn:
        return int(
            conn.execute(
                insert(Campaign)
                .values(salon_id=salon_id, name=f"bench {channel}",
                        sms_body=None if email else SMS,
                        email_subject="Hallo {{ first_name }}" if email else None,
                        email_text=EMAIL_TEXT if email else None,
                        status=CampaignStatus.QUEUED, queued_at=utcnow(), created_at=utcnow(),
                        window_months=MAX_WINDOW_MONTHS)
                .returning(Campaign.id)
            ).scalar_one()
        )  # fmt: skip


class Stack:
    """Redis, worker processes and their RSS, for one database."""

    def __init__(
        self, url: str, args: argparse.Namespace, workdir: Path, env: dict[str, str] | None = None
    ) -> None:
        """``env``: further SALONPOST_ settings of the workers (a sender's rate, say)."""
        self.workdir = workdir
        self.log = workdir / "provider.log"
        port = _free_port()
        self.redis_url = f"redis://127.0.0.1:{port}/0"
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        time.sleep(0.3)
        settings = env or {}
        env = {k: v for k, v in os.environ.items() if not k.startswith("SALONPOST_")}
        env.update(
            PYTHONPATH=str(ROOT), SALONPOST_DATABASE_URL=url, SALONPOST_REDIS_URL=self.redis_url,
            SALONPOST_SECRET_KEY="bench-secret-" + "x" * 32, SALONPOST_SMS_BACKEND="fake",
            SALONPOST_EMAIL_BACKEND="fake", SALONPOST_FAKE_PROVIDER_LOG=str(self.log),
            SALONPOST_QUIET_HOURS="false",
        )  # fmt: skip
        if args.claim_chunk:
            env["SALONPOST_CLAIM_CHUNK"] = str(args.claim_chunk)
        env.update(settings)
        self.workers = subprocess.Popen(
            [sys.executable, "-m", "dramatiq", "dispatcher.actors", "bench.sending",
             "--processes", str(args.processes), "--threads", str(args.threads)],
            env=env, cwd=ROOT, stdout=(workdir / "worker.log").open("wb"),
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.broker = enqueuer(self.redis_url)
        self.peak_rss = 0
        self._offset = 0
        self._accepted: list[tuple[float, str]] = []
        self._sampling = True
        threading.Thread(target=self._sample, daemon=True).start()
        time.sleep(3)  # the workers import and connect

    def _sample(self) -> None:
        while self._sampling:
            self.peak_rss = max(self.peak_rss, _worker_rss(self.workers.pid))
            time.sleep(0.2)

    def enqueue(self, queue: str, actor: str, *args: int) -> None:
        self.broker.declare_queue(queue)
        self.broker.enqueue(QueueMessage(queue_name=queue, actor_name=actor, args=args,
                                         kwargs={}, options={}))  # fmt: skip

    def accepted(self) -> list[tuple[float, str]]:
        """Every hand-off so far; the log is read incrementally (polling must cost ~nothing)."""
        if self.log.exists():
            with self.log.open("rb") as log:
                log.seek(self._offset)
                data = log.read()
            complete = data[: data.rfind(b"\n") + 1]
            self._offset += len(complete)
            for line in complete.decode().splitlines():
                stamp, key = line.split()
                self._accepted.append((float(stamp), key))
        return self._accepted

    def stop(self) -> None:
        self._sampling = False
        os.killpg(self.workers.pid, signal.SIGTERM)
        self.workers.wait(timeout=60)
        self.redis.terminate()
        self.redis.wait()


def _worker_rss(parent: int) -> int:
    """Largest RSS (bytes) among the dramatiq worker processes (the children of `parent`)."""
    largest = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(parent):
            largest = max(largest, int(fields.get("VmRSS", "0 kB").split()[0]) * 1024)
    return largest


def _wait_for(stack: Stack, campaign_id: int, count: int, timeout: float) -> tuple[float, float]:
    """Times of the campaign's first and last accepted hand-off once `count` were accepted.

    Each poll looks at the hand-offs logged since the last one only: the bench shares the two
    cores with the workers it measures, and going over every hand-off again at each poll cost
    it several per cent of a core by the end of a 100,000-message campaign."""
    prefix = f"c{campaign_id}-"
    deadline = time.monotonic() + timeout
    keys: set[str] = set()
    seen, handed_off, first, last = 0, 0, float("inf"), 0.0
    while time.monotonic() < deadline:
        hand_offs = stack.accepted()
        for stamp, key in hand_offs[seen:]:
            if key.startswith(prefix):
                keys.add(key)
                handed_off += 1
                first, last = min(first, stamp), max(last, stamp)
        seen = len(hand_offs)
        if handed_off >= count:
            assert len(keys) == handed_off == count, "a message was handed off twice"
            return first, last
        time.sleep(0.5)
    raise TimeoutError(f"campaign {campaign_id}: not every message handed off in {timeout} s")


def _timed_campaign(stack: Stack, url: str, salon_id: int, channel: str, count: int) -> float:
    campaign_id = _campaign(url, salon_id, channel)
    started = time.time()
    stack.enqueue("campaigns", "plan_campaign", campaign_id)
    first, last = _wait_for(stack, campaign_id, count, timeout=max(600, count / 100))
    # Where the time goes: planning (queue to the first hand-off) and sending (the rest).
    print(
        f"  {channel} {count}: first hand-off after {first - started:.2f} s, the last "
        f"{last - first:.2f} s later ({count / (last - first):.0f} messages/s once sending)"
    )
    return count / (last - started)


def _baseline(stack: Stack, url: str, salon_id: int, count: int) -> float:
    """One actor message and one commit per recipient (planning excluded: it is shared)."""
    from dispatcher.planning import plan

    campaign_id = _campaign(url, salon_id, "sms")
    with session_scope(url) as session:
        plan(session, campaign_id)
        ids = session.scalars(
            select(Delivery.id)
            .where(Delivery.campaign_id == campaign_id)
            .order_by(Delivery.id)
            .limit(count)
        ).all()
        # Only `count` recipients take part in the baseline: the rest are left out.
        session.execute(
            update(Delivery)
            .where(Delivery.campaign_id == campaign_id, Delivery.id > ids[-1])
            .values(status=DeliveryStatus.SKIPPED, skip_rule="BL")
        )
    started = time.time()
    for delivery_id in ids:
        stack.enqueue("sends", "naive_send", delivery_id)
    _, last = _wait_for(stack, campaign_id, len(ids), timeout=max(600, count / 20))
    return len(ids) / (last - started)


def _round(
    url: str, args: argparse.Namespace, recipients: int, *, channels: Sequence[str], baseline: bool
) -> dict[str, float]:
    salon_id = _seed(url, recipients)
    with tempfile.TemporaryDirectory(dir="/dev/shm" if Path("/dev/shm").exists() else None) as d:
        stack = Stack(url, args, Path(d))
        try:
            figures = {ch: _timed_campaign(stack, url, salon_id, ch, recipients) for ch in channels}
            if baseline:
                figures["baseline"] = _baseline(stack, url, salon_id, args.baseline)
            figures["rss_mb"] = stack.peak_rss / 2**20
        finally:
            stack.stop()
    return figures


def _rounds(
    args: argparse.Namespace, sizes: Sequence[int], *, channels: Sequence[str], baseline: bool
) -> dict[str, float]:
    """One fresh database per size; the worker RSS of each round is printed as it ends. The
    baseline, if asked for, runs in the last round only."""
    results: dict[str, float] = {}
    for size in sizes:
        name, url = _database(args.pg_host, args.pg_user)
        try:
            last = size == sizes[-1]
            figures = _round(url, args, size, channels=channels, baseline=baseline and last)
        finally:
            _drop(args.pg_host, args.pg_user, name)
        print(f"worker RSS (largest process) at {size} recipients: {figures['rss_mb']:.0f} MB")
        results.update({f"{k}@{size}": v for k, v in figures.items()})
    return results


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    args = arguments(argparse.ArgumentParser(prog="bench sending")).parse_args(argv)
    if args.channel:
        # The operator's path: the Procfile's worker settings unless told otherwise.
        from bench import realpath

        return realpath.main(args)
    args.processes, args.threads = args.processes or os.cpu_count() or 2, args.threads or 4
    if args.memory:
        results = _rounds(args, (args.small, args.memory), channels=("sms",), baseline=False)
        rate = results[f"sms@{args.memory}"]
        print(f"sms:      {rate:8.0f} messages/s end to end ({args.memory} recipients)")
        return results
    results = _rounds(args, (args.small, args.recipients), channels=("sms", "email"), baseline=True)
    big = args.recipients
    sms, email, naive = results[f"sms@{big}"], results[f"email@{big}"], results[f"baseline@{big}"]
    print(f"sms:      {sms:8.0f} messages/s end to end ({big} recipients; target >= 10,000)")
    print(f"email:    {email:8.0f} messages/s end to end ({big} recipients; target >= 5,000)")
    print(f"baseline: {naive:8.0f} messages/s (one actor message and one commit per recipient)")
    print(
        f"ratio:    sms {sms / naive:.1f}x, email {email / naive:.1f}x the baseline (target >= 10x)"
    )
    return results


if __name__ == "__main__":
    main()
