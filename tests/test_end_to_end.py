"""One campaign from CSV to outbox to unsubscribe, through the real ``salonpost`` command.

Runs on the embedded default (SQLite, in-process broker) and on PostgreSQL + Redis with a real
``dramatiq`` worker process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from settings import Settings
from web.app import create_app

ROOT = Path(__file__).resolve().parents[1]
SALONPOST = [sys.executable, "-c", "import cli; cli.main()"]
SECRET = "end-to-end-test-secret"

CLIENTS = """\
ref,first_name,last_name,phone,email,birth_date,guardian_name,guardian_phone,guardian_email,created_at,imported_at,sms_marketing,email_marketing,guardian_consent
K1,Anna,Berg,0176 11111111,anna@example.com,1990-05-01,,,,2022-03-01,,granted,granted,
K2,Ben,Koch,0176 22222222,ben@example.com,1985-01-01,,,,2022-03-01,,,,
K3,Clara,Lang,0176 33333333,clara@example.com,1979-07-07,,,,2019-03-01,,withdrawn,,
K4,Dora,Alt,0176 44444444,dora@example.com,1960-02-02,,,,2015-01-01,,,,
"""
SMS = "Hallo {{ first_name }}, 20% bei {{ salon_name }}. Abmelden: {{ unsubscribe_url }}"
HTML = '<p>Hallo {{ first_name }}</p><p><a href="{{ unsubscribe_url }}">Abmelden</a></p>'
TEXT = "Hallo {{ first_name }}\nAbmelden: {{ unsubscribe_url }}\n"


def _visits() -> str:
    recent = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 40 * 86400))
    return (
        "client_ref,visited_at,amount\n"
        f"K1,{recent}T10:00:00,45.00\nK2,{recent}T11:00:00,30.00\nK3,{recent}T12:00:00,60.00\n"
        "K4,2019-01-10T10:00:00,80.00\n"
    )


class Salonpost:
    """The ``salonpost`` command with one environment (database, broker, outbox)."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env, self.workdir = env, workdir

    def __call__(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*SALONPOST, *args],
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if ok:
            assert done.returncode == 0, (
                f"salonpost {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
            )
        return done

    def json(self, *args: str) -> dict:
        return json.loads(self(*args, "--json").stdout)


def _env(tmp_path: Path, database_url: str, redis_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALONPOST_")}
    env.update(
        SALONPOST_DATABASE_URL=database_url,
        SALONPOST_OUTBOX_DIR=str(tmp_path / "outbox"),
        SALONPOST_SECRET_KEY=SECRET,
        SALONPOST_QUIET_HOURS="false",  # the flow must not wait for the morning
        PYTHONPATH=str(ROOT),
    )
    if redis_url:
        env["SALONPOST_REDIS_URL"] = redis_url
    return env


@pytest.fixture
def embedded(tmp_path: Path, sqlite_url: str) -> Salonpost:
    return Salonpost(_env(tmp_path, sqlite_url, None), tmp_path)


@pytest.fixture
def with_services(tmp_path: Path, pg_url: str, redis_url: str) -> Iterator[Salonpost]:
    """PostgreSQL + Redis, and a real ``dramatiq`` worker process consuming the queues."""
    env = _env(tmp_path, pg_url, redis_url)
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dramatiq",
            "dispatcher.actors",
            "--processes",
            "1",
            "--threads",
            "2",
        ],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield Salonpost(env, tmp_path)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()


def _outbox(tmp_path: Path, campaign_id: int) -> dict[str, dict]:
    """SMS outbox files of a campaign by recipient number."""
    found = {}
    for path in (tmp_path / "outbox").glob(f"c{campaign_id}-*.json"):
        message = json.loads(path.read_text(encoding="utf-8"))
        found[message["to"]] = message
    return found


