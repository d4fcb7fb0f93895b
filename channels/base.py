"""The one interface every channel implements: ``send(message) -> receipt`` plus ``close()``.

A channel is I/O behind one method. Callers (the dispatcher) build a `Message` from a rendered
template and a delivery row, hand it to a channel, and store the `Receipt` on the delivery.
Failures are raised as the errors in `channels.errors`::

    Channel.send(message)
        ├── returns Receipt(provider_id, status)
        └── raises  ChannelError
                     ├── DeliveryError
                     │    ├── TransientDeliveryError   retry later
                     │    └── PermanentDeliveryError   never retry, maybe suppress the address
                     └── ConfigurationError            fix the set-up, not the delivery
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import TracebackType
from typing import Literal, Self

ChannelKind = Literal["sms", "email"]


@dataclass(frozen=True)
class Message:
    """One message to one address; every field is already rendered and validated upstream."""

    channel: ChannelKind
    to: str  # E.164 phone number or email address
    body: str  # SMS text, or the email plain-text part
    key: str  # idempotency key ("c12-d3456"): stable across retries of one delivery
    sender: str | None = None  # SMS sender id / from number, or email From; None = default
    subject: str | None = None  # email only
    html: str | None = None  # email only
    unsubscribe_url: str | None = None  # email: List-Unsubscribe + List-Unsubscribe-Post
    reply_to: str | None = None
    status_callback: str | None = None  # SMS: Twilio StatusCallback URL


@dataclass(frozen=True)
class Receipt:
    """What the provider said when it took the message."""

    provider_id: str  # Twilio SID, email Message-ID, outbox file name
    status: str = "sent"  # the provider's first status: "queued", "accepted", "sent"


class Channel(ABC):
    """A way to deliver messages. Implementations are not required to be thread-safe
    beyond what their docstring says; the dispatcher holds one channel per worker thread."""

    name: str
    kinds: frozenset[ChannelKind]  # which `Message.channel` values this channel can deliver

    @abstractmethod
    def send(self, message: Message) -> Receipt:
        """Deliver `message` or raise a `channels.errors.ChannelError`."""

    def lookup(self, message: Message, *, since: dt.datetime) -> Receipt | None:
        """Ask the provider whether it accepted `message` since `since`: its receipt, or None
        when it certainly did not. Raises NotImplementedError when the channel cannot tell
        (SMTP): the dispatcher then leaves the delivery ``unknown`` for an operator."""
        raise NotImplementedError(f"the {self.name} channel cannot look messages up")

    @property
    def can_look_up(self) -> bool:
        """Whether :meth:`lookup` is implemented: a dead worker's doubt is then settled by
        asking the provider, not by an operator."""
        return type(self).lookup is not Channel.lookup

    def close(self) -> None:  # noqa: B027 - a no-op default is the right thing for stateless channels
        """Release connections; the channel may be used again afterwards (it reconnects)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _check_kind(self, message: Message) -> None:
        # A programming error (wrong channel wired to a delivery), so not a DeliveryError.
        if message.channel not in self.kinds:
            raise ValueError(f"{self.name} channel cannot send {message.channel!r} messages")
