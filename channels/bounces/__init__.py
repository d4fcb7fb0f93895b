"""Bounces: what comes back after a marketing email was sent, read without guessing.

Pure: no database, no settings, no network (the SNS certificate is fetched by the caller)::

    bounces/
      verp.py         Verp, verp_return_path, read_verp: a signed Return-Path per delivery
      classify.py     classify_bounce(raw) -> BounceReport, for each mail at the bounce address
        arf.py          complaints: ARF feedback reports (RFC 5965)
        dsn.py          delivery status notifications (RFC 3464)
        freeform.py     other servers' bounces (flufl.bounce) plus their status codes
        autoreply.py    out of office, vacation, challenge-response (RFC 3834): ignored
        status.py       RFC 3463 status codes and the servers' words -> BounceKind
        message.py      lenient MIME reading
      report.py       BounceKind, Recipient, Feedback, BounceReport
      actions.py      decide(recipient, ...) -> Consequence; sending_health(...) (0.3 % pause)
      replay.py       ReplayGuard: MemoryReplayGuard, RedisReplayGuard
      webhooks/       read_ses_event (SES via SNS), read_mailgun_event, read_postmark_event
      errors.py       the error tree:

    BounceError
     ├── VerpError                   no valid signed delivery reference
     └── WebhookError                a provider event was refused; nothing changed
          ├── WebhookNotConfigured    ├── BadSignature      ├── ReplayedEvent
          ├── MalformedEvent          ├── StaleEvent        └── CertificateUnavailable

How the pieces fit, for the services layer and the edges that wire them::

    send      Return-Path (MAIL FROM) = verp.return_path(delivery.id, delivery.salon_id)
    intake    report = classify_bounce(raw, verp=verp, envelope_recipients=rcpt_to)
    webhooks  report = read_ses_event(...).report (or Mailgun, Postmark): None = nothing to do
    then      delivery: by report.reference (delivery id AND salon id), else by
              report.original_message_id (= delivery.provider_id); no delivery, no change
              per recipient: decide(recipient, at=..., delivery_id=..., earlier_soft_bounces=...)
              -> suppress (R9) / withdraw email consent, source "complaint" (R4) / flag the salon
    ops       sending_health(sent=..., bounced=..., complaints=...) per salon over 30 days
"""

from __future__ import annotations

from channels.bounces.actions import (
    Consequence,
    SendingHealth,
    SoftBounce,
    SuppressionReason,
    decide,
    sending_health,
    soft_bounces_suppress,
)
from channels.bounces.classify import classify_bounce
from channels.bounces.errors import (
    BadSignature,
    BounceError,
    CertificateUnavailable,
    MalformedEvent,
    ReplayedEvent,
    StaleEvent,
    VerpError,
    WebhookError,
    WebhookNotConfigured,
)
from channels.bounces.replay import MemoryReplayGuard, RedisReplayGuard, ReplayGuard
from channels.bounces.report import BounceKind, BounceReport, Feedback, Recipient
from channels.bounces.verp import DeliveryRef, Verp, read_verp, verp_return_path

__all__ = [
    "BadSignature",
    "BounceError",
    "BounceKind",
    "BounceReport",
    "CertificateUnavailable",
    "Consequence",
    "DeliveryRef",
    "Feedback",
    "MalformedEvent",
    "MemoryReplayGuard",
    "Recipient",
    "RedisReplayGuard",
    "ReplayGuard",
    "ReplayedEvent",
    "SendingHealth",
    "SoftBounce",
    "StaleEvent",
    "SuppressionReason",
    "Verp",
    "VerpError",
    "WebhookError",
    "WebhookNotConfigured",
    "classify_bounce",
    "decide",
    "read_verp",
    "sending_health",
    "soft_bounces_suppress",
    "verp_return_path",
]
