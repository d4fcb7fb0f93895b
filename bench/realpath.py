"""The operator's path: ``python -m bench sending --channel smtp|twilio|fake``.

What a new salon does first, measured end to end:

1. a fresh PostgreSQL database, migrated, with autovacuum switched off for every table
   (``ALTER TABLE ... SET (autovacuum_enabled = false)``), and never analysed by the bench:
   whatever statistics the planner gets come from Salonpost itself;
2. ``salonpost clients import`` and ``visits import`` of CSV files (the real commands, run in
   this process so that the interpreter's start-up is not counted as import time);
3. the Procfile's workers (its worker line: environment, ``--processes``, ``--threads``) with
   the default settings, and the real channel against a loopback server started by the bench
   (`bench.sinks`): SMTP (an aiosmtpd server that accepts every message at once) or Twilio (a
   minimal Messages API); ``fake`` is the in-process fake provider;
4. ``salonpost campaign create`` and ``campaign queue``; then the time to the first hand-off
   and to the last, PostgreSQL transactions per message and the CPU split while sending;
5. the server's own ceiling in the same run: a plain client loop over as many connections as
   the workers may open, and the ratio of the end-to-end rate to it.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from bench import sinks
from bench.sending import ROOT, Stack, _database, _drop, _free_port

EMAIL_HTML = """<!doctype html><html><body style="font-family: sans-serif">
<h1>Hallo {{ first_name }},</h1>
<p>der Herbst ist da: 20 % auf Farbe und Schnitt bis Ende des Monats bei {{ salon_name }}.</p>
<p>Einfach antworten oder online einen Termin buchen.</p>
<p style="font-size: small">Keine Werbung mehr? <a href="{{ unsubscribe_url }}">Abmelden</a></p>
</body></html>
"""
EMAIL_TEXT = (
    "Hallo {{ first_name }},\n\nder Herbst ist da: 20 % auf Farbe und Schnitt bis Ende des "
    "Monats bei {{ salon_name }}.\n\nKeine Werbung mehr? Abmelden: {{ unsubscribe_url }}\n"
)
SMS = "Hallo {{ first_name }}, 20% bei {{ salon_name }}. Abmelden: {{ unsubscribe_url }}"
CLIENT_HEADER = (
    "ref,first_name,last_name,phone,email,birth_date,guardian_name,guardian_phone,"
    "guardian_email,created_at,imported_at,sms_marketing,email_marketing,guardian_consent"
)
TARGETS = {"first_hand_off_s": 2.0, "smtp_ratio": 0.70, "twilio_per_s": 2000.0,
           "import_rows_per_s": 10_000.0}  # fmt: skip


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--channel", choices=("smtp", "twilio", "fake"))
    parser.add_argument("--clients", type=int, default=20_000, help="clients in the CSV")
    parser.add_argument(
        "--worker-env", action="append", default=[], metavar="NAME=VALUE",
        help="a further SALONPOST_ setting of the workers (SMTP_CONCURRENCY=16, say)",
    )  # fmt: skip


def procfile_worker() -> tuple[dict[str, str], int, int]:
    """The Procfile's worker line: its environment, processes and threads."""
    line = next(
        line.split(":", 1)[1].split()
        for line in (ROOT / "Procfile").read_text().splitlines()
        if line.startswith("worker:")
    )
    env = dict(word.split("=", 1) for word in line if "=" in word and not word.startswith("-"))
    processes = int(line[line.index("--processes") + 1]) if "--processes" in line else 1
    threads = int(line[line.index("--threads") + 1]) if "--threads" in line else 8
    return env, processes, threads


def _verdict(met: bool) -> str:
    return "MET" if met else "MISSED"


def _write_csvs(workdir: Path, clients: int) -> tuple[Path, Path]:
    """Clients made in the salon in 2023 (existing customers, R5), each with a purchase 30 days
    ago and an older visit without one; a third granted SMS, half email marketing."""
    recent = (dt.date.today() - dt.timedelta(days=30)).isoformat()
    client_lines, visit_lines = [CLIENT_HEADER], ["client_ref,visited_at,amount"]
    for n in range(clients):
        sms = "granted" if n % 3 == 0 else ""
        email = "granted" if n % 2 == 0 else ""
        client_lines.append(
            f"K{n},Kundin{n},Muster,0176 {n:08d},kundin{n}@example.com,,,,,"
            f"2023-01-01T10:00:00,,{sms},{email},"
        )
        visit_lines += [f"K{n},{recent}T10:00:00,45.00", f"K{n},2023-01-01T10:00:00,0"]
    clients_csv, visits_csv = workdir / "clients.csv", workdir / "visits.csv"
    clients_csv.write_text("\n".join(client_lines) + "\n")
    visits_csv.write_text("\n".join(visit_lines) + "\n")
    return clients_csv, visits_csv


