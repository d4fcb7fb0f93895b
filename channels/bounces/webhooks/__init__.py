"""Provider event webhooks: each provider's own authenticity check, then the same reports.

::

    webhooks/
      common.py     WebhookEvent, and the checks every reader makes in one order:
                    authenticity, freshness, format, then replay (the only one that writes)
      sns.py        verify_sns_message: SNS signatures (SignatureVersion 1 SHA1, 2 SHA256)
      ses.py        read_ses_event: SES bounce / complaint / delay notifications via SNS
      mailgun.py    read_mailgun_event: HMAC-SHA256(timestamp + token), 15 minutes, token once
      postmark.py   read_postmark_event: basic auth and/or a secret header, event id once

Suggested answers at the HTTP edge: WebhookEvent → 200; ReplayedEvent → 200 (the first copy
was taken); MalformedEvent → 400; BadSignature, StaleEvent → 403 (log the text, never echo
it); WebhookNotConfigured → 404 (the provider is not set up here); CertificateUnavailable →
503 so that SNS retries. When processing an accepted event fails, release its `replay_key`
before answering 5xx, so the provider's retry is taken.
"""

from __future__ import annotations

from channels.bounces.webhooks.common import WebhookEvent
from channels.bounces.webhooks.mailgun import read_mailgun_event
from channels.bounces.webhooks.postmark import read_postmark_event
from channels.bounces.webhooks.ses import read_ses_event
from channels.bounces.webhooks.sns import verify_sns_message

__all__ = [
    "WebhookEvent",
    "read_mailgun_event",
    "read_postmark_event",
    "read_ses_event",
    "verify_sns_message",
]
