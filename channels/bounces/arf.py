"""Complaints: ARF feedback reports (RFC 5965) from the mailbox providers' feedback loops.

::

    Content-Type: multipart/report; report-type=feedback-report
      text/plain                  for people
      message/feedback-report     Feedback-Type, User-Agent, Version, Original-Mail-From,
                                  Original-Rcpt-To, Arrival-Date, Source-IP, Reported-Domain
      message/rfc822              our message (or text/rfc822-headers: its headers only)

Feedback types: ``abuse``, ``fraud``, ``virus`` and ``other`` are complaints (the client pressed
"spam": an objection, GDPR Art. 21(3)); ``not-spam`` changes nothing; ``auth-failure``
(RFC 6591) says our DKIM/SPF set-up failed, a policy matter of the salon. The complained-about
address is Original-Rcpt-To, else the To of the returned message; providers that redact it
leave only the VERP reference (Original-Mail-From, or the returned message's Return-Path).
"""

from __future__ import annotations

from email.message import Message

from channels.bounces.message import address_of, header, original_headers, report_blocks
from channels.bounces.report import BounceKind, BounceReport, Feedback, Recipient, normalise_address

_COMPLAINTS = ("abuse", "fraud", "virus", "other")


def is_feedback_report(msg: Message) -> bool:
    if msg.get_content_type() == "multipart/report":
        report_type = str(msg.get_param("report-type", "") or "").lower()
        if report_type == "feedback-report":
            return True
    return any(p.get_content_type() == "message/feedback-report" for p in msg.walk())


def complaint_report(msg: Message) -> BounceReport | None:
    """The report of an ARF message, or None when `msg` is not one."""
    if not is_feedback_report(msg):
        return None
    blocks = report_blocks(msg, "message/feedback-report")
    fields = blocks[0] if blocks else Message()
    feedback = _feedback(fields)
    kind, reason = _kind(feedback.feedback_type)
    address = normalise_address(_complainant(fields, original_headers(msg)))
    return BounceReport(
        kind=kind,
        reason=reason,
        recipients=(Recipient(address, kind),),
        feedback=feedback,
    )


def _feedback(fields: Message) -> Feedback:
    def value(name: str) -> str | None:
        return header(fields, name) or None

    return Feedback(
        feedback_type=(value("Feedback-Type") or "abuse").lower(),
        user_agent=value("User-Agent"),
        arrival_date=value("Arrival-Date") or value("Received-Date"),
        source_ip=value("Source-IP"),
        reported_domain=value("Reported-Domain"),
        original_mail_from=address_of(value("Original-Mail-From") or "") or None,
    )


def _kind(feedback_type: str) -> tuple[BounceKind, str]:
    # Why an unnamed or unknown type counts as a complaint: RFC 5965 makes the field required,
    # and a provider sending a report at all says the client objected.
    if feedback_type == "not-spam":
        return BounceKind.UNKNOWN, "feedback report 'not-spam': the client said it is no spam"
    if feedback_type == "auth-failure":
        return BounceKind.POLICY, "feedback report 'auth-failure' (RFC 6591): check DKIM/SPF"
    named = feedback_type if feedback_type in _COMPLAINTS else f"{feedback_type} (read as abuse)"
    return BounceKind.COMPLAINT, f"complaint: ARF feedback report (RFC 5965), type {named}"


def _complainant(fields: Message, original: Message | None) -> str | None:
    rcpt = address_of(header(fields, "Original-Rcpt-To"))
    if rcpt:
        return rcpt
    if original is not None:
        return address_of(header(original, "To")) or None
    return None
