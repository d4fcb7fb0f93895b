"""The embedded default: run a campaign to the end with an in-process worker (no servers)."""

from __future__ import annotations

import time
from collections.abc import Callable

from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker

from dispatcher import actors

Progress = Callable[[], bool]


def _idle(stub: StubBroker) -> bool:
    return all(queue.unfinished_tasks == 0 for queue in stub.queues.values())


def run_in_process(campaign_id: int, *, is_finished: Progress, threads: int = 2) -> None:
    """Enqueue the plan and work the in-process broker until the campaign is finished or idle.

    ``is_finished`` is polled a few times a second; it also lets the caller draw progress.
    """
    broker = actors.broker
    if not isinstance(broker, StubBroker):
        raise RuntimeError("run_in_process needs the embedded broker (SALONPOST_REDIS_URL unset)")
    worker = Worker(broker, worker_threads=threads, worker_timeout=100)
    worker.start()
    try:
        actors.plan_campaign.send(campaign_id)
        idle_polls = 0
        while not is_finished():
            time.sleep(0.2)
            idle_polls = idle_polls + 1 if _idle(broker) else 0
            if idle_polls >= 5:  # nothing left to do, e.g. a paused campaign
                break
    finally:
        worker.stop()
