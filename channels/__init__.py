"""Channels: deliver one rendered message to one address (``send(message) -> receipt``).

A folder of implementations behind one interface (`channels.base.Channel`)::

    channels/
      base.py     Message, Receipt, Channel
      errors.py   the error tree (below)
      outbox.py   OutboxChannel: writes .eml/.json files (embedded default, test double)
      email.py    SmtpChannel: SMTP with connection reuse and optional DKIM
      sms.py      TwilioSmsChannel: Twilio Messages API (twilio is imported only there)

    ChannelError
     ├── DeliveryError
     │    ├── TransientDeliveryError   retry later (retry_after, maybe_sent)
     │    └── PermanentDeliveryError   never retry (code, suppress)
     └── ConfigurationError            fix the set-up

Settings stay out of the package: :func:`dispatcher.runtime.channel_factory` builds each channel
from the settings with its constructor's keyword arguments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from channels.base import Channel, ChannelKind, Message, Receipt
from channels.email import DkimConfig, SmtpChannel, compose_email, parse_smtp_url
from channels.errors import (
    ChannelError,
    ConfigurationError,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from channels.outbox import OutboxChannel

if TYPE_CHECKING:
    from channels.sms import TwilioSmsChannel

__all__ = [
    "Channel",
    "ChannelError",
    "ChannelKind",
    "ConfigurationError",
    "DeliveryError",
    "DkimConfig",
    "Message",
    "OutboxChannel",
    "PermanentDeliveryError",
    "Receipt",
    "SmtpChannel",
    "TransientDeliveryError",
    "TwilioSmsChannel",
    "compose_email",
    "parse_smtp_url",
]


def __getattr__(name: str) -> Any:
    # Why lazy: importing twilio costs time and memory that outbox/SMTP-only workers never need.
    if name == "TwilioSmsChannel":
        from channels.sms import TwilioSmsChannel

        return TwilioSmsChannel
    raise AttributeError(f"module 'channels' has no attribute {name!r}")
