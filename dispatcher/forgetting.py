"""Forgetting outside the database (G1): the copies of a forgotten client's messages.

:func:`db.forget.anonymise` hands over a :class:`db.forget.MessageTrace` per delivery; here
they become the names the outbox folder knows them by (the provider id, which is the file
name, and the message keys, for a message written but not yet recorded when a worker died).
Twilio and SMTP keep their own logs, outside Salonpost's reach.
"""

from __future__ import annotations

from pathlib import Path

from channels.outbox import OutboxChannel
from db.forget import ForgetMessages, MessageTrace
from dispatcher.sending import message_key, service_key


def outbox_names(traces: list[MessageTrace]) -> set[str]:
    names: set[str] = set()
    for trace in traces:
        if trace.provider_id:
            names.add(trace.provider_id)
        names.add(message_key(trace.campaign_id, trace.delivery_id))
        names.add(service_key(trace.campaign_id, trace.delivery_id))
    return names


def outbox_forgetter(directory: str | Path) -> ForgetMessages:
    """``forget_messages`` for :func:`db.forget.anonymise`: rewrite the client's outbox files."""
    outbox = OutboxChannel(directory)

    def forget(traces: list[MessageTrace]) -> list[str]:
        return outbox.forget(outbox_names(traces))

    return forget
