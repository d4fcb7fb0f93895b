"""``/metrics`` in the Prometheus text format, read at scrape time by a custom collector.

The figures are those of the ops page (:func:`dispatcher.queues.snapshot`): queue depths per state,
live workers, dead letters, messages per second per channel and campaigns per status. They are
read when Prometheus scrapes, so every web process answers the same. Protected like /ops
(``Authorization: Bearer <ops token>``, Prometheus' ``authorization`` setting).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis import RedisError

from db.session import session_scope
from dispatcher import queues
from settings import Settings
from web.ops import OpsGuard


class SalonpostCollector(Collector):
    def __init__(self, database_url: str, redis_url: str | None) -> None:
        self.database_url = database_url
        self.redis_url = redis_url

    def _snapshot(self) -> tuple[queues.QueuesDocument, bool]:
        with session_scope(self.database_url) as session:
            try:
                return queues.snapshot(session, self.redis_url), True
            except RedisError:
                return queues.snapshot(session, None), False

    def collect(self) -> Iterator[Metric]:
        figures, broker_up = self._snapshot()
        up = GaugeMetricFamily("salonpost_broker_up", "1 when the Redis broker answered")
        up.add_metric([], 1.0 if broker_up and self.redis_url else 0.0)
        yield up
        yield from _broker_metrics(figures.get("broker"))
        yield from _database_metrics(figures)


def _broker_metrics(broker: dict[str, Any] | None) -> Iterator[Metric]:
    depth = GaugeMetricFamily(
        "salonpost_queue_messages", "Messages per queue and state", labels=["queue", "state"]
    )
    workers = GaugeMetricFamily("salonpost_workers", "Workers with a heartbeat in the last 60 s")
    if broker is not None:
        for queue, states in broker["queues"].items():
            for state, count in states.items():
                depth.add_metric([queue, state], float(count))
        workers.add_metric([], float(broker["workers"]))
    yield depth
    yield workers


def _database_metrics(figures: queues.QueuesDocument) -> Iterator[Metric]:
    rate = GaugeMetricFamily(
        "salonpost_messages_per_second", "Messages sent per second, last minute", labels=["channel"]
    )
    recent = GaugeMetricFamily(
        "salonpost_messages_sent_recent",
        f"Messages sent in the last {figures['rate_minutes']} minutes",
        labels=["channel"],
    )
    for channel, per_minute in figures["send_rates"].items():
        rate.add_metric([channel], per_minute[-1] if per_minute else 0.0)
        recent.add_metric([channel], float(figures["sent_last_minutes"].get(channel, 0)))
    campaigns = GaugeMetricFamily(
        "salonpost_campaigns", "Marketing campaigns per status", labels=["status"]
    )
    for status, count in figures["campaigns"].items():
        campaigns.add_metric([status], float(count))
    open_ = GaugeMetricFamily(
        "salonpost_campaign_open_deliveries",
        "Open deliveries of running campaigns",
        labels=["campaign", "status"],
    )
    for row in figures["running"]:
        open_.add_metric([str(row["id"]), row["status"]], float(row["open"]))
    yield from (rate, recent, campaigns, open_)


def router(settings: Settings, guard: OpsGuard) -> APIRouter:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SalonpostCollector(settings.database_url, settings.redis_url))
    r = APIRouter()

    @r.get("/metrics")
    def metrics(request: Request) -> Response:
        if not guard.enabled:
            return Response("Not Found", status_code=404, media_type="text/plain")
        if not guard.allows(request):
            return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return r
