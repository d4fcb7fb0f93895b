"""Postmark bounce and spam-complaint webhooks.

Postmark does not sign its webhooks: it authenticates them with HTTP basic auth (credentials
in the webhook URL, ``https://user:pass@host/...``) and/or custom headers set per webhook.
`read_postmark_event` requires at least one of the two to be configured and checks every
configured one in constant time; there is no signed time, so staleness cannot be checked, and
a replay is refused by the event's ``RecordType`` and ``ID`` (`ReplayGuard`, 30 days).

::

    RecordType Bounce         Type                                              kind
                              HardBounce, BadEmailAddress                       hard
                              SoftBounce, DnsError                              soft
                              Transient (Postmark still retries)                soft, delayed
                              Blocked, DMARCPolicy, SpamNotification,
                              VirusNotification                                 policy
                              AutoResponder, ChallengeVerification              auto_reply
                              SpamComplaint                                     complaint
                              others (Unsubscribe, AddressChange, Unknown ...)   unknown
                              a status x.7.x in Details always makes it policy
    RecordType SpamComplaint                                                    complaint
    anything else (Delivery, Open, Click, SubscriptionChange)                   no report
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
from collections.abc import Mapping
from typing import Any

from channels.bounces.errors import BadSignature, WebhookNotConfigured
from channels.bounces.replay import ReplayGuard
from channels.bounces.report import BounceKind, BounceReport, Recipient, clip, normalise_address
from channels.bounces.status import find_status, kind_of_status
from channels.bounces.webhooks.common import (
    WebhookEvent,
    claim_once,
    load_object,
    optional_text,
    text_field,
)

POSTMARK_REPLAY_TTL = dt.timedelta(days=30)
_TYPES = {
    "HardBounce": BounceKind.HARD,
    "BadEmailAddress": BounceKind.HARD,
    "SoftBounce": BounceKind.SOFT,
    "DnsError": BounceKind.SOFT,
    "Transient": BounceKind.SOFT,
    "Blocked": BounceKind.POLICY,
    "DMARCPolicy": BounceKind.POLICY,
    "SpamNotification": BounceKind.POLICY,
    "VirusNotification": BounceKind.POLICY,
    "AutoResponder": BounceKind.AUTO_REPLY,
    "ChallengeVerification": BounceKind.AUTO_REPLY,
    "SpamComplaint": BounceKind.COMPLAINT,
}


def read_postmark_event(
    body: bytes | str | Mapping[str, Any],
    *,
    headers: Mapping[str, str],
    guard: ReplayGuard,
    basic_auth: tuple[str, str] | None = None,
    secret_header: tuple[str, str] | None = None,
) -> WebhookEvent:
    """Authenticate a Postmark webhook POST and read its event (a `WebhookError` otherwise).

    `basic_auth`: (user, password) of the webhook URL; `secret_header`: (name, value) of a
    custom header configured on the webhook.
    """
    check_postmark_auth(headers, basic_auth=basic_auth, secret_header=secret_header)
    data = load_object(body, "Postmark")
    record = text_field(data, "RecordType", "Postmark")
    event_id = str(data.get("ID") or "")
    if not event_id:
        event_id = text_field(data, "MessageID", "Postmark")
    event = WebhookEvent(
        provider="postmark",
        event_id=event_id,
        replay_key=f"postmark:{record}:{event_id}",
        report=postmark_report(data),
        occurred_at=_when(data.get("BouncedAt") or data.get("ReceivedAt")),
        provider_message_id=optional_text(data, "MessageID"),
    )
    claim_once(guard, event.replay_key, ttl=POSTMARK_REPLAY_TTL, provider="Postmark")
    return event


def check_postmark_auth(
    headers: Mapping[str, str],
    *,
    basic_auth: tuple[str, str] | None,
    secret_header: tuple[str, str] | None,
) -> None:
    """Refuse a request that lacks any configured credential (BadSignature)."""
    if basic_auth is None and secret_header is None:
        raise WebhookNotConfigured("no Postmark webhook credentials (basic auth or header) set")
    lowered = {k.lower(): v for k, v in headers.items()}
    if basic_auth is not None:
        given = _basic_credentials(lowered.get("authorization", ""))
        expected = f"{basic_auth[0]}:{basic_auth[1]}".encode()
        if given is None or not hmac.compare_digest(given, expected):
            raise BadSignature("Postmark webhook: basic auth missing or wrong")
    if secret_header is not None:
        name, value = secret_header
        if not hmac.compare_digest(lowered.get(name.lower(), "").encode(), value.encode()):
            raise BadSignature(f"Postmark webhook: header {name} missing or wrong")


def postmark_report(data: Mapping[str, Any]) -> BounceReport | None:
    """The report of one Postmark event, or None when it changes nothing."""
    record = data.get("RecordType")
    if record not in ("Bounce", "SpamComplaint"):
        return None
    bounce_type = str(data.get("Type") or record)
    kind = _TYPES.get(bounce_type, BounceKind.UNKNOWN)
    details = str(data.get("Details") or data.get("Description") or "")
    status = find_status(details)
    if status and kind_of_status(status, details) == BounceKind.POLICY:
        kind = BounceKind.POLICY
    address = normalise_address(text_field(data, "Email", "Postmark"))
    recipient = Recipient(
        address, kind, status, clip(details or None), delayed=bounce_type == "Transient"
    )
    return BounceReport(
        kind=kind,
        reason=f"Postmark {record}: {bounce_type}",
        recipients=(recipient,),
        source="postmark",
    )


def _basic_credentials(header: str) -> bytes | None:
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def _when(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
