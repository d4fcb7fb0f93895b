"""Handing a queued campaign to the workers, and test messages to the staff member themself.

With ``SALONPOST_REDIS_URL`` the plan message goes onto Redis for the worker processes (through a
broker of this module, so the process-wide one is left alone). On the embedded default the web
process is the worker: one background thread runs :func:`dispatcher.embedded.run_in_process`
for each campaign in turn, as ``salonpost campaign queue`` does in the terminal.

A test message is rendered for the catalogue's sample client and handed straight to the channel:
no delivery row, no client, so it never counts as a campaign delivery.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from dataclasses import dataclass
from functools import partial

from channels.base import Message
from channels.errors import ChannelError
from db.models import Campaign, Salon
from db.session import session_scope
from dispatcher.runtime import Runtime, configure
from gate.contacts import normalise_email, normalise_phone
from settings import Settings
from templates.catalogue import sample_context
from templates.sandbox import render

log = logging.getLogger("salonpost.web")


class TestMessageError(ValueError):
    """The test message was not sent; ``key`` names the text shown to staff."""

    def __init__(self, key: str, detail: str = "") -> None:
        super().__init__(key)
        self.key = key
        self.detail = detail


@dataclass(frozen=True)
class TestAddress:
    channel: str
    address: str


class Dispatch:
    """Starts campaigns on the configured broker and sends test messages."""

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
            from dispatcher.queues import redis_broker

            redis_broker(self.settings.redis_url).enqueue(actors.plan_campaign.message(campaign_id))
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
        return status in ("done", "cancelled", "paused")

    def send_test(self, salon: Salon, campaign: Campaign, to: TestAddress) -> str:
        """Render the campaign for the sample client and send it to ``to``; the provider id."""
        message = test_message(salon, campaign, to)
        try:
            receipt = self.runtime.channel(to.channel).send(message)
        except ChannelError as exc:
            raise TestMessageError("test.failed", type(exc).__name__) from exc
        return receipt.provider_id


def test_address(salon: Salon, channel: str, raw: str) -> TestAddress:
    if channel == "sms":
        phone = normalise_phone(raw, region=salon.default_region)
        if phone is None:
            raise TestMessageError("test.bad_phone")
        return TestAddress("sms", phone)
    if channel == "email":
        email = normalise_email(raw)
        if email is None:
            raise TestMessageError("test.bad_email")
        return TestAddress("email", email)
    raise TestMessageError("test.bad_channel")


def test_message(salon: Salon, campaign: Campaign, to: TestAddress) -> Message:
    if to.channel not in campaign.channels:
        raise TestMessageError("test.bad_channel")
    context = {**sample_context(), "salon_name": salon.name}
    key = f"test-c{campaign.id}-{uuid.uuid4().hex[:12]}"
    if to.channel == "sms":
        body = render(campaign.sms_body or "", context, html=False)
        return Message("sms", to.address, body, key, sender=salon.sms_sender)
    subject = "[Test] " + render(campaign.email_subject or "", context, html=False)
    text = render(campaign.email_text, context, html=False) if campaign.email_text else ""
    html = render(campaign.email_html, context, html=True) if campaign.email_html else None
    return Message(
        "email", to.address, text, key, sender=salon.email_from, subject=subject, html=html
    )
