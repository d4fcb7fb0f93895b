"""Replay guards: a provider's token or event id is taken once.

::

    ReplayGuard.claim(key, ttl=seconds) -> bool   True the first time within ttl
    ReplayGuard.release(key)                      the event could not be processed after all:
                                                  let the provider's retry through

`MemoryReplayGuard` serves one process (tests, the embedded default); `RedisReplayGuard`
(``SET key NX PX``) is shared by every web process of a deployment. The webhook readers claim
a key only after the signature, freshness and format checks passed, so a forged or stale event
never uses up the token of the genuine one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

import redis


class ReplayGuard(Protocol):
    def claim(self, key: str, *, ttl: float) -> bool:
        """True when `key` was not claimed within the last `ttl` seconds (and claim it now)."""

    def release(self, key: str) -> None:
        """Forget a claim, so that the same event is taken again."""


class MemoryReplayGuard:
    """Claims in this process's memory; expired ones are dropped as new ones arrive."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def claim(self, key: str, *, ttl: float) -> bool:
        now = self._clock()
        with self._lock:
            if len(self._expiry) > 10_000:
                self._expiry = {k: t for k, t in self._expiry.items() if t > now}
            if self._expiry.get(key, now) > now:
                return False
            self._expiry[key] = now + ttl
            return True

    def release(self, key: str) -> None:
        with self._lock:
            self._expiry.pop(key, None)


class RedisReplayGuard:
    """Claims in Redis, shared by every process; each expires on its own."""

    def __init__(self, client: redis.Redis, *, prefix: str = "salonpost:webhook-seen:") -> None:
        self._client = client
        self._prefix = prefix

    def claim(self, key: str, *, ttl: float) -> bool:
        milliseconds = max(1, int(ttl * 1000))
        return bool(self._client.set(self._prefix + key, b"1", nx=True, px=milliseconds))

    def release(self, key: str) -> None:
        self._client.delete(self._prefix + key)
