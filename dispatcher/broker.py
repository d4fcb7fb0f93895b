"""The one place the Dramatiq broker is built.

``SALONPOST_REDIS_URL`` set: a Redis broker shared by every web and worker process.
Unset: the embedded default, an in-process stub broker with a worker in the same process.
Either way no worker boots that would sign links to a public ``BASE_URL`` with the development
secret (:class:`RefusePublicLinks`).
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from exposure import refuse_public_links
from settings import get_settings

QUEUES = ("campaigns", "sends")


class RefusePublicLinks(dramatiq.Middleware):
    """Every worker signs unsubscribe links: none boots with the public development secret for
    a ``BASE_URL`` that others open (``dramatiq`` exits with the one-line reason)."""

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        from dispatcher.runtime import get_runtime

        runtime = get_runtime()
        refuse_public_links(
            secret_key=runtime.secret_key,
            base_url=runtime.base_url,
            language=get_settings().language,
        )


def build_broker(redis_url: str | None) -> dramatiq.Broker:
    built: dramatiq.Broker = (
        RedisBroker(url=redis_url, namespace="salonpost")  # type: ignore[no-untyped-call]
        if redis_url
        else StubBroker()
    )
    built.add_middleware(RefusePublicLinks())
    return built


def use_broker(broker: dramatiq.Broker) -> dramatiq.Broker:
    """Make ``broker`` the global one and re-bind every declared actor to it."""
    dramatiq.set_broker(broker)
    for actor in _declared:
        actor.broker = broker
        broker.declare_actor(actor)
    return broker


_declared: list[dramatiq.Actor] = []  # type: ignore[type-arg]


def register(actor: dramatiq.Actor) -> dramatiq.Actor:  # type: ignore[type-arg]
    _declared.append(actor)
    return actor


broker = build_broker(get_settings().redis_url)
dramatiq.set_broker(broker)


def dead_letters(redis_url: str, *, namespace: str = "salonpost") -> dict[str, int]:
    """queue -> messages in its dead-letter set ("<namespace>:<queue>.XQ"), for operators.

    A message lands there when its actor gave up (retries exhausted, or an error not worth a
    retry); Dramatiq keeps it for a week. Delayed messages share their queue's set."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        return {queue: int(client.zcard(f"{namespace}:{queue}.XQ")) for queue in QUEUES}
    finally:
        client.close()


def queue_depths(redis_url: str, *, namespace: str = "salonpost") -> dict[str, dict[str, int]]:
    """queue -> {"ready", "delayed", "dead"} message counts."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        return {
            queue: {
                "ready": int(client.llen(f"{namespace}:{queue}")),
                "delayed": int(client.llen(f"{namespace}:{queue}.DQ")),
                "dead": int(client.zcard(f"{namespace}:{queue}.XQ")),
            }
            for queue in QUEUES
        }
    finally:
        client.close()
