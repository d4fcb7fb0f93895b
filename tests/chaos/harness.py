"""Real worker processes, a Redis of our own, a PostgreSQL proxy and a fake provider's log.

Used by the chaos tests and the pacing test: everything the dispatcher does here crosses real
process boundaries, so a SIGKILL, a flushed Redis or a cut database connection is the real thing.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import psycopg
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.message import Message as QueueMessage
from sqlalchemy import func, insert, select

from channels.fake import accepted_keys
from db.models import Campaign, Client, Delivery, Salon, Visit, utcnow
from db.session import get_engine

ROOT = Path(__file__).resolve().parents[2]
EMAIL_TEXT = "Hallo {{ first_name }} {{ unsubscribe_url }}"
SMS = "Hallo {{ first_name }}, 20% bei {{ salon_name }}. Abmelden: {{ unsubscribe_url }}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """A redis-server of our own (never the shared one on 6379), without persistence."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


class PgProxy:
    """A TCP proxy to PostgreSQL that the test can cut: `outage()` closes every connection
    and refuses new ones until it ends."""

    def __init__(self, target: tuple[str, int] = ("127.0.0.1", 5432)) -> None:
        self.target = target
        self.down = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.sockets: set[socket.socket] = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                # Checked under the lock that outage() takes: no pair escapes a cut.
                if self.down.is_set():
                    client.close()
                    upstream.close()
                    continue
                self.sockets |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                # shutdown() first: a bare close() neither wakes the other pipe thread blocked in
                # recv() on it nor sends the FIN, and PostgreSQL would wait for that client forever.
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    s.close()
            with self.lock:
                self.sockets -= {source, sink}

    def _cut(self) -> None:
        """Drop every connection both ways, so PostgreSQL aborts their transactions."""
        with self.lock:
            self.down.set()
            ports = []
            for s in self.sockets:
                with contextlib.suppress(OSError):
                    if s.getpeername()[1] == self.target[1]:
                        ports.append(int(s.getsockname()[1]))
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            self.sockets.clear()
        self._end_sessions(ports)

    def _end_sessions(self, ports: list[int]) -> None:
        """A real network cut ends the server's sessions too (TCP keepalive, at the latest):
        make sure no session of a cut connection lives on holding row locks."""
        if not ports:
            return
        for user in ("postgres", "root"):
            with contextlib.suppress(psycopg.OperationalError):
                with psycopg.connect(
                    host=self.target[0], port=self.target[1], user=user, dbname="test",
                    autocommit=True, connect_timeout=5,
                ) as admin:  # fmt: skip
                    admin.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE client_port = ANY(%s) AND pid <> pg_backend_pid()",
                        (ports,),
                    )
                return

    def outage(self, seconds: float) -> None:
        self._cut()
        time.sleep(seconds)
        self.down.clear()

    def close(self) -> None:
        self._cut()
        with contextlib.suppress(OSError):
            self.listener.close()


