"""Benchmark: RFC 8058 one-click unsubscribe POSTs against a uvicorn server on PostgreSQL.

    python -c "import bench.unsubscribe as b; b.main()" --requests 20000 --concurrency 64

Creates a fresh PostgreSQL database (dropped afterwards), a salon and one client per request,
starts ``uvicorn web.app:create_app --factory --workers 2`` (pinned to two cores with
``taskset`` when there are more than two), and fires one-click POSTs from keep-alive
connections with a small raw HTTP/1.1 client (an HTTP library would measure itself). Every POST
is a first withdrawal, so every request writes a consent event. Prints req/s and latency
percentiles; the targets are >= 1,000 req/s and p99 < 100 ms.
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
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import psycopg
from sqlalchemy import func, insert, select

from db.migrate import upgrade
from db.models import Client, ConsentEvent, Salon
from db.session import get_engine
from web.tokens import UnsubscribeToken, make_token

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret-" + "x" * 32
BODY = b"List-Unsubscribe=One-Click"


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.unsubscribe", description=__doc__.split("\n")[0])
    parser.add_argument("--pg-host", default=os.environ.get("SALONPOST_TEST_PG_HOST", "127.0.0.1"))
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    return parser.parse_args(argv)


def _create_database(host: str, user: str) -> tuple[str, str]:
    name = f"salonpost_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(host=host, user=user, dbname="test", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return name, f"postgresql+psycopg://{user}@{host}/{name}"


def _drop_database(host: str, user: str, name: str) -> None:
    with psycopg.connect(host=host, user=user, dbname="test", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _seed(url: str, clients: int) -> list[str]:
    """A salon with `clients` clients; one-click paths, one per client."""
    upgrade(url)
    now = dt.datetime.now(dt.UTC)
    with get_engine(url).begin() as conn:
        salon_id = conn.execute(
            insert(Salon)
            .values(slug="bench", name="Salon Bench", gate_on=dt.date(2024, 1, 1), created_at=now)
            .returning(Salon.id)
        ).scalar_one()
        rows = [
            {
                "salon_id": salon_id,
                "ref": f"B{i}",
                "email_normalized": f"b{i}@example.com",
                "created_at": now,
                "updated_at": now,
            }
            for i in range(clients)
        ]
        conn.execute(insert(Client), rows)
        ids = conn.scalars(select(Client.id).where(Client.salon_id == salon_id)).all()
    get_engine(url).dispose()
    tokens = (UnsubscribeToken(salon_id, client_id, "email", None) for client_id in ids)
    return [f"/u/{make_token(token, secret_key=SECRET)}" for token in tokens]


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
    if (os.cpu_count() or 1) > 2 and shutil.which("taskset"):
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


async def _post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> int:
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(BODY)}\r\n\r\n".encode()
        + BODY
    )
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    await reader.readexactly(length)
    return status


async def _load(port: int, paths: list[str], concurrency: int) -> tuple[list[float], int, float]:
    """Latencies (s), the number of non-200 answers, and the wall time."""
    queue = iter(paths)
    latencies: list[float] = []
    errors = 0

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for path in queue:
            started = time.perf_counter()
            status = await _post(reader, writer, path)
            latencies.append(time.perf_counter() - started)
            errors += status != 200
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return latencies, errors, time.perf_counter() - started


def _percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def _report(latencies: list[float], errors: int, seconds: float, stored: int) -> dict[str, float]:
    ordered = sorted(latencies)
    figures = {
        "requests": len(latencies),
        "errors": errors,
        "req_per_s": len(latencies) / seconds,
        "p50_ms": _percentile(ordered, 0.50) * 1000,
        "p95_ms": _percentile(ordered, 0.95) * 1000,
        "p99_ms": _percentile(ordered, 0.99) * 1000,
        "max_ms": ordered[-1] * 1000,
        "consent_events": stored,
    }
    print(
        f"unsubscribe one-click: {figures['requests']} POSTs, {errors} errors, "
        f"{figures['req_per_s']:.0f} req/s, p50 {figures['p50_ms']:.1f} ms, "
        f"p95 {figures['p95_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms, "
        f"max {figures['max_ms']:.1f} ms, {stored} consent events "
        f"(targets: >= 1000 req/s, p99 < 100 ms; {os.cpu_count()} CPUs on this machine)"
    )
    return figures


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    args = _arguments(argv if argv is not None else sys.argv[1:])
    name, url = _create_database(args.pg_host, args.pg_user)
    server = None
    try:
        paths = _seed(url, args.warmup + args.requests)
        port = _free_port()
        server = _start_server(url, port, args.workers)
        asyncio.run(_load(port, paths[: args.warmup], args.concurrency))
        latencies, errors, seconds = asyncio.run(
            _load(port, paths[args.warmup :], args.concurrency)
        )
        with get_engine(url).connect() as conn:
            stored = conn.scalar(select(func.count()).select_from(ConsentEvent)) or 0
        get_engine(url).dispose()
        return _report(latencies, errors, seconds, stored)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        _drop_database(args.pg_host, args.pg_user, name)


if __name__ == "__main__":
    main()
