"""One error root for the bounces package.

::

    BounceError
     ├── VerpError                  not a bounce address of ours, or its signature does not match
     └── WebhookError               a provider event was refused; nothing was changed
          ├── WebhookNotConfigured   the signing key / credentials are missing: fix the set-up
          ├── MalformedEvent         not the provider's format (answer 400)
          ├── BadSignature           unsigned, forged or from a foreign topic (answer 403)
          ├── StaleEvent             signed too long ago or in the future (answer 403)
          ├── ReplayedEvent          this token / event id was taken before (answer 200:
          │                          the first copy is processed, this one changes nothing)
          └── CertificateUnavailable the SNS signing certificate could not be fetched
                                     (answer 503 so that SNS retries)

Every refusal carries a text that names the problem, for the log and the ops page.
"""

from __future__ import annotations


class BounceError(Exception):
    """Root of every error raised by the bounces package."""


class VerpError(BounceError):
    """The address carries no valid signed delivery reference."""


class WebhookError(BounceError):
    """A provider's event was refused; it must change nothing."""


class WebhookNotConfigured(WebhookError):
    """The check cannot run: no signing key, credentials or allowed topic configured."""


class MalformedEvent(WebhookError):
    """The body is not an event in the provider's format."""


class BadSignature(WebhookError):
    """The event is unsigned, its signature does not match, or it is not from our account."""


class StaleEvent(WebhookError):
    """The event's signed time is outside the accepted window."""


class ReplayedEvent(WebhookError):
    """The event's token or id was accepted before."""


class CertificateUnavailable(WebhookError):
    """The SNS signing certificate could not be fetched (a passing failure: let SNS retry)."""
