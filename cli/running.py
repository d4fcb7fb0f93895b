"""Handing a queued, resumed or retried campaign to the workers from the command line.

With ``SALONPOST_REDIS_URL`` the plan message goes onto Redis for the worker processes; on the
embedded default no worker exists elsewhere, so this process sends the campaign to the end.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import typer

from cli.common import say, session, settings, t
from db.states import FINISHED_CAMPAIGN, DeliveryStatus
from services import documents
from services.lookups import get_campaign


def run(campaign_id: int, *, wait: bool) -> None:
    from dispatcher import actors
    from dispatcher.broker import enqueue
    from dispatcher.embedded import run_in_process

    redis_url = settings().redis_url
    if redis_url:
        enqueue(redis_url, actors.plan_campaign.message(campaign_id))
        if wait:
            _watch(campaign_id, _poll_until_done)
        return
    if wait:
        _watch(campaign_id, lambda poll: run_in_process(campaign_id, is_finished=poll))
    else:
        run_in_process(campaign_id, is_finished=lambda: _progress(campaign_id)[0])
    with session() as s:
        say("cli.finished", id=campaign_id, status=get_campaign(s, campaign_id).status)


def _progress(campaign_id: int) -> tuple[bool, int, int]:
    """(finished, handled deliveries, all deliveries)."""
    with session() as s:
        status = get_campaign(s, campaign_id).status
        counts = documents.delivery_counts(s, campaign_id)
    total = sum(sum(c.values()) for c in counts.values())
    # In doubt (unknown) counts as handled here: the reconciler or an operator settles it.
    open_ = sum(
        c.get(DeliveryStatus.PENDING, 0) + c.get(DeliveryStatus.SENDING, 0) for c in counts.values()
    )
    return status in FINISHED_CAMPAIGN, total - open_, total


def _poll_until_done(poll: Callable[[], bool]) -> None:
    while not poll():
        time.sleep(0.5)


def _watch(campaign_id: int, runner: Callable[[Callable[[], bool]], None]) -> None:
    label = t("cli.progress_label", id=campaign_id)
    with typer.progressbar(length=1, label=label, file=sys.stderr) as bar:

        def poll() -> bool:
            finished, done, total = _progress(campaign_id)
            bar.length = max(total, 1)
            bar.update(done - bar.pos)
            return finished

        runner(poll)
