"""Limits shared through the real Redis; dead letters and queue depths for operators."""

from __future__ import annotations

import time

import pytest
import redis

from dispatcher.pacing import RedisPacer
from dispatcher.queues import broker_figures

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


def test_dead_letters_and_queue_depths_are_counted_per_queue(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.zadd("salonpost:sends.XQ", {"m1": 1, "m2": 2})
    client.rpush("salonpost:campaigns", "m3")
    queues = broker_figures(redis_url).queues
    assert {name: q.dead for name, q in queues.items()} == {"campaigns": 0, "sends": 2}
    assert (queues["campaigns"].ready, queues["campaigns"].delayed) == (1, 0)