def _autovacuum_off(url: str) -> None:
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        for (table,) in tables:
            conn.execute(
                f'ALTER TABLE "{table}" SET (autovacuum_enabled = false, '
                "toast.autovacuum_enabled = false)"
            )


def _salonpost(*args: str) -> str:
    """One ``salonpost`` command in this process; its standard output."""
    from cli import app

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = app(list(args), standalone_mode=False)
    if code:
        raise RuntimeError(f"salonpost {' '.join(args)} exited {code}: {err.getvalue()}")
    return out.getvalue()


def _configure_cli(url: str, redis_url: str) -> None:
    """Point this process's settings at the bench's database and Redis (the commands enqueue
    on the Redis the settings name, see :func:`cli.running.run`)."""
    from settings import get_settings

    os.environ.update(SALONPOST_DATABASE_URL=url, SALONPOST_REDIS_URL=redis_url,
                      SALONPOST_SECRET_KEY="bench-secret-" + "x" * 32)  # fmt: skip
    get_settings.cache_clear()


def _import(clients_csv: Path, visits_csv: Path, clients: int) -> dict[str, float]:
    started = time.perf_counter()
    _salonpost("clients", "import", "--salon", "bench", str(clients_csv))
    middle = time.perf_counter()
    _salonpost("visits", "import", "--salon", "bench", str(visits_csv))
    done = time.perf_counter()
    rows = clients + 2 * clients
    rate = rows / (done - started)
    print(
        f"import: {clients} clients in {middle - started:.2f} s, {2 * clients} visits in "
        f"{done - middle:.2f} s: {rate:,.0f} rows/s (target >= 10,000 rows/s): "
        f"{_verdict(rate >= TARGETS['import_rows_per_s'])}"
    )
    return {"import_rows_per_s": rate, "clients_import_s": middle - started,
            "visits_import_s": done - middle}  # fmt: skip


def _sink(kind: str, log: Path) -> tuple[subprocess.Popen[bytes] | None, int]:
    if kind == "fake":
        return None, 0
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.sinks", kind, "--port", str(port), "--log", str(log)],
        cwd=ROOT, env=os.environ | {"PYTHONPATH": str(ROOT)}, start_new_session=True,
    )  # fmt: skip
    time.sleep(1.0)
    return process, port


def _worker_env(kind: str, port: int, extra: list[str]) -> dict[str, str]:
    env = {"SALONPOST_QUIET_HOURS": "false"}  # SMS at any hour of the bench
    if kind == "smtp":
        env |= {"SALONPOST_EMAIL_BACKEND": "smtp", "SALONPOST_SMTP_URL": f"smtp://127.0.0.1:{port}",
                "SALONPOST_EMAIL_FROM": "Salon Bench <hallo@salon-bench.example>"}  # fmt: skip
    elif kind == "twilio":
        env |= {"SALONPOST_SMS_BACKEND": "twilio", "SALONPOST_TWILIO_ACCOUNT_SID": "ACbench",
                "SALONPOST_TWILIO_AUTH_TOKEN": "bench-token",
                "SALONPOST_SMS_FROM": "+4915100000000",
                "SALONPOST_TWILIO_API_BASE": f"http://127.0.0.1:{port}",
                # Unpaced: the local server is the limit, not a sender's rate.
                "SALONPOST_SMS_MESSAGES_PER_SECOND": "0"}  # fmt: skip
    for setting in extra:
        name, _, value = setting.partition("=")
        env[f"SALONPOST_{name.removeprefix('SALONPOST_')}"] = value
    return env


