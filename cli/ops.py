"""``salonpost serve|scheduler|queues``: the web app, the periodic jobs, the operators' figures."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from cli.common import JsonOption, emit_json, fail, session, settings, t
from dispatcher.queues import QueuesDocument


def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
) -> None:
    """Run the web app (unsubscribe pages, provider webhooks)."""
    import uvicorn

    from web.app import serving_lines
    from web.exposure import refuse_exposed_web

    refuse_exposed_web(settings(), bind=host)  # the development secret on loopback only
    for line in serving_lines(settings(), host=host, port=port):
        typer.echo(line)
    # Forwarded headers are trusted only from SALONPOST_TRUSTED_PROXIES (web/proxy.py), never
    # by uvicorn's own default of 127.0.0.1.
    uvicorn.run("web.app:create_app", factory=True, host=host, port=port, proxy_headers=False)


def scheduler(
    sweep_seconds: Annotated[int, typer.Option("--sweep-seconds")] = 60,
) -> None:
    """Run periodic jobs: the sweep that re-enqueues stalled campaigns (Procfile 'scheduler')."""
    import logging

    from apscheduler.schedulers.blocking import BlockingScheduler

    from dispatcher.retention import retention_tick
    from dispatcher.sweep import sweep

    if settings().embedded:
        fail("cli.scheduler_needs_redis")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    jobs = BlockingScheduler(timezone="UTC")
    jobs.add_job(
        sweep,
        "interval",
        seconds=sweep_seconds,
        kwargs={
            "database_url": settings().database_url,
            "batch_size": settings().batch_size,
            "stale_after": dt.timedelta(seconds=2 * sweep_seconds),
            "lease": dt.timedelta(seconds=settings().claim_timeout),
        },
        max_instances=1,
        coalesce=True,
    )
    # Hourly, so each salon's 03:00 night (in its own time zone) is caught within the hour.
    jobs.add_job(
        retention_tick,
        "cron",
        minute=7,
        kwargs={
            "database_url": settings().database_url,
            "secret_key": settings().secret_key,
            "outbox_dir": settings().outbox_dir,
        },
        max_instances=1,
        coalesce=True,
    )
    jobs.start()


def queues(as_json: JsonOption = False) -> None:
    """Queues, workers, dead letters, send rates and running campaigns (as the ops page)."""
    from dispatcher.queues import snapshot

    with session() as s:
        document = snapshot(s, settings().redis_url)
    if as_json:
        emit_json(document)
        return
    for line in as_lines(document):
        typer.echo(line)


def as_lines(document: QueuesDocument) -> list[str]:
    """The snapshot for a terminal."""
    lines = []
    broker = document["broker"]
    if broker is None:
        lines.append(t("cli.queues_embedded"))
    else:
        lines.append(t("cli.queues_workers", count=broker["workers"]))
        lines.append(t("cli.queues_header"))
        for name, q in sorted(broker["queues"].items()):
            lines.append(
                f"{name:<10} {q['ready']:>7} {q['delayed']:>8} {q['in_flight']:>10} {q['dead']:>6}"
            )
    minutes = document["rate_minutes"]
    for channel, per_minute in sorted(document["send_rates"].items()):
        sent = document["sent_last_minutes"].get(channel, 0)
        rates = " ".join(f"{r:.2f}" for r in per_minute)
        lines.append(t("cli.queues_rate", channel=channel, sent=sent, minutes=minutes, rates=rates))
    for row in document["running"]:
        reason = f" ({row['pause_reason']})" if row["pause_reason"] else ""
        lines.append(
            t(
                "cli.queues_campaign",
                id=row["id"],
                salon=row["salon"],
                status=row["status"],
                reason=reason,
                open=row["open"],
                total=row["total"],
            )
        )
    return lines
