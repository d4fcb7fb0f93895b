"""Amazon SES bounce and complaint notifications, delivered by SNS (see `bounces.webhooks.sns`).

The SNS ``Message`` is SES's JSON notification (``notificationType``) or configuration-set
event (``eventType``)::

    Bounce         bounce.bounceType / bounceSubType, bouncedRecipients[] (emailAddress,
                   status, diagnosticCode)
                     Permanent  General, NoEmail, Suppressed, OnAccountSuppressionList   hard
                     Permanent  MailboxFull                                             soft
                     *          MessageTooLarge, ContentRejected, AttachmentRejected    policy
                     Transient  General, MailboxFull                                    soft
                     Undetermined                                                      unknown
                   a recipient's status x.7.x (policy) always wins: never suppress for it
    Complaint      complaint.complainedRecipients[], complaintFeedbackType     complaint
                   ("not-spam": unknown)
    DeliveryDelay  deliveryDelay.delayedRecipients[]                          soft, delayed
    anything else  (Delivery, Send, Open, Click, ...)                        no report

``mail.source`` is the envelope sender we gave: with VERP it names the delivery;
``mail.commonHeaders.messageId`` is our Message-ID (the delivery's provider_id).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from channels.bounces.errors import MalformedEvent
from channels.bounces.replay import ReplayGuard
from channels.bounces.report import (
    BounceKind,
    BounceReport,
    Feedback,
    Recipient,
    clip,
    normalise_address,
)
from channels.bounces.report import summary_kind as _summary
from channels.bounces.status import kind_of_status
from channels.bounces.verp import Verp
from channels.bounces.webhooks.common import (
    CLOCK_SKEW,
    WebhookEvent,
    bracketed,
    claim_once,
    mapping_field,
    optional_text,
)
from channels.bounces.webhooks.sns import (
    SNS_MAX_AGE,
    CertificateFetcher,
    SnsMessage,
    verify_sns_message,
)

_BOUNCE_KINDS = {
    ("Permanent", "General"): BounceKind.HARD,
    ("Permanent", "NoEmail"): BounceKind.HARD,
    ("Permanent", "Suppressed"): BounceKind.HARD,
    ("Permanent", "OnAccountSuppressionList"): BounceKind.HARD,
    ("Permanent", "MailboxFull"): BounceKind.SOFT,
    ("Transient", "General"): BounceKind.SOFT,
    ("Transient", "MailboxFull"): BounceKind.SOFT,
}
_OUR_MESSAGE = ("MessageTooLarge", "ContentRejected", "AttachmentRejected")


def read_ses_event(
    body: bytes | str | Mapping[str, Any],
    *,
    fetch_certificate: CertificateFetcher,
    topic_arns: Collection[str],
    guard: ReplayGuard,
    verp: Verp | None = None,
    now: dt.datetime | None = None,
    max_age: dt.timedelta = SNS_MAX_AGE,
) -> WebhookEvent:
    """Verify an SNS POST and read the SES notification in it (a `WebhookError` otherwise)."""
    sns = verify_sns_message(
        body, fetch_certificate=fetch_certificate, topic_arns=topic_arns, now=now, max_age=max_age
    )
    event = _event(sns, verp)
    claim_once(guard, event.replay_key, ttl=max_age + CLOCK_SKEW, provider="SNS")
    return event


def _event(sns: SnsMessage, verp: Verp | None) -> WebhookEvent:
    key = f"sns:{sns.message_id}"
    if sns.type != "Notification":
        return WebhookEvent(
            provider="ses",
            event_id=sns.message_id,
            replay_key=key,
            report=None,
            occurred_at=sns.timestamp,
            subscribe_url=sns.subscribe_url,
        )
    try:
        payload = json.loads(sns.message)
    except ValueError as exc:
        raise MalformedEvent("SES notification in the SNS Message is not JSON") from exc
    if not isinstance(payload, dict):
        raise MalformedEvent("SES notification is not a JSON object")
    mail = mapping_field(payload, "mail")
    return WebhookEvent(
        provider="ses",
        event_id=sns.message_id,
        replay_key=key,
        report=ses_report(payload, verp),
        occurred_at=sns.timestamp,
        provider_message_id=optional_text(mail, "messageId"),
    )


def ses_report(payload: Mapping[str, Any], verp: Verp | None) -> BounceReport | None:
    """The report of one SES notification, or None when it changes nothing."""
    kind = payload.get("notificationType") or payload.get("eventType")
    if kind == "Bounce":
        recipients, reason = _bounce(mapping_field(payload, "bounce"))
        feedback = None
    elif kind == "Complaint":
        recipients, reason, feedback = _complaint(mapping_field(payload, "complaint"))
    elif kind == "DeliveryDelay":
        recipients, reason = _delay(mapping_field(payload, "deliveryDelay"))
        feedback = None
    else:
        return None
    mail = mapping_field(payload, "mail")
    source = mail.get("source")
    return BounceReport(
        kind=_summary(recipients),
        reason=reason,
        recipients=recipients,
        reference=verp.read(source) if verp and isinstance(source, str) else None,
        original_message_id=bracketed(mapping_field(mail, "commonHeaders").get("messageId")),
        feedback=feedback,
        source="ses",
    )


def _bounce(bounce: Mapping[str, Any]) -> tuple[tuple[Recipient, ...], str]:
    kind, subtype = str(bounce.get("bounceType", "")), str(bounce.get("bounceSubType", ""))
    label = BounceKind.POLICY if subtype in _OUR_MESSAGE else _BOUNCE_KINDS.get((kind, subtype))
    recipients = tuple(
        _bounced(entry, label or BounceKind.UNKNOWN)
        for entry in _entries(bounce, "bouncedRecipients")
    )
    return recipients, f"SES bounce: {kind or '?'}/{subtype or '?'}"


def _bounced(entry: Mapping[str, Any], label: BounceKind) -> Recipient:
    status = optional_text(entry, "status")
    diagnostic = clip(optional_text(entry, "diagnosticCode"))
    by_status = kind_of_status(status, diagnostic) if status else None
    kind = label
    # The server's own code is more telling than SES's label when it says "not the address".
    if by_status == BounceKind.POLICY or (label, by_status) == (BounceKind.HARD, BounceKind.SOFT):
        kind = by_status or label
    address = normalise_address(str(entry.get("emailAddress", "")))
    return Recipient(address, kind, status=status, diagnostic=diagnostic)


def _complaint(
    complaint: Mapping[str, Any],
) -> tuple[tuple[Recipient, ...], str, Feedback]:
    feedback_type = str(complaint.get("complaintFeedbackType") or "abuse").lower()
    kind = BounceKind.UNKNOWN if feedback_type == "not-spam" else BounceKind.COMPLAINT
    recipients = tuple(
        Recipient(normalise_address(str(entry.get("emailAddress", ""))), kind)
        for entry in _entries(complaint, "complainedRecipients")
    )
    feedback = Feedback(
        feedback_type=feedback_type,
        user_agent=optional_text(complaint, "userAgent"),
        arrival_date=str(complaint["arrivalDate"]) if complaint.get("arrivalDate") else None,
    )
    return recipients, f"SES complaint, feedback type {feedback_type}", feedback


def _delay(delay: Mapping[str, Any]) -> tuple[tuple[Recipient, ...], str]:
    recipients = []
    for entry in _entries(delay, "delayedRecipients"):
        status = optional_text(entry, "status")
        diagnostic = clip(optional_text(entry, "diagnosticCode"))
        policy = status is not None and kind_of_status(status, diagnostic) == BounceKind.POLICY
        kind = BounceKind.POLICY if policy else BounceKind.SOFT
        address = normalise_address(str(entry.get("emailAddress", "")))
        recipients.append(Recipient(address, kind, status, diagnostic, delayed=True))
    return tuple(recipients), f"SES delivery delay: {delay.get('delayType', '?')}"


def _entries(container: Mapping[str, Any], name: str) -> Iterable[Mapping[str, Any]]:
    entries = container.get(name)
    if not isinstance(entries, list) or not entries:
        raise MalformedEvent(f"SES notification has no {name}")
    return [e for e in entries if isinstance(e, Mapping)]
