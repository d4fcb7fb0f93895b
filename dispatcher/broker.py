"""The one place for Dramatiq's brokers, the queues and the retry policy.

- :func:`install` builds the process's broker once, at the worker entry (``dispatcher.actors``
  reads ``SALONPOST_REDIS_URL``): a Redis broker shared by every web and worker process, or the
  embedded default, an in-process stub broker with a worker in the same process;
- :func:`enqueue` puts a message on Redis from a process whose own broker may be another one
  (the web app and the CLI of a deployment with Redis, an operator's retry of a dead letter);
- the retry policy is configured here, on the broker's Retries middleware, for every actor:
  an actor is retried only when the infrastructure failed (PostgreSQL or Redis unreachable, a
  provider down for the whole batch), with exponential backoff; anything else is a bug to look
  at and goes to the dead-letter queue. A delivery's own transient failures are retried per
  delivery instead (``next_attempt_at``, see :mod:`dispatcher.batch`);
- no worker boots that would sign links to a public ``BASE_URL`` with the development secret
  (:class:`RefusePublicLinks`).
"""

from __future__ import annotations

from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.errors import RateLimitExceeded
from dramatiq.middleware import Middleware, Retries, default_middleware
from sqlalchemy.exc import DBAPIError

from channels.errors import TransientDeliveryError

NAMESPACE = "salonpost"
QUEUES = ("campaigns", "sends")
MIN_BACKOFF_MS = 1_000
MAX_BACKOFF_MS = 60_000
MAX_RETRIES = 30
INFRASTRUCTURE = (DBAPIError, redis.RedisError, RateLimitExceeded, TransientDeliveryError)


def retry_infrastructure(retries: int, exc: BaseException) -> bool:
    # Only a passing outage is worth another try; the sweep catches what gives up anyway.
    return isinstance(exc, INFRASTRUCTURE) and retries < MAX_RETRIES


class RefusePublicLinks(Middleware):
    """Every worker signs unsubscribe links: none boots with the public development secret for
    a ``BASE_URL`` that others open (``dramatiq`` exits with the one-line reason)."""

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        from dispatcher.runtime import refuse_runtime_links

        refuse_runtime_links()


def _middleware() -> list[Middleware]:
    """Dramatiq's default middleware, with the retry policy above in place of its Retries, and
    the check that no worker signs links to a public address with the development secret."""
    policy = Retries(
        retry_when=retry_infrastructure, min_backoff=MIN_BACKOFF_MS, max_backoff=MAX_BACKOFF_MS
    )
    return [*(policy if m is Retries else m() for m in default_middleware), RefusePublicLinks()]


def build_broker(redis_url: str | None) -> dramatiq.Broker:
    """A Redis broker (namespace ``salonpost``) or, without a URL, the in-process stub broker."""
    broker: dramatiq.Broker
    if redis_url:
        broker = RedisBroker(url=redis_url, namespace=NAMESPACE, middleware=_middleware())  # type: ignore[no-untyped-call]
    else:
        broker = StubBroker(middleware=_middleware())
    for queue in QUEUES:
        broker.declare_queue(queue)
    return broker


def install(redis_url: str | None) -> dramatiq.Broker:
    """Build the process's broker and make it the one actors are declared on (call once,
    before :mod:`dispatcher.actors` declares them)."""
    broker = build_broker(redis_url)
    dramatiq.set_broker(broker)
    return broker


_enqueuers: dict[str, Any] = {}


def enqueuer(redis_url: str) -> Any:
    """The Redis broker this process enqueues with for ``redis_url`` (one per URL)."""
    if redis_url not in _enqueuers:
        _enqueuers[redis_url] = build_broker(redis_url)
    return _enqueuers[redis_url]


def enqueuer_ids() -> set[bytes]:
    """The broker ids of this process's enqueuers (their heartbeats are no workers)."""
    return {broker.broker_id.encode() for broker in _enqueuers.values()}


def enqueue(redis_url: str, message: dramatiq.Message[Any]) -> None:
    """Put ``message`` on Redis, whatever this process's own broker is."""
    enqueuer(redis_url).enqueue(message)
