"""Handing a queued, resumed or retried campaign to the workers from the web process.

With ``SALONPOST_REDIS_URL`` the plan message goes onto Redis for the worker processes
(:func:`dispatcher.broker.enqueue`). On the embedded default the web process is the worker: one
background thread runs :func:`dispatcher.embedded.run_in_process` for each campaign in turn, as
``salonpost campaign queue`` does in the terminal.
"""

from __future__ import annotations

import logging
import queue
import threading
from functools import partial

from db.models import Campaign
from db.session import session_scope
from db.states import FINISHED_CAMPAIGN, CampaignStatus
from dispatcher.runtime import Runtime, configure
from settings import Settings

log = logging.getLogger("salonpost.web")


class Dispatch:
    """Starts campaigns on the configured broker; the runtime the test message is sent with."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._runtime: Runtime | None = None
        self._work: queue.Queue[int] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            self._runtime = Runtime.from_settings(self.settings)
        return self._runtime

    def start(self, campaign_id: int) -> None:
        """Plan and send (or resume) the campaign; returns at once."""
        if self.settings.redis_url:
            from dispatcher import actors
            from dispatcher.broker import enqueue

            enqueue(self.settings.redis_url, actors.plan_campaign.message(campaign_id))
            return
        self._work.put(campaign_id)
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._embedded, daemon=True)
                self._thread.start()

    def _embedded(self) -> None:
        from dispatcher.embedded import run_in_process

        configure(self.runtime)  # the actors read their database and channels from it
        while True:
            try:
                campaign_id = self._work.get(timeout=1.0)
            except queue.Empty:
                return
            try:
                run_in_process(campaign_id, is_finished=partial(self._finished, campaign_id))
            except Exception:  # a failed run must not stop the next campaign; the sweep retries
                log.exception("campaign %s: in-process run failed", campaign_id)

    def _finished(self, campaign_id: int) -> bool:
        with session_scope(self.settings.database_url) as session:
            status = session.get_one(Campaign, campaign_id).status
        return status in (*FINISHED_CAMPAIGN, CampaignStatus.PAUSED)
