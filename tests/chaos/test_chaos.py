"""The campaign completes, exactly once, whatever breaks (issue: chaos a-f).

Each test sends a campaign with real `dramatiq` worker processes to the fake provider, which logs
every message it accepts; the assertions are the same for all: the campaign is done, every
recipient has a final state, no message was accepted twice, and the database's `sent` rows are
exactly the accepted messages.
"""

from __future__ import annotations

import time

import pytest
import redis
from sqlalchemy import func, select

from channels.fake import accepted_keys
from db.models import Delivery
from db.session import get_engine
from tests.chaos.conftest import RECIPIENTS, Stack
from tests.chaos.harness import assert_exactly_once, seed_campaign, wait_until_done

pytestmark = [pytest.mark.services, pytest.mark.chaos]


class Every:
    """Run `action` every `seconds` while the campaign is in flight, at most `times` times."""

    def __init__(self, seconds: float, action, *, times: int = 1000, start: float = 0.0) -> None:
        self.seconds, self.action, self.left, self.next = seconds, action, times, start
        self.done = 0

    def __call__(self, elapsed: float) -> None:
        if self.left and elapsed >= self.next:
            self.action()
            self.left, self.done, self.next = self.left - 1, self.done + 1, elapsed + self.seconds


def _run(stack: Stack, during=None, *, timeout: float = 240, email: bool = False) -> float:
    campaign_id = seed_campaign(stack.database_url, RECIPIENTS, email=email)
    stack.queue(campaign_id)
    seconds = wait_until_done(stack.database_url, campaign_id, timeout=timeout, during=during)
    recipients = RECIPIENTS * (2 if email else 1)
    assert_exactly_once(stack.database_url, campaign_id, stack.log, recipients)
    print(f"campaign of {recipients} done in {seconds:.1f} s")
    return seconds


def test_a_worker_killed_with_sigkill_every_few_seconds(stack: Stack) -> None:
    stack.start(workers=2, threads=2, fake_provider_faults="latency=0.002")
    kills = Every(3.0, lambda: stack.workers.kill_one(0), start=2.0)
    _run(stack, kills)
    assert kills.done >= 2 and stack.workers.restarts >= 2


def test_redis_killed_and_restarted_midway(stack: Stack) -> None:
    stack.start(fake_provider_faults="latency=0.001")

    def outage() -> None:
        stack.redis.kill()
        time.sleep(2)
        stack.redis.start()  # empty: every queued message is gone

    restart = Every(1000, outage, times=1, start=3.0)
    _run(stack, restart)
    assert restart.done == 1


def test_redis_flushall_midway(stack: Stack) -> None:
    stack.start(fake_provider_faults="latency=0.001")
    client = redis.Redis.from_url(stack.redis.url)
    flush = Every(1000, client.flushall, times=1, start=3.0)
    _run(stack, flush)
    assert flush.done == 1


def test_postgresql_unreachable_for_a_while(proxied_stack: Stack) -> None:
    stack = proxied_stack
    stack.start(fake_provider_faults="latency=0.001")
    assert stack.proxy is not None
    cut = Every(1000, lambda: stack.proxy.outage(5.0), times=1, start=3.0)
    _run(stack, cut)
    assert cut.done == 1


def test_the_provider_accepts_and_the_worker_dies_before_its_commit(stack: Stack) -> None:
    stack.start(fake_provider_faults="die_after_accept=0.0005")
    _run(stack, timeout=300)
    deaths = (stack.log.parent / f"{stack.log.name}.deaths").read_text().split()
    assert len(deaths) >= 3, "the fault was injected too rarely to prove anything"
    with get_engine(stack.database_url).connect() as conn:
        settled = dict(
            conn.execute(
                select(Delivery.id, Delivery.error_code).where(
                    Delivery.id.in_([int(key.split("-d")[1]) for key in deaths])
                )
            ).all()
        )
        reconciled = conn.scalar(
            select(func.count()).where(Delivery.error_code.like("reconciled%"))
        )
    # Each death left its accepted message unknown; the reconciler found it at the provider.
    assert set(settled.values()) == {"reconciled"}, settled
    assert reconciled >= len(deaths)
    print(f"{len(deaths)} deaths after an accepted send, {reconciled} deliveries reconciled")


def test_half_the_sends_fail_with_5xx_and_a_429_storm_with_retry_after(stack: Stack) -> None:
    # Each attempt is refused with p = 0.51, so with the harness's 20 attempts about one
    # campaign in 35 has a recipient refused 20 times in a row and rightly failed. 40 attempts
    # make that 20,000 * 0.51**40 = 4e-8: every recipient must then end up accepted.
    stack.start(fake_provider_faults="5xx=0.5,429=0.01,retry_after=0.3", max_attempts="40")
    _run(stack, timeout=300)
    attempts = len(accepted_keys(stack.log))
    assert attempts == RECIPIENTS  # every refused attempt was retried until accepted, once
