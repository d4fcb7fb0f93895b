"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Timing:
    runs: tuple[float, ...]

    @property
    def best(self) -> float:
        return min(self.runs)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    def __str__(self) -> str:
        return f"best={self.best:.2f}s median={self.median:.2f}s"


def measure(work: Callable[[], T], *, repeat: int) -> tuple[Timing, T]:
    """Run ``work`` ``repeat`` times; the timings and the last result."""
    runs = []
    result: T
    for _ in range(repeat):
        start = time.perf_counter()
        result = work()
        runs.append(time.perf_counter() - start)
    return Timing(tuple(runs)), result


def verdict(seconds: float, target: float) -> str:
    return f"target<={target:g}s {'OK' if seconds <= target else 'MISSED'}"
