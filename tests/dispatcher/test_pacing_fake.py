"""The Redis pacer's logic, fast, on fakeredis (the real-Redis tests beside it prove the same
against the server the workers share: tests/dispatcher/test_pacing_and_queues.py)."""

from __future__ import annotations

import time

import fakeredis

from dispatcher.pacing import RedisPacer


def _pacer(server: fakeredis.FakeServer) -> RedisPacer:
    return RedisPacer(fakeredis.FakeRedis(server=server), lease=10)


def test_a_slow_sender_gets_one_turn_per_bucket() -> None:
    pacer = _pacer(fakeredis.FakeServer())
    started = time.monotonic()
    assert all(pacer.wait_turn("sms:long", 10.0, timeout=1) for _ in range(3))
    # Three turns at 10/s span at least two 100 ms buckets, and take far less than a second.
    assert 0.15 <= time.monotonic() - started <= 1.5


def test_a_hold_stops_every_worker_of_the_sender_until_it_ends() -> None:
    server = fakeredis.FakeServer()
    one, other = _pacer(server), _pacer(server)
    one.hold("sms:short", 0.3)
    assert not other.wait_turn("sms:short", 5.0, timeout=0.1)
    assert other.wait_turn("sms:short", 5.0, timeout=1)
    assert other.wait_turn("sms:other-sender", 5.0, timeout=0.5)


def test_connection_slots_are_shared_and_given_back() -> None:
    server = fakeredis.FakeServer()
    one, other = _pacer(server), _pacer(server)
    with (
        one.connection_slot("smtp:host", 2) as first,
        other.connection_slot("smtp:host", 2) as second,
        other.connection_slot("smtp:host", 2) as third,
    ):
        assert (first, second, third) == (True, True, False)
    with one.connection_slot("smtp:host", 1) as again:
        assert again
