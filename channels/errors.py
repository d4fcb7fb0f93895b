"""One error root for the channels package; provider errors are translated at the boundary.

::

    ChannelError
     ├── DeliveryError                 this message could not be delivered now
     │    ├── TransientDeliveryError   retry later (429, 5xx, SMTP 4xx, network, timeouts);
     │    │                            retry_after: seconds the provider asked us to wait, or None;
     │    │                            maybe_sent: the provider may have taken it (read timeout)
     │    └── PermanentDeliveryError   never retry; code: provider code ("21610", "550");
     │                                 suppress: the address itself is bad or unsubscribed (R9)
     └── ConfigurationError            the channel is misconfigured (bad URL, credentials,
                                       sender, missing optional dependency): fix the set-up,
                                       do not fail the delivery

Each channel raises these ``from`` the provider's exception, so the original stays in
``__cause__`` for logs while callers only ever catch this tree.
"""

from __future__ import annotations


class ChannelError(Exception):
    """Root of every error raised by a channel."""


class DeliveryError(ChannelError):
    """Delivering one message failed; the subclass says whether a retry can help."""


class TransientDeliveryError(DeliveryError):
    """Retry later; nothing is wrong with the address."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, maybe_sent: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        # Why: a timeout after the request left us is ambiguous; the dispatcher may prefer
        # to check the provider before a retry that could send the message twice.
        self.maybe_sent = maybe_sent


class PermanentDeliveryError(DeliveryError):
    """Do not retry; `suppress` tells the caller to suppress the address for the salon (R9)."""

    def __init__(self, message: str, *, code: str, suppress: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.suppress = suppress


class ConfigurationError(ChannelError):
    """The channel cannot work as configured; raised at construction or on auth failures."""
