"""The figures operators watch, read at request or scrape time (ops page, /metrics, CLI).

From Redis (Dramatiq's Redis broker, namespace ``salonpost``; key layout of its dispatch.lua):

- ``<ns>:<queue>`` list: messages ready; ``<ns>:<queue>.DQ`` list: delayed, not yet fetched;
- ``<ns>:__acks__.<worker>.<queue>[.DQ]`` sets: fetched by a worker (in flight; for ``.DQ``,
  delayed messages a worker holds until their time);
- ``<ns>:<queue>.XQ`` sorted set + ``.XQ.msgs`` hash: dead letters (kept a week);
- ``<ns>:__heartbeats__`` sorted set: broker id -> last command (ms); a worker silent for 60 s
  is considered gone by Dramatiq, and so here. Dramatiq's script beats for every command, so a
  process that only enqueues (the CLI, the scheduler) shows for a minute after it enqueued; the
  enqueuing brokers of this process are left out.

From the database: messages sent per minute and channel (``delivery.sent_at``) and the
campaigns that are running. Nothing here holds personal data: counts, ids and actor names.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, TypedDict

import redis
from dramatiq import Message
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Campaign, Delivery, Salon, utcnow
from db.states import OPEN_DELIVERY, RUNNING_CAMPAIGN, CampaignKind, Channel
from dispatcher.broker import NAMESPACE, QUEUES, enqueue, enqueuer_ids

HEARTBEAT_TIMEOUT_MS = 60_000
RATE_MINUTES = 5


@dataclass(frozen=True)
class QueueFigures:
    ready: int
    delayed: int
    in_flight: int
    dead: int


@dataclass(frozen=True)
class DeadLetter:
    queue: str
    redis_id: str
    actor: str
    args: str
    failed_at: dt.datetime


@dataclass
class BrokerFigures:
    queues: dict[str, QueueFigures] = field(default_factory=dict)
    workers: int = 0  # heartbeats younger than the timeout
    worker_ages: list[float] = field(default_factory=list)  # seconds since each heartbeat

    def as_json(self) -> dict[str, Any]:
        return {
            "queues": {name: asdict(q) for name, q in self.queues.items()},
            "workers": self.workers,
            "worker_ages": self.worker_ages,
        }


@contextmanager
def _client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=3, socket_timeout=3)
    try:
        yield client
    finally:
        client.close()


def _acks(client: redis.Redis, namespace: str) -> dict[str, int]:
    """queue name (``sends``, ``sends.DQ``) -> messages held by workers."""
    prefix = f"{namespace}:__acks__."
    held: dict[str, int] = {}
    for key in client.scan_iter(match=prefix + "*", count=500):
        name = key.decode()[len(prefix) :]
        _worker, _, queue = name.partition(".")
        held[queue] = held.get(queue, 0) + int(client.scard(key))
    return held


def broker_figures(redis_url: str, *, namespace: str = NAMESPACE) -> BrokerFigures:
    now_ms = time.time() * 1000
    with _client(redis_url) as client:
        held = _acks(client, namespace)
        figures = BrokerFigures()
        for queue in QUEUES:
            base = f"{namespace}:{queue}"
            figures.queues[queue] = QueueFigures(
                ready=int(client.llen(base)),
                delayed=int(client.llen(f"{base}.DQ")) + held.get(f"{queue}.DQ", 0),
                in_flight=held.get(queue, 0),
                dead=int(client.zcard(f"{base}.XQ")),
            )
        beats: list[tuple[bytes, float]] = client.zrangebyscore(  # type: ignore[assignment]
            f"{namespace}:__heartbeats__", now_ms - HEARTBEAT_TIMEOUT_MS, "+inf", withscores=True
        )
    own = enqueuer_ids()
    beats = [(worker, score) for worker, score in beats if worker not in own]
    figures.worker_ages = sorted(round((now_ms - score) / 1000, 1) for _, score in beats)
    figures.workers = len(beats)
    return figures


def dead_letters(
    redis_url: str, *, namespace: str = NAMESPACE, limit: int = 50
) -> list[DeadLetter]:
    """The newest dead letters of every queue (actor and ids, never message bodies of clients)."""
    found: list[DeadLetter] = []
    with _client(redis_url) as client:
        for queue in QUEUES:
            key = f"{namespace}:{queue}.XQ"
            newest: list[tuple[bytes, float]] = client.zrevrange(  # type: ignore[assignment]
                key, 0, limit - 1, withscores=True
            )
            for raw_id, score in newest:
                data: Any = client.hget(f"{key}.msgs", raw_id)
                found.append(_dead_letter(queue, raw_id.decode(), score, data))
    return sorted(found, key=lambda d: d.failed_at, reverse=True)[:limit]


def _dead_letter(queue: str, redis_id: str, score: float, data: bytes | None) -> DeadLetter:
    failed_at = dt.datetime.fromtimestamp(score / 1000, dt.UTC)
    if data is None:
        return DeadLetter(queue, redis_id, "?", "", failed_at)
    message = Message.decode(data)
    args = ", ".join(repr(a) for a in message.args)[:200]
    return DeadLetter(queue, redis_id, message.actor_name, args, failed_at)


def _take_dead(client: redis.Redis, key: str, redis_id: str) -> bytes | None:
    """Remove one dead letter; its data, or None when it is gone already (another operator)."""
    pipe = client.pipeline()
    pipe.hget(f"{key}.msgs", redis_id)
    pipe.zrem(key, redis_id)
    pipe.hdel(f"{key}.msgs", redis_id)
    data: bytes | None
    data, removed, _ = pipe.execute()
    return data if removed else None


def discard_dead(redis_url: str, queue: str, redis_id: str, *, namespace: str = NAMESPACE) -> bool:
    if queue not in QUEUES:
        return False
    with _client(redis_url) as client:
        return _take_dead(client, f"{namespace}:{queue}.XQ", redis_id) is not None


def retry_dead(redis_url: str, queue: str, redis_id: str, *, namespace: str = NAMESPACE) -> bool:
    """Put a dead letter back on its queue (actors are safe to run twice)."""
    if queue not in QUEUES:
        return False
    with _client(redis_url) as client:
        data = _take_dead(client, f"{namespace}:{queue}.XQ", redis_id)
    if data is None:
        return False
    dead = Message.decode(data)
    fresh: Message[Any] = Message(
        queue_name=queue, actor_name=dead.actor_name, args=dead.args, kwargs=dead.kwargs,
        options={},
    )  # fmt: skip
    enqueue(redis_url, fresh)
    return True


# -- database ---------------------------------------------------------------------------------


def send_rates(
    session: Session, *, minutes: int = RATE_MINUTES, now: dt.datetime | None = None
) -> dict[str, list[float]]:
    """channel -> messages per second in each of the last ``minutes`` minutes, oldest first."""
    now = now or utcnow()
    since = now - dt.timedelta(minutes=minutes)
    rows = session.execute(
        select(Delivery.channel, Delivery.sent_at).where(
            Delivery.sent_at >= since, Delivery.sent_at <= now
        )
    )
    rates = {str(channel): [0.0] * minutes for channel in Channel}
    for channel, sent_at in rows:
        if sent_at is None:
            continue
        slot = min(int((sent_at - since).total_seconds() // 60), minutes - 1)
        rates.setdefault(channel, [0.0] * minutes)[slot] += 1 / 60
    return {c: [round(r, 3) for r in per_minute] for c, per_minute in rates.items()}


def sent_total(session: Session, *, minutes: int = RATE_MINUTES) -> dict[str, int]:
    """channel -> messages handed to a provider in the last ``minutes`` minutes."""
    since = utcnow() - dt.timedelta(minutes=minutes)
    rows = session.execute(
        select(Delivery.channel, func.count())
        .where(Delivery.sent_at >= since)
        .group_by(Delivery.channel)
    )
    return {channel: int(count) for channel, count in rows}


def running_campaigns(session: Session) -> list[dict[str, Any]]:
    """Every queued, sending or paused marketing campaign, with its open deliveries."""
    open_ = func.count(Delivery.id).filter(Delivery.status.in_(OPEN_DELIVERY))
    rows = session.execute(
        select(Campaign, Salon.slug, func.count(Delivery.id), open_)
        .join(Salon, Salon.id == Campaign.salon_id)
        .outerjoin(Delivery, Delivery.campaign_id == Campaign.id)
        .where(Campaign.status.in_(RUNNING_CAMPAIGN), Campaign.kind == CampaignKind.MARKETING)
        .group_by(Campaign.id, Salon.slug)
        .order_by(Campaign.id)
    )
    return [
        {
            "id": campaign.id,
            "salon": slug,
            "status": campaign.status,
            "total": int(total),
            "open": int(still_open),
            "pause_reason": campaign.pause_reason,
        }
        for campaign, slug, total, still_open in rows
    ]


def campaign_counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(Campaign.status, func.count())
        .where(Campaign.kind == CampaignKind.MARKETING)
        .group_by(Campaign.status)
    )
    return {status: int(count) for status, count in rows}


class QueuesDocument(TypedDict):
    """``salonpost queues --json``, the ops page and /metrics: one document."""

    broker: dict[str, Any] | None  # queues (ready, delayed, in_flight, dead), workers, worker_ages
    send_rates: dict[str, list[float]]
    sent_last_minutes: dict[str, int]
    rate_minutes: int
    campaigns: dict[str, int]
    running: list[dict[str, Any]]


def snapshot(session: Session, redis_url: str | None) -> QueuesDocument:
    """Everything the ops page, /metrics and ``salonpost queues`` show, as one document."""
    document: QueuesDocument = {
        "broker": broker_figures(redis_url).as_json() if redis_url else None,
        "send_rates": send_rates(session),
        "sent_last_minutes": sent_total(session),
        "rate_minutes": RATE_MINUTES,
        "campaigns": campaign_counts(session),
        "running": running_campaigns(session),
    }
    return document
