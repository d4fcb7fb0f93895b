"""The fake provider: a zero-latency channel that records every message it accepts.

Shipped beside the real channels for the benchmark and the chaos tests. Each accepted message
appends one line ``<unix time> <key>`` to ``log_path`` with ``O_APPEND`` (atomic for short lines,
so many worker processes can share one log); a refused message writes nothing, so the log is
exactly what the provider accepted. Faults are injected at random, as configured::

    5xx=0.5               half of the attempts fail with a 503 (transient, not accepted)
    429=0.02              2% answer 429 Too Many Requests ...
    retry_after=0.5       ... with Retry-After: 0.5 seconds
    die_after_accept=0.001  the process dies right after an accepted send, before any commit
                          (the key is noted in ``<log>.deaths`` first)
    latency=0.002         each accepted send takes 2 ms

Errors::

    ChannelError
     └── DeliveryError
          └── TransientDeliveryError   the injected 5xx and 429 (retry_after)
"""

from __future__ import annotations

import datetime as dt
import os
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from channels.base import Channel, Message, Receipt
from channels.errors import TransientDeliveryError


@dataclass(frozen=True)
class Faults:
    server_error: float = 0.0
    too_many_requests: float = 0.0
    retry_after: float | None = None
    die_after_accept: float = 0.0
    latency: float = 0.0  # seconds per accepted message, to make a campaign last

    @classmethod
    def parse(cls, spec: str) -> Faults:
        """Read ``"5xx=0.5,429=0.02,retry_after=0.5,die_after_accept=0.001"``."""
        names = {"5xx": "server_error", "429": "too_many_requests"}
        values: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            name, _, value = part.partition("=")
            values[names.get(name.strip(), name.strip())] = float(value)
        return cls(**values)


class FakeProviderChannel(Channel):
    """Accept every message at once (unless a fault is drawn); thread- and process-safe."""

    name = "fake"
    kinds = frozenset({"sms", "email"})

    def __init__(self, *, log_path: str | Path | None = None, faults: Faults | None = None) -> None:
        self.log_path = Path(log_path) if log_path else None
        self.faults = faults or Faults()
        self._fd: int | None = None
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        self._seen_offset = 0

    def send(self, message: Message) -> Receipt:
        self._check_kind(message)
        self._maybe_refuse()
        if self.faults.latency:
            time.sleep(self.faults.latency)
        if self.log_path is not None:
            os.write(self._log_fd(), f"{time.time():.6f} {message.key}\n".encode())
        if self.faults.die_after_accept and random.random() < self.faults.die_after_accept:
            self._die(message)
        return Receipt(provider_id=f"fake-{message.key}", status="accepted")

    def lookup(self, message: Message, *, since: dt.datetime) -> Receipt | None:
        """The receipt if the log holds the message's key, else None (it was never accepted)."""
        if self.log_path is None:
            raise NotImplementedError("a fake provider without a log cannot look messages up")
        with self._lock:
            self._read_new_lines()
            found = message.key in self._seen
        return Receipt(provider_id=f"fake-{message.key}", status="accepted") if found else None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _die(self, message: Message) -> None:
        if self.log_path is not None:
            with Path(f"{self.log_path}.deaths").open("a") as deaths:
                deaths.write(message.key + "\n")
        # Why _exit: like a SIGKILL, nothing after the accepted send runs (no commit).
        os._exit(137)

    def _maybe_refuse(self) -> None:
        draw = random.random()
        if draw < self.faults.too_many_requests:
            raise TransientDeliveryError(
                "fake provider: 429 Too Many Requests", retry_after=self.faults.retry_after
            )
        if draw < self.faults.too_many_requests + self.faults.server_error:
            raise TransientDeliveryError("fake provider: 503 Service Unavailable")

    def _log_fd(self) -> int:
        if self._fd is None:
            assert self.log_path is not None
            self._fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        return self._fd

    def _read_new_lines(self) -> None:
        assert self.log_path is not None
        if not self.log_path.exists():
            return
        with self.log_path.open("rb") as log:
            log.seek(self._seen_offset)
            data = log.read()
        complete = data[: data.rfind(b"\n") + 1]
        self._seen_offset += len(complete)
        self._seen.update(line.split(b" ", 1)[1].decode() for line in complete.splitlines())


def accepted_keys(log_path: str | Path) -> list[str]:
    """Every key in a fake provider's log, in order, duplicates kept (tests count them)."""
    path = Path(log_path)
    if not path.exists():
        return []
    return [line.split(" ", 1)[1] for line in path.read_text().splitlines() if " " in line]