def _run_flow(salonpost: Salonpost, tmp_path: Path, database_url: str) -> None:
    (tmp_path / "clients.csv").write_text(CLIENTS, encoding="utf-8")
    (tmp_path / "visits.csv").write_text(_visits(), encoding="utf-8")
    for name, body in [("sms.txt", SMS), ("mail.html", HTML), ("mail.txt", TEXT)]:
        (tmp_path / name).write_text(body, encoding="utf-8")
    salonpost("db", "upgrade")
    salonpost("salon", "create", "anna", "--name", "Salon Anna", "--gate-on", "2024-01-01")
    salonpost("clients", "import", "--salon", "anna", "clients.csv")
    salonpost("visits", "import", "--salon", "anna", "visits.csv")

    def create() -> int:
        return int(
            salonpost(
                "campaign",
                "create",
                "--salon",
                "anna",
                "--name",
                "Herbst",
                "--sms",
                "sms.txt",
                "--email-subject",
                "Hallo {{ first_name }}",
                "--email-html",
                "mail.html",
                "--email-text",
                "mail.txt",
            ).stdout.strip()
        )

    first = create()
    validated = salonpost.json("campaign", "validate", str(first))
    assert validated["valid"] is True and validated["sms"]["encoding"] == "GSM-7"
    assert validated["sms_total"] == {"recipients": 2, "segments": 2, "encodings": {"GSM-7": 2}}
    audience = salonpost.json("campaign", "audience", str(first))
    assert audience["recipients"] == {"sms": 2, "email": 3}
    assert audience["exclusions"]["sms"] == {"R3": 1, "R4": 1}
    salonpost("campaign", "queue", str(first), "--wait")
    status = salonpost.json("campaign", "status", str(first))
    assert status["status"] == "done" and status["deliveries"] == {"sent": 5}
    sent = _outbox(tmp_path, first)
    assert set(sent) == {"+4917611111111", "+4917622222222"}

    # Ben unsubscribes from SMS by the link in his message.
    link = sent["+4917622222222"]["body"].rsplit(" ", 1)[-1]
    path = link.split("127.0.0.1:8000", 1)[1]
    # On the address of the link: the development pepper answers on loopback only.
    app = create_app(Settings(database_url=database_url, secret_key=SECRET))
    web = TestClient(app, base_url="http://127.0.0.1:8000")
    assert web.get(path).status_code == 200
    assert web.post(path, data={}).status_code == 200
    history = salonpost.json("client", "show", "--salon", "anna", "K2")["consent_history"]
    assert [(e["channel"], e["action"], e["source"]) for e in history] == [
        ("sms", "withdrawn", "link")
    ]

    second = create()
    assert salonpost.json("campaign", "audience", str(second))["exclusions"]["sms"] == {
        "R3": 1,
        "R4": 2,
    }
    salonpost("campaign", "queue", str(second), "--wait")
    assert set(_outbox(tmp_path, second)) == {"+4917611111111"}


def test_campaign_from_import_to_unsubscribe_embedded(
    embedded: Salonpost, tmp_path: Path, sqlite_url: str
) -> None:
    _run_flow(embedded, tmp_path, sqlite_url)


@pytest.mark.services
def test_campaign_from_import_to_unsubscribe_on_postgres_and_redis(
    with_services: Salonpost, tmp_path: Path, pg_url: str
) -> None:
    _run_flow(with_services, tmp_path, pg_url)


def test_campaign_without_unsubscribe_link_is_refused_at_validate_and_queue(
    embedded: Salonpost, tmp_path: Path
) -> None:
    (tmp_path / "sms.txt").write_text(
        "Hallo {{ first_name }}, 20% Rabatt! {# {{ unsubscribe_url }} #}"
    )
    embedded("db", "upgrade")
    embedded("salon", "create", "anna", "--name", "Salon Anna")
    campaign = embedded("campaign", "create", "--salon", "anna", "--name", "x", "--sms", "sms.txt")
    campaign_id = campaign.stdout.strip()
    validate = embedded("campaign", "validate", campaign_id, ok=False)
    assert validate.returncode == 1 and "R1" in validate.stderr
    queue = embedded("campaign", "queue", campaign_id, ok=False)
    assert queue.returncode == 1 and "R1" in queue.stderr and "re-created" in queue.stderr
    assert embedded.json("campaign", "status", campaign_id)["status"] == "draft"