class Workers:
    """`dramatiq dispatcher.actors` processes, restarted whenever one dies (like a supervisor)."""

    def __init__(self, env: dict[str, str], logdir: Path, *, count: int, threads: int) -> None:
        self.env, self.logdir, self.count, self.threads = env, logdir, count, threads
        self.processes: list[subprocess.Popen[bytes]] = []
        self.restarts = 0
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    def start(self) -> None:
        self.processes = [self._spawn(n) for n in range(self.count)]
        threading.Thread(target=self._supervise, daemon=True).start()

    def _spawn(self, n: int) -> subprocess.Popen[bytes]:
        log = (self.logdir / f"worker-{n}.log").open("ab")
        return subprocess.Popen(
            [sys.executable, "-m", "dramatiq", "dispatcher.actors", "--processes", "1",
             "--threads", str(self.threads)],
            env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def _supervise(self) -> None:
        while not self.stopping.is_set():
            with self.lock:
                for n, process in enumerate(self.processes):
                    if process.poll() is not None and not self.stopping.is_set():
                        # The dramatiq parent may outlive its dead child briefly: end the group.
                        _kill_group(process)
                        self.processes[n] = self._spawn(n)
                        self.restarts += 1
            time.sleep(0.2)

    def kill_one(self, n: int = 0) -> None:
        """SIGKILL a worker process group (the dramatiq parent and its worker child)."""
        with self.lock:
            _kill_group(self.processes[n])

    def stop(self) -> None:
        self.stopping.set()
        with self.lock:
            for process in self.processes:
                _kill_group(process)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


class Scheduler:
    """`salonpost scheduler`: the sweep, every second here."""

    def __init__(self, env: dict[str, str], logdir: Path) -> None:
        log = (logdir / "scheduler.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-c", "import cli; cli.main()", "scheduler", "--sweep-seconds", "1"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def stop(self) -> None:
        _kill_group(self.process)


def seed_campaign(database_url: str, recipients: int, *, email: bool = False) -> int:
    """A salon without quiet hours, `recipients` clients with a purchase, a queued campaign."""
    now = utcnow()
    with get_engine(database_url).begin() as conn:
        salon_id = conn.execute(
            insert(Salon)
            .values(slug=f"chaos{time.time_ns()}", name="Salon Chaos", gate_on=dt.date(2024, 1, 1),
                    quiet_start="00:00", quiet_end="00:00", created_at=now)
            .returning(Salon.id)
        ).scalar_one()  # fmt: skip
        for start in range(0, recipients, 5000):
            rows = range(start, min(start + 5000, recipients))
            conn.execute(insert(Client), [_client(salon_id, n, now) for n in rows])
        visit_at = now - dt.timedelta(days=30)
        ids = conn.scalars(select(Client.id).where(Client.salon_id == salon_id)).all()
        for start in range(0, len(ids), 5000):
            conn.execute(
                insert(Visit),
                [{"salon_id": salon_id, "client_id": i, "visited_at": visit_at,
                  "amount": Decimal("40"), "source": "import"} for i in ids[start : start + 5000]],
            )  # fmt: skip
        return int(
            conn.execute(
                insert(Campaign)
                .values(salon_id=salon_id, name="Chaos", sms_body=SMS,
                        email_subject="Hallo" if email else None,
                        email_text=EMAIL_TEXT if email else None,
                        status="queued", queued_at=now, created_at=now, window_months=36)
                .returning(Campaign.id)
            ).scalar_one()
        )  # fmt: skip


def _client(salon_id: int, n: int, now: dt.datetime) -> dict[str, object]:
    return {
        "salon_id": salon_id, "ref": f"C{n}", "first_name": f"Kundin{n}",
        "phone": f"0176 {n:08d}", "phone_e164": f"+49176{n:08d}",
        "email": f"c{n}@example.com", "email_normalized": f"c{n}@example.com",
        "created_at": dt.datetime(2023, 1, 1, tzinfo=dt.UTC), "updated_at": now,
        "no_reminders": False,
    }  # fmt: skip


def enqueue_plan(redis_url: str, campaign_id: int) -> None:
    """Put plan_campaign on the queue without rebinding this process's actors."""
    broker = RedisBroker(url=redis_url, namespace="salonpost")
    broker.declare_queue("campaigns")
    broker.enqueue(
        QueueMessage(queue_name="campaigns", actor_name="plan_campaign", args=(campaign_id,),
                     kwargs={}, options={})
    )  # fmt: skip
    broker.close()


def campaign_state(database_url: str, campaign_id: int) -> tuple[str, dict[str, int]]:
    with get_engine(database_url).connect() as conn:
        status = conn.scalar(select(Campaign.status).where(Campaign.id == campaign_id))
        counts = dict(
            conn.execute(
                select(Delivery.status, func.count())
                .where(Delivery.campaign_id == campaign_id)
                .group_by(Delivery.status)
            ).all()
        )
    return str(status), counts


def wait_until_done(
    database_url: str,
    campaign_id: int,
    *,
    timeout: float,
    during: Callable[[float], None] | None = None,
) -> float:
    """Seconds until the campaign is done; `during(elapsed)` runs chaos between polls."""
    started = time.monotonic()
    while True:
        elapsed = time.monotonic() - started
        try:
            status, _ = campaign_state(database_url, campaign_id)
        except Exception:  # the database may be cut by the test itself
            status = "unreachable"
        if status == "done":
            return elapsed
        if elapsed > timeout:
            raise AssertionError(f"campaign {campaign_id} not done after {timeout} s: {status}")
        if during:
            during(elapsed)
        time.sleep(0.25)


def assert_exactly_once(database_url: str, campaign_id: int, log: Path, recipients: int) -> None:
    """Every recipient ends in a final state; the provider accepted each message once; what it
    accepted is what the database says was sent."""
    status, counts = campaign_state(database_url, campaign_id)
    assert status == "done", status
    assert sum(counts.values()) == recipients
    assert not {"pending", "sending", "unknown"} & set(counts), counts
    keys = [k for k in accepted_keys(log) if k.startswith(f"c{campaign_id}-")]
    duplicates = [k for k, n in collections.Counter(keys).items() if n > 1]
    assert duplicates == [], f"{len(duplicates)} messages accepted twice: {duplicates[:5]}"
    with get_engine(database_url).connect() as conn:
        sent_ids = conn.scalars(
            select(Delivery.id).where(
                Delivery.campaign_id == campaign_id, Delivery.status == "sent"
            )
        ).all()
    assert {f"c{campaign_id}-d{i}" for i in sent_ids} == set(keys)
