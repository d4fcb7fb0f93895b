"""The ops page, /metrics and ``salonpost queues`` show real figures of a running Redis broker.

A campaign is queued through the staff UI (PostgreSQL + Redis db 15) together with a message
that must fail; before any worker runs the queue depth shows both. Then a real worker process
(``python -m dramatiq dispatcher.actors``) sends the campaign: heartbeats, sent messages and the
dead letter appear, and the dead letter can be retried and discarded from the page.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from ui_browser import check_rendered
from ui_support import (
    BASE_URL,
    GOOD_SMS,
    OPS_TOKEN,
    PEPPER,
    SECRET,
    add_client,
    make_salon,
    sign_in,
)

from db.models import Campaign
from db.session import session_factory
from dispatcher import actors
from dispatcher.broker import enqueue
from settings import Settings
from web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
BEARER = {"Authorization": f"Bearer {OPS_TOKEN}"}


@pytest.fixture
def settings(pg_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment="test", database_url=pg_url, redis_url=redis_url, secret_key=SECRET,
        pin_pepper=PEPPER, base_url=BASE_URL, outbox_dir=str(tmp_path / "outbox"),
        quiet_hours=False,
    )  # fmt: skip


@pytest.fixture
def web(settings: Settings) -> TestClient:
    return TestClient(create_app(settings, ops_token=OPS_TOKEN), base_url=BASE_URL)


@pytest.fixture
def campaign_id(settings: Settings) -> int:
    with session_factory(settings.database_url)() as s:
        salon = make_salon(s, "anna", "Salon Anna", "Mara")
        for n in range(1, 4):
            add_client(s, salon, f"K{n}", phone=f"+491761111111{n}")
        campaign = Campaign(salon_id=salon.id, name="Herbst", sms_body=GOOD_SMS)
        s.add(campaign)
        s.commit()
        return campaign.id


def _environment(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALONPOST_")}
    env.update({
        "SALONPOST_DATABASE_URL": settings.database_url,
        "SALONPOST_REDIS_URL": str(settings.redis_url),
        "SALONPOST_OUTBOX_DIR": settings.outbox_dir,
        "SALONPOST_SECRET_KEY": SECRET,
        "SALONPOST_BASE_URL": BASE_URL,
        "SALONPOST_QUIET_HOURS": "false",
        "PYTHONPATH": str(ROOT),
    })  # fmt: skip
    return env


@pytest.fixture
def start_worker(settings: Settings, tmp_path: Path) -> Iterator[Callable[[], None]]:
    """Start one real Dramatiq worker process on demand; stopped at teardown."""
    started: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        log = (tmp_path / "worker.log").open("wb")
        started.append(
            subprocess.Popen(
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
                cwd=ROOT,
                env=_environment(settings),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def _figure(html: str, queue: str, state: str) -> int:
    row = re.search(rf'<tr data-queue="{queue}">(.*?)</tr>', html, re.S)
    assert row, f"no row for queue {queue}"
    cell = re.search(rf'data-figure="{state}">([0-9.,]+)<', row.group(1))
    assert cell, f"no {state} figure"
    return int(cell.group(1).replace(",", "").replace(".", ""))


def _metric(text: str, name: str, **labels: str) -> float:
    selector = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = rf"^{name}{{{selector}}} (\S+)$" if labels else rf"^{name} (\S+)$"
    match = re.search(pattern, text, re.M)
    assert match, f"no {name} {labels} in /metrics"
    return float(match.group(1))


def _status(settings: Settings, campaign_id: int) -> str:
    with session_factory(settings.database_url)() as s:
        return s.get_one(Campaign, campaign_id).status


@pytest.mark.services
def test_ops_page_metrics_and_cli_show_a_real_worker(
    web: TestClient,
    settings: Settings,
    campaign_id: int,
    start_worker: Callable[[], None],
    axe_script: Path,
) -> None:
    csrf = sign_in(web, "anna", "Mara")
    web.post(f"/staff/campaigns/{campaign_id}/queue", data={"csrf_token": csrf})
    # Too many arguments: the actor fails with a TypeError, which is never retried.
    enqueue(str(settings.redis_url), actors.plan_campaign.message(1, 2, 3))

    before = web.get("/ops", headers=BEARER).text
    assert _figure(before, "campaigns", "ready") == 2
    assert 'data-workers="0"' in before
    metrics = web.get("/metrics", headers=BEARER).text
    assert _metric(metrics, "salonpost_queue_messages", queue="campaigns", state="ready") == 2
    assert _metric(metrics, "salonpost_workers") == 0
    assert _metric(metrics, "salonpost_broker_up") == 1

    start_worker()
    _wait(lambda: _status(settings, campaign_id) == "done", "the campaign to finish")
    dead = lambda: web.get("/ops/queues.json", headers=BEARER).json()["broker"]  # noqa: E731
    _wait(lambda: dead()["queues"]["campaigns"]["dead"] == 1, "the dead letter")

    page = web.get("/ops", headers=BEARER).text
    workers = int(re.search(r'data-workers="(\d+)"', page).group(1))  # type: ignore[union-attr]
    assert workers >= 1
    assert _figure(page, "campaigns", "ready") == 0 and _figure(page, "sends", "ready") == 0
    assert _figure(page, "campaigns", "dead") == 1
    sms = re.search(r'<tr data-channel="sms">.*?data-sent="(\d+)"', page, re.S)
    assert sms and int(sms.group(1)) == 3
    assert "plan_campaign" in page
    check_rendered(page, "13-ops-redis-worker", axe_script)

    metrics = web.get("/metrics", headers=BEARER).text
    assert _metric(metrics, "salonpost_workers") >= 1
    assert _metric(metrics, "salonpost_messages_sent_recent", channel="sms") == 3
    assert _metric(metrics, "salonpost_queue_messages", queue="campaigns", state="dead") == 1
    assert _metric(metrics, "salonpost_campaigns", status="done") == 1

    cli = subprocess.run(
        [str(Path(sys.executable).parent / "salonpost"), "queues", "--json"],
        cwd=ROOT, env=_environment(settings), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    document = json.loads(cli.stdout)
    assert document["broker"]["workers"] >= 1 and document["sent_last_minutes"]["sms"] == 3

    _retry_and_discard(web, settings)


def _retry_and_discard(web: TestClient, settings: Settings) -> None:
    page = web.get("/ops", headers=BEARER).text
    redis_id = re.search(r'data-dead="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    retried = web.post(
        f"/ops/dead/campaigns/{redis_id}/retry", headers=BEARER, follow_redirects=False
    )
    assert retried.headers["location"] == "/ops?done=retry"
    # The worker takes it again, it fails again and is a (new) dead letter again.
    _wait(lambda: f'data-dead="{redis_id}"' not in web.get("/ops", headers=BEARER).text, "retry")
    ids: list[str] = []

    def dead_again() -> bool:
        ids[:] = re.findall(r'data-dead="([^"]+)"', web.get("/ops", headers=BEARER).text)
        return len(ids) == 1

    _wait(dead_again, "the retried message to fail again")
    refused = web.post(f"/ops/dead/campaigns/{ids[0]}/discard")  # no token, no cookie
    assert refused.status_code == 404 or refused.status_code == 403
    web.post(f"/ops/dead/campaigns/{ids[0]}/discard", headers=BEARER)
    assert _figure(web.get("/ops", headers=BEARER).text, "campaigns", "dead") == 0


@pytest.mark.services
def test_readyz_checks_the_database_and_redis(settings: Settings) -> None:
    assert TestClient(create_app(settings)).get("/readyz").text == "ready"
    broken = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    answer = TestClient(create_app(broken)).get("/readyz")
    assert answer.status_code == 503 and answer.text.startswith("redis")


def test_ops_and_metrics_are_off_without_a_token_and_closed_without_it(
    sqlite_url: str,
) -> None:
    settings = Settings(database_url=sqlite_url, secret_key=SECRET, pin_pepper=PEPPER)
    off = TestClient(create_app(settings))
    assert off.get("/ops").status_code == 404 and off.get("/metrics").status_code == 404
    on = TestClient(create_app(settings, ops_token=OPS_TOKEN))
    assert on.get("/ops", follow_redirects=False).headers["location"] == "/ops/login"
    assert on.get("/metrics").status_code == 401
    assert on.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert on.post("/ops/login", data={"token": "wrong"}).status_code == 401
    on.post("/ops/login", data={"token": OPS_TOKEN}, follow_redirects=False)
    assert "salonpost_ops" in on.cookies and OPS_TOKEN not in on.cookies["salonpost_ops"]
    assert on.get("/ops").status_code == 200
    assert on.get("/metrics").status_code == 200
