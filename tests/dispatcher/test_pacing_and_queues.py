"""Limits shared through the real Redis; dead letters and queue depths for operators."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import redis
from sqlalchemy.orm import Session

from channels.base import Message, Receipt
from db.models import Salon
from dispatcher import batch_run
from dispatcher.batch import claim_chunk
from dispatcher.pacing import RedisPacer
from dispatcher.planning import pending_batches
from dispatcher.queues import broker_figures
from tests.dispatcher.conftest import (
    ScriptedProvider,
    add_clients,
    make_runtime,
    planned_campaign,
    statuses,
)

pytestmark = pytest.mark.services


def test_a_sender_gets_one_slot_per_bucket_and_a_hold_stops_it(redis_url: str) -> None:
    pacer = RedisPacer.from_url(redis_url, lease=10)
    key = f"test:{time.time_ns()}"
    started = time.monotonic()
    for _ in range(3):
        assert pacer.wait_turn(key, 5.0, timeout=2)  # one per 200 ms bucket
    assert 0.35 <= time.monotonic() - started <= 0.9
    pacer.hold(key, 0.5)
    assert not pacer.wait_turn(key, 5.0, timeout=0.3)
    assert pacer.wait_turn(key, 5.0, timeout=1)


def test_smtp_connections_are_limited_over_every_worker(redis_url: str) -> None:
    pacer, other = (
        RedisPacer.from_url(redis_url, lease=10),
        RedisPacer.from_url(redis_url, lease=10),
    )
    with (
        pacer.connection_slot("smtp:host", 1) as first,
        other.connection_slot("smtp:host", 1) as second,
    ):
        assert (first, second) == (True, False)
    with other.connection_slot("smtp:host", 1) as again:
        assert again


def test_a_slot_given_back_in_one_worker_wakes_a_waiter_in_another_at_once(redis_url: str) -> None:
    holder, waiter = (
        RedisPacer.from_url(redis_url, lease=10),
        RedisPacer.from_url(redis_url, lease=10),
    )
    woke: list[float] = []

    def wait() -> None:
        with waiter.connection_slot("smtp:host", 1, timeout=5) as taken:
            woke.append(time.monotonic() if taken else -1.0)

    with holder.connection_slot("smtp:host", 1) as taken:
        assert taken
        thread = threading.Thread(target=wait)
        thread.start()
        time.sleep(1.05)  # just past a waiter's wake-up timeout (0.5 s): it blocks again
        released = time.monotonic()
    thread.join()
    assert woke and 0 <= woke[0] - released < 0.2  # woken, not timed out (0.45 s later)


def test_dead_letters_and_queue_depths_are_counted_per_queue(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.zadd("salonpost:sends.XQ", {"m1": 1, "m2": 2})
    client.rpush("salonpost:campaigns", "m3")
    queues = broker_figures(redis_url).queues
    assert {name: q.dead for name, q in queues.items()} == {"campaigns": 0, "sends": 2}
    assert (queues["campaigns"].ready, queues["campaigns"].delayed) == (1, 0)


class _OneAtATime(ScriptedProvider):
    """A slow provider that notes how many threads send through it at once."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = self.most = 0

    def send(self, message: Message) -> Receipt:
        with self.lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
        time.sleep(0.005)
        try:
            return super().send(message)
        finally:
            with self.lock:
                self.inside -= 1


def test_threads_without_a_free_slot_wait_holding_no_claims(
    database_url: str, redis_url: str, session: Session, salon: Salon, monkeypatch
) -> None:
    """Four batches, one SMTP connection: the three threads without it block before they claim
    anything, so every delivery is claimed exactly once and no claim is given back."""
    provider = _OneAtATime()
    runtime = make_runtime(database_url, provider, concurrency={"email": 1},
                           redis_url=redis_url)  # fmt: skip
    runtime._pacer = RedisPacer.from_url(redis_url, lease=10)
    add_clients(session, salon, 32)
    campaign = planned_campaign(session, salon, email=True, sms=False)
    claims: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        chunk = claim_chunk(*args, **kwargs)
        claims.append(len(chunk.rows))
        return chunk

    monkeypatch.setattr(batch_run, "claim_chunk", counted)
    batches = list(pending_batches(session, campaign.id, 8))
    threads = [
        threading.Thread(target=batch_run.run_batch, args=(runtime, campaign.id, *batch))
        for batch in batches
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(batches) == 4 and provider.most == 1
    assert sorted(provider.keys()) == sorted(set(provider.keys())) and len(provider.keys()) == 32
    # Chunks of 4: two full claims per batch and one that finds the range empty, nothing more.
    assert sorted(claims) == [0] * 4 + [4] * 8
    assert statuses(session, campaign.id) == {"sent": 32}


def test_a_batch_that_gets_no_slot_in_time_comes_back_later_untouched(
    database_url: str, redis_url: str, session: Session, salon: Salon, monkeypatch
) -> None:
    provider = ScriptedProvider()
    runtime = make_runtime(database_url, provider, concurrency={"email": 1},
                           redis_url=redis_url)  # fmt: skip
    runtime._pacer = RedisPacer.from_url(redis_url, lease=10)
    add_clients(session, salon, 3)
    campaign = planned_campaign(session, salon, email=True, sms=False)
    ((first, last),) = pending_batches(session, campaign.id, 8)
    monkeypatch.setattr(batch_run, "SLOT_WAIT", 1.0)
    with RedisPacer.from_url(redis_url, lease=10).connection_slot("email", 1) as taken:
        assert taken  # another worker holds the only connection
        cpu, wall = time.process_time(), time.monotonic()
        outcome = batch_run.run_batch(runtime, campaign.id, first, last)
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    assert (outcome.stopped, outcome.again_in) == ("paced", batch_run.SLOT_RETRY)
    assert wall >= 0.9 and not provider.calls
    # Waiting was sleeping: a few Redis round trips and two database reads, not a busy loop.
    assert cpu < 0.25 * wall
    assert statuses(session, campaign.id) == {"pending": 3}