def _campaign(kind: str, workdir: Path) -> int:
    if kind == "twilio":
        (workdir / "sms.txt").write_text(SMS)
        content = ["--sms", str(workdir / "sms.txt")]
    else:
        (workdir / "mail.html").write_text(EMAIL_HTML)
        (workdir / "mail.txt").write_text(EMAIL_TEXT)
        content = ["--email-subject", "Herbst bei {{ salon_name }}",
                   "--email-html", str(workdir / "mail.html"),
                   "--email-text", str(workdir / "mail.txt")]  # fmt: skip
    return int(_salonpost("campaign", "create", "--salon", "bench", "--name", "Herbst", *content))


def _recipients(url: str, campaign_id: int) -> int:
    """The campaign's deliveries, once the workers have planned it."""
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        while True:
            row = conn.execute(
                "SELECT count(*) FROM delivery WHERE campaign_id = %s", (campaign_id,)
            ).fetchone()
            if row and row[0]:
                return int(row[0])
            time.sleep(0.05)


def _transactions(url: str) -> tuple[int, int]:
    """(commits, rollbacks) of the bench's database so far."""
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        row = conn.execute(
            "SELECT xact_commit, xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()"
        ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


TICKS = os.sysconf("SC_CLK_TCK")


def _cpu(workers: int, pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of the workers (their process group), of each named process, of
    PostgreSQL and of the rest; and the machine's idle time."""
    used = dict.fromkeys(["workers", *pids, "postgres", "other"], 0.0)
    by_pid = {pid: name for name, pid in pids.items()}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        other = "postgres" if comm == "postgres" else "other"
        who = by_pid.get(int(entry.name)) or ("workers" if int(fields[2]) == workers else other)
        used[who] += (int(fields[11]) + int(fields[12])) / TICKS
    used["idle"] = int(Path("/proc/stat").read_text().split()[4]) / TICKS
    return used


def _cpu_line(before: dict[str, float], after: dict[str, float], seconds: float) -> str:
    # Processes that ended meanwhile take their CPU time with them: never below zero.
    share = {who: max(0.0, after[who] - before[who]) / seconds for who in after}
    idle = share.pop("idle")
    ranked = sorted(share.items(), key=lambda item: -item[1])
    busy = ", ".join(f"{who} {value:.0%}" for who, value in ranked)
    return f"  CPU while sending (100% = one CPU): {busy}; idle {idle:.0%} (of {os.cpu_count()}00%)"


def _wait(
    stack: Stack, kind: str, campaign_id: int, count: int, since: float
) -> tuple[float, float]:
    """(first, last) hand-off time of the campaign's `count` messages, each exactly once."""
    prefix = "" if kind == "twilio" else f"c{campaign_id}-"
    deadline, seen, keys = time.monotonic() + max(600.0, count / 20), 0, set()
    first, last = float("inf"), 0.0
    while time.monotonic() < deadline:
        accepted = stack.accepted()
        for stamp, key in accepted[seen:]:
            if key.startswith(prefix) and stamp >= since:
                assert key not in keys, f"{key} was handed off twice"
                keys.add(key)
                first, last = min(first, stamp), max(last, stamp)
        seen = len(accepted)
        if len(keys) >= count:
            return first, last
        time.sleep(0.2)
    raise TimeoutError(f"campaign {campaign_id}: {len(keys)} of {count} handed off in time")


def _ceiling(kind: str, port: int, connections: int, messages: int) -> float:
    if kind == "smtp":
        from channels.base import Message
        from channels.email import WIRE_POLICY, compose_email

        sample = Message("email", "ceiling@example.com", EMAIL_TEXT * 2, "ceiling-0",
                         subject="Herbst", html=EMAIL_HTML * 2,
                         unsubscribe_url="http://127.0.0.1:8000/u/" + "x" * 120)  # fmt: skip
        raw = compose_email(sample, default_sender="b@salon-bench.example").as_bytes(
            policy=WIRE_POLICY
        )
        return sinks.smtp_ceiling(port, connections=connections, messages=messages, raw=raw)
    return sinks.twilio_ceiling(port, connections=connections, messages=messages)


def _send(
    stack: Stack, url: str, kind: str, workdir: Path, sink: subprocess.Popen[bytes] | None
) -> dict[str, float]:
    campaign_id = _campaign(kind, workdir)
    pids = {"redis": stack.redis.pid, "bench": os.getpid()} | ({"sink": sink.pid} if sink else {})
    transactions = _transactions(url)
    started = time.time()
    _salonpost("campaign", "queue", str(campaign_id))
    queued = time.time()
    count = _recipients(url, campaign_id)
    before = _cpu(stack.workers.pid, pids)
    first, last = _wait(stack, kind, campaign_id, count, started)
    after = _cpu(stack.workers.pid, pids)
    time.sleep(11)  # idle backends report their transaction counts within 10 s
    commits, rollbacks = (b - a for a, b in zip(transactions, _transactions(url), strict=True))
    per_message = (commits + rollbacks) / count
    rate, sending = count / (last - started), count / (last - first)
    print(
        f"{kind}: {count} messages in {last - started:.2f} s from `campaign queue`: "
        f"{rate:,.0f} messages/s end to end; first hand-off {first - started:.2f} s after "
        f"queueing ({queued - started:.2f} s in the command; target <= 2 s: "
        f"{_verdict(first - started <= TARGETS['first_hand_off_s'])}); "
        f"{sending:,.0f} messages/s once sending"
    )
    print(
        f"  PostgreSQL: {per_message:.3f} transactions per message from `campaign queue` on "
        f"({commits} commits, {rollbacks} rollbacks)"
    )
    print(_cpu_line(before, after, last - first))
    return {f"{kind}_per_s": rate, f"{kind}_sending_per_s": sending,
            f"{kind}_first_hand_off_s": first - started, "pg_xact_per_message": per_message,
            "recipients": count}  # fmt: skip


def _report_ceiling(kind: str, figures: dict[str, float], ceiling: float, connections: int) -> None:
    rate = figures[f"{kind}_per_s"]
    ratio = rate / ceiling
    how = "smtplib's sendmail" if kind == "smtp" else "raw keep-alive POSTs"
    target = (
        f"target >= 70%: {_verdict(ratio >= TARGETS['smtp_ratio'])}"
        if kind == "smtp"
        else f"target >= 2,000/s unpaced: {_verdict(rate >= TARGETS['twilio_per_s'])}"
    )
    print(
        f"  ceiling: {ceiling:,.0f} messages/s ({how}, {connections} connections, same server, "
        f"same run); end to end {ratio:.1%} of it ({target})"
    )
    figures |= {f"{kind}_ceiling_per_s": ceiling, f"{kind}_ratio": ratio}


def _connections(kind: str, env: dict[str, str], processes: int, threads: int) -> int:
    """As many connections as the workers may open: SMTP_CONCURRENCY, or every thread."""
    from settings import Settings

    if kind == "smtp":
        configured = env.get("SALONPOST_SMTP_CONCURRENCY")
        return int(configured) if configured else Settings().smtp_concurrency
    return processes * threads


def run(args: argparse.Namespace) -> dict[str, float]:
    kind = args.channel
    name, url = _database(args.pg_host, args.pg_user)
    try:
        _autovacuum_off(url)
        shm = "/dev/shm" if Path("/dev/shm").exists() else None
        with tempfile.TemporaryDirectory(dir=shm) as workdir:
            return _measure(args, kind, url, Path(workdir))
    finally:
        _drop(args.pg_host, args.pg_user, name)


def _measure(args: argparse.Namespace, kind: str, url: str, workdir: Path) -> dict[str, float]:
    clients_csv, visits_csv = _write_csvs(workdir, args.clients)
    sink, port = _sink(kind, workdir / "provider.log")
    procfile_env, processes, threads = procfile_worker()
    args.processes, args.threads = args.processes or processes, args.threads or threads
    env = procfile_env | _worker_env(kind, port, args.worker_env)
    stack = Stack(url, args, workdir, env=env)
    try:
        _configure_cli(url, stack.redis_url)
        _salonpost("salon", "create", "bench", "--name", "Salon Bench", "--gate-on", "2024-01-01")
        figures = _import(clients_csv, visits_csv, args.clients)
        figures |= _send(stack, url, kind, workdir, sink)
        if kind != "fake":
            connections = _connections(kind, env, args.processes, args.threads)
            ceiling = _ceiling(kind, port, connections, min(20_000, int(figures["recipients"])))
            _report_ceiling(kind, figures, ceiling, connections)
    finally:
        stack.stop()
        if sink is not None:
            sink.terminate()
            sink.wait()
    return figures


def main(args: argparse.Namespace) -> dict[str, Any]:
    return run(args)
