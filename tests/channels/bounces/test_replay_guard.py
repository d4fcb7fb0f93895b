"""Replay guards: in memory and in the real Redis, a key is taken once until it expires or is
released."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from channels.bounces.replay import MemoryReplayGuard, RedisReplayGuard, ReplayGuard


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_is_taken_once_until_it_expires() -> None:
    clock = Clock()
    guard = MemoryReplayGuard(clock=clock)
    assert guard.claim("mailgun:t1", ttl=60)
    assert not guard.claim("mailgun:t1", ttl=60)
    assert guard.claim("mailgun:t2", ttl=60)
    clock.now += 61
    assert guard.claim("mailgun:t1", ttl=60)


@pytest.fixture
def redis_guard(redis_url: str) -> Iterator[RedisReplayGuard]:
    client = redis.Redis.from_url(redis_url)
    yield RedisReplayGuard(client, prefix="test:seen:")
    client.close()


@pytest.fixture(params=["memory", "redis"])
def guard(request: pytest.FixtureRequest) -> ReplayGuard:
    if request.param == "memory":
        return MemoryReplayGuard()
    return request.getfixturevalue("redis_guard")


def test_a_released_key_is_taken_again(guard: ReplayGuard) -> None:
    assert guard.claim("sns:m-1", ttl=30)
    assert not guard.claim("sns:m-1", ttl=30)
    guard.release("sns:m-1")
    assert guard.claim("sns:m-1", ttl=30)


def test_redis_claims_expire_on_their_own(redis_url: str, redis_guard: RedisReplayGuard) -> None:
    assert redis_guard.claim("postmark:Bounce:1", ttl=120)
    ttl_ms = redis.Redis.from_url(redis_url).pttl("test:seen:postmark:Bounce:1")
    assert 0 < ttl_ms <= 120_000
