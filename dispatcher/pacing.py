"""Pacing: how fast and when a sender may hand messages to its provider.

- **Rate per sender** (Twilio counts messages per second per sender: 1 for a long code, 3 for
  toll-free, 100 for a short code): a dramatiq ``BucketRateLimiter`` per (provider, sender) in
  Redis, so the limit holds however many worker processes and threads send.
- **Senders at once**: connections per SMTP host, and threads per paced SMS sender (as many as
  its messages per second), each a slot held for a whole pass of a batch. A thread without a
  free slot waits for one before it claims anything: blocked on a semaphore of its process,
  then in Redis (BLPOP) until a holder in any worker gives a slot back, so waiting costs
  neither claims nor database round trips nor CPU.
- **Hold**: after a 429 the provider's Retry-After holds the sender for every worker.
- **Quiet hours** per salon (default 20:00-08:00 salon time): marketing SMS wait, never dropped.

Two pacers behind one interface (:class:`Pacer`): :class:`RedisPacer`, limits shared by every
worker through Redis; :class:`NoPacing`, for a runtime without limits or without Redis (the
embedded default runs one process, which the provider's own limits then pace).
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import redis
from dramatiq.rate_limits import BucketRateLimiter, ConcurrentRateLimiter
from dramatiq.rate_limits.backends import RedisBackend

SENDER_MPS = {"long_code": 1.0, "toll_free": 3.0, "short_code": 100.0}
NAMESPACE = "salonpost:pace"
# How long a waiting thread blocks at most between two looks at the shared slot count; a
# holder that gives its slot back wakes one waiter at once (a Redis list), so this only bounds
# the wait for a slot whose holder died.
SLOT_WAKE = 0.5


class Pacer(Protocol):
    def wait_turn(self, key: str, per_second: float, *, timeout: float) -> bool:
        """Block until `key` may send one message; False when `timeout` seconds passed first."""

    def hold(self, key: str, seconds: float) -> None:
        """Nobody sends for `key` during the next `seconds` (the provider said 429)."""

    def connection_slot(self, key: str, limit: int, *, timeout: float = 0.0) -> Any:
        """A context manager yielding True when one of `limit` slots of `key` was taken within
        `timeout` seconds (blocking meanwhile), False when none came free in time."""


class NoPacing:
    """No limits: every turn is granted at once."""

    def wait_turn(self, key: str, per_second: float, *, timeout: float) -> bool:
        return True

    def hold(self, key: str, seconds: float) -> None:
        return None

    @contextmanager
    def connection_slot(self, key: str, limit: int, *, timeout: float = 0.0) -> Iterator[bool]:
        yield True


class RedisPacer:
    """Limits shared through one Redis by every worker process and thread (``from_url``; the
    fast unit tests give it a fakeredis client)."""

    def __init__(self, client: redis.Redis, *, lease: float) -> None:
        self.backend: Any = RedisBackend(client=client)
        # Holds need a plain SET and EXISTS, which the limiter backends do not offer.
        self._redis = client
        # A dead worker's connection slot frees itself after one claim lease.
        self.slot_ttl_ms = int(lease * 1000)
        self._buckets: dict[tuple[str, float], BucketRateLimiter] = {}
        # A process's own share of every slot count: its threads beyond `limit` block here.
        self._semaphores: dict[tuple[str, int], threading.BoundedSemaphore] = {}
        self._semaphores_lock = threading.Lock()

    @classmethod
    def from_url(cls, redis_url: str, *, lease: float) -> RedisPacer:
        return cls(redis.Redis.from_url(redis_url), lease=lease)

    def wait_turn(self, key: str, per_second: float, *, timeout: float) -> bool:
        limiter = self._bucket(key, per_second)
        deadline = time.monotonic() + timeout
        # One message per bucket: try only as a bucket opens, so the messages leave evenly
        # spaced instead of whenever a thread happens to come by mid-bucket.
        aligned = limiter.limit == 1
        while True:
            if aligned:
                pause = _until_next_bucket(limiter.bucket)
                if time.monotonic() + pause > deadline:
                    return False
                time.sleep(pause)
            if not self._held(key):
                with limiter.acquire(raise_on_failure=False) as acquired:
                    if acquired:
                        return True
            if not aligned:
                pause = _until_next_bucket(limiter.bucket)
                if time.monotonic() + pause > deadline:
                    return False
                time.sleep(pause)

    def hold(self, key: str, seconds: float) -> None:
        self._redis.set(f"{NAMESPACE}:{key}:hold", 1, px=max(1, int(seconds * 1000)))

    @contextmanager
    def connection_slot(self, key: str, limit: int, *, timeout: float = 0.0) -> Iterator[bool]:
        deadline = time.monotonic() + timeout
        local = self._semaphore(key, limit)
        if not local.acquire(timeout=max(0.0, timeout)):
            yield False
            return
        try:
            limiter = ConcurrentRateLimiter(
                self.backend, f"{NAMESPACE}:{key}:connections", limit=limit, ttl=self.slot_ttl_ms
            )  # type: ignore[no-untyped-call]
            while True:
                held = False
                try:
                    with limiter.acquire(raise_on_failure=False) as acquired:
                        if acquired:
                            held = True
                            yield True
                            return
                finally:
                    if held:
                        self._released(key, limit)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    yield False
                    return
                self._until_released(key, min(remaining, SLOT_WAKE))
        finally:
            local.release()

    def _released(self, key: str, limit: int) -> None:
        """Wake one thread waiting for a slot of `key`, in whichever worker it waits."""
        name = f"{NAMESPACE}:{key}:released"
        with self._redis.pipeline(transaction=False) as pipe:
            # At most one wake-up a slot kept: with nobody waiting, a later waiter finds a few
            # stale ones and simply tries the count again.
            pipe.rpush(name, 1)
            pipe.ltrim(name, -limit, -1)
            pipe.pexpire(name, self.slot_ttl_ms)
            pipe.execute()

    def _until_released(self, key: str, seconds: float) -> None:
        """Block (in Redis, no CPU) until a holder gives a slot of `key` back or `seconds`
        pass; the timeout also covers a holder that died without saying so (its slot comes
        free after the lease)."""
        self._redis.blpop([f"{NAMESPACE}:{key}:released"], timeout=max(0.01, seconds))

    def _semaphore(self, key: str, limit: int) -> threading.BoundedSemaphore:
        with self._semaphores_lock:
            return self._semaphores.setdefault((key, limit), threading.BoundedSemaphore(limit))

    def _bucket(self, key: str, per_second: float) -> BucketRateLimiter:
        if (key, per_second) not in self._buckets:
            # Slow senders (a long code's 1/s, toll-free 3/s) get one message per short bucket,
            # evenly spaced; fast ones (a short code's 100/s) a per-second budget.
            limit, bucket_ms = (
                (int(per_second), 1000) if per_second > 10 else (1, int(1000 / per_second))
            )
            self._buckets[key, per_second] = BucketRateLimiter(
                self.backend, f"{NAMESPACE}:{key}", limit=limit, bucket=bucket_ms
            )  # type: ignore[no-untyped-call]
        return self._buckets[key, per_second]

    def _held(self, key: str) -> bool:
        return bool(self._redis.exists(f"{NAMESPACE}:{key}:hold"))


def _until_next_bucket(bucket_ms: int) -> float:
    now_ms = time.time() * 1000
    # Jitter spreads the workers that wake for the same bucket over a few milliseconds.
    return (bucket_ms - now_ms % bucket_ms) / 1000 + random.uniform(0.001, 0.005)


def _minutes(hhmm: str) -> int:
    hours, _, minutes = hhmm.partition(":")
    return int(hours) * 60 + int(minutes or 0)


def quiet_until(
    now: dt.datetime, *, timezone: str, quiet_start: str, quiet_end: str
) -> dt.datetime | None:
    """When the salon's quiet hours end if `now` is inside them (aware UTC), else None.

    Equal start and end mean no quiet hours; a window may span midnight (20:00-08:00)."""
    start, end = _minutes(quiet_start), _minutes(quiet_end)
    if start == end:
        return None
    local = now.astimezone(ZoneInfo(timezone))
    minute = local.hour * 60 + local.minute
    inside = start <= minute < end if start < end else (minute >= start or minute < end)
    if not inside:
        return None
    end_day = local.date() + dt.timedelta(days=1 if start > end and minute >= start else 0)
    naive_end = dt.datetime.combine(end_day, dt.time(end // 60, end % 60))
    return naive_end.replace(tzinfo=ZoneInfo(timezone)).astimezone(dt.UTC)
