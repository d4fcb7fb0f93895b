"""Mailgun webhooks: ``failed`` and ``complained`` events, signed with the webhook signing key.

::

    {"signature": {"timestamp": "1712822400", "token": "<50 hex>", "signature": "<hex>"},
     "event-data": {"event": "failed", "severity": "permanent", "reason": "bounce",
                    "recipient": "...", "delivery-status": {"code": 550, "message": "...",
                    "description": "...", "enhanced-code": "5.1.1"},
                    "message": {"headers": {"message-id": "..."}},
                    "envelope": {"sender": "bounce+...@bounces.example"}, "id": "..."}}

Checks: ``signature`` = HMAC-SHA256(signing key, timestamp + token), hex; the timestamp is
within `max_age` (15 minutes by default); the token is taken once (`ReplayGuard`).

Mapping::

    failed, permanent   the status code / the server's words; Mailgun's reason "bounce"
                        without either is hard; "old" (retries given up) soft;
                        "suppress-bounce" hard; "suppress-complaint" complaint;
                        "espblock" policy; "suppress-unsubscribe" and the rest unknown
    failed, temporary   soft and delayed (Mailgun retries); x.7.x policy
    complained          complaint
    anything else       no report (delivered, opened, clicked, unsubscribed ...)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from channels.bounces.errors import BadSignature, MalformedEvent, WebhookNotConfigured
from channels.bounces.replay import ReplayGuard
from channels.bounces.report import BounceKind, BounceReport, Recipient, clip, normalise_address
from channels.bounces.status import find_status, kind_of_status, kind_of_words
from channels.bounces.verp import Verp
from channels.bounces.webhooks.common import (
    CLOCK_SKEW,
    WebhookEvent,
    bracketed,
    check_fresh,
    claim_once,
    load_object,
    mapping_field,
    now_utc,
    text_field,
)

MAILGUN_MAX_AGE = dt.timedelta(minutes=15)
_PERMANENT_REASONS = {
    "suppress-bounce": BounceKind.HARD,
    "suppress-complaint": BounceKind.COMPLAINT,
    "espblock": BounceKind.POLICY,
    "old": BounceKind.SOFT,
}


def read_mailgun_event(
    body: bytes | str | Mapping[str, Any],
    *,
    signing_key: str,
    guard: ReplayGuard,
    verp: Verp | None = None,
    now: dt.datetime | None = None,
    max_age: dt.timedelta = MAILGUN_MAX_AGE,
) -> WebhookEvent:
    """Verify a Mailgun webhook POST and read its event (a `WebhookError` otherwise)."""
    if not signing_key:
        raise WebhookNotConfigured("no Mailgun webhook signing key configured")
    data = load_object(body, "Mailgun")
    signed_at, token = verify_mailgun_signature(mapping_field(data, "signature"), signing_key)
    check_fresh(signed_at, now=now_utc(now), max_age=max_age, provider="Mailgun")
    event_data = mapping_field(data, "event-data")
    if not event_data:
        raise MalformedEvent("Mailgun event has no event-data")
    event = WebhookEvent(
        provider="mailgun",
        event_id=str(event_data.get("id") or token),
        replay_key=f"mailgun:{token}",
        report=mailgun_report(event_data, verp),
        occurred_at=_when(event_data.get("timestamp")),
    )
    claim_once(guard, event.replay_key, ttl=max_age + CLOCK_SKEW, provider="Mailgun")
    return event


def verify_mailgun_signature(
    signature: Mapping[str, Any], signing_key: str
) -> tuple[dt.datetime, str]:
    """The signing time and token of a valid ``signature`` block; BadSignature otherwise."""
    if not signature:
        raise BadSignature("Mailgun event is unsigned (no signature block)")
    timestamp, token, given = (
        str(signature.get(k, "")) for k in ("timestamp", "token", "signature")
    )
    if not (timestamp.isdigit() and token and given):
        raise BadSignature("Mailgun signature block lacks timestamp, token or signature")
    expected = hmac.new(signing_key.encode(), (timestamp + token).encode(), hashlib.sha256)
    if not hmac.compare_digest(expected.hexdigest(), given.lower()):
        raise BadSignature("Mailgun signature does not match (wrong signing key or forged)")
    return dt.datetime.fromtimestamp(int(timestamp), dt.UTC), token


def mailgun_report(event: Mapping[str, Any], verp: Verp | None) -> BounceReport | None:
    """The report of one Mailgun event, or None when it changes nothing."""
    name = event.get("event")
    if name == "complained":
        kind, status, diagnostic, delayed = BounceKind.COMPLAINT, None, None, False
        reason = "Mailgun complaint"
    elif name == "failed":
        kind, status, diagnostic, delayed = _failure(event)
        reason = f"Mailgun failure: {event.get('severity', '?')}, {event.get('reason', '?')}"
    else:
        return None
    address = normalise_address(text_field(event, "recipient", "Mailgun"))
    sender = mapping_field(event, "envelope").get("sender")
    headers = mapping_field(mapping_field(event, "message"), "headers")
    return BounceReport(
        kind=kind,
        reason=reason,
        recipients=(Recipient(address, kind, status, diagnostic, delayed=delayed),),
        reference=verp.read(sender) if verp and isinstance(sender, str) else None,
        original_message_id=bracketed(headers.get("message-id")),
        source="mailgun",
    )


def _failure(event: Mapping[str, Any]) -> tuple[BounceKind, str | None, str | None, bool]:
    delivery = mapping_field(event, "delivery-status")
    words = " ".join(str(delivery.get(k) or "") for k in ("code", "message", "description"))
    diagnostic = clip(words.strip() or None)
    enhanced = delivery.get("enhanced-code")
    status = enhanced if isinstance(enhanced, str) and enhanced else find_status(words)
    by_status = kind_of_status(status, words) if status else None
    if event.get("severity") == "temporary":
        kind = BounceKind.POLICY if by_status == BounceKind.POLICY else BounceKind.SOFT
        return kind, status, diagnostic, True
    reason = str(event.get("reason", ""))
    if reason in _PERMANENT_REASONS:
        return _PERMANENT_REASONS[reason], status, diagnostic, False
    kind = by_status or kind_of_words(words) or BounceKind.UNKNOWN
    if kind == BounceKind.UNKNOWN and reason == "bounce":
        kind = BounceKind.HARD  # Mailgun calls it a bounce and the server said nothing clearer
    return kind, status, diagnostic, False


def _when(timestamp: object) -> dt.datetime | None:
    if isinstance(timestamp, int | float) and not isinstance(timestamp, bool):
        return dt.datetime.fromtimestamp(timestamp, dt.UTC)
    return None
