"""One raw email in, one `BounceReport` out: what the intake (SMTP receiver or mailbox poll)
calls for every message that reaches the bounce address.

Order, and why::

    1. ARF feedback report (RFC 5965)    complaint   a report is never an out-of-office
    2. RFC 3464 DSN parts                hard / soft / policy / unknown, per recipient
    3. a mail server's free-form bounce  (MAILER-DAEMON, X-Failed-Recipients, bounce subject):
                                         flufl.bounce + status codes; before 4, because servers
                                         mark bounces "Auto-Submitted: auto-replied" too
    4. auto-reply evidence (RFC 3834)    auto_reply  (out of office, challenge-response)
    5. flufl.bounce on anything else     only when it finds failures
    6. otherwise                         unknown     a person's reply, spam, ...

The delivery reference comes from the first address carrying a valid VERP MAC: the envelope
recipients the SMTP receiver saw, then Delivered-To / X-Original-To / Envelope-To /
X-Envelope-To / To, then the complaint's Original-Mail-From and the returned message's
Return-Path. The original Message-ID (the delivery's provider_id) comes from the returned
message, else from In-Reply-To / References (auto-replies carry it there).

`classify_bounce` never raises on the content of `raw`: a message it cannot read is unknown.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from email.message import Message

from channels.bounces.arf import complaint_report
from channels.bounces.autoreply import auto_reply_report
from channels.bounces.dsn import dsn_report
from channels.bounces.freeform import freeform_report, looks_like_bounce
from channels.bounces.message import (
    addresses_in,
    header,
    message_id,
    original_headers,
    parse,
    report_blocks,
)
from channels.bounces.report import BounceKind, BounceReport
from channels.bounces.verp import DeliveryRef, Verp

log = logging.getLogger(__name__)

_DELIVERY_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")
_MSGID = re.compile(r"<[^<>\s]+@[^<>\s]+>")


def classify_bounce(
    raw: bytes, *, verp: Verp | None = None, envelope_recipients: Sequence[str] = ()
) -> BounceReport:
    """Read one message that reached the bounce address.

    `verp` reads the delivery reference (None: reports carry none); `envelope_recipients` are
    the RCPT TO addresses when the message came in over SMTP.
    """
    msg = parse(raw)
    try:
        report = _report(msg)
    except Exception as exc:  # a malformed message must be reported, not stop the intake
        log.warning("could not read a bounce: %r", exc)
        report = BounceReport(kind=BounceKind.UNKNOWN, reason=f"unreadable message: {exc!r}"[:200])
    return replace(
        report,
        reference=_reference(msg, verp, envelope_recipients),
        original_message_id=_original_message_id(msg),
    )


def _report(msg: Message) -> BounceReport:
    report = complaint_report(msg) or dsn_report(msg)
    if report is None and looks_like_bounce(msg):
        return freeform_report(msg) or BounceReport(
            kind=BounceKind.UNKNOWN,
            reason="a mail server's bounce, but no address or status code could be read",
        )
    report = report or auto_reply_report(msg) or freeform_report(msg)
    return report or BounceReport(
        kind=BounceKind.UNKNOWN, reason="neither a bounce, a complaint nor an auto-reply"
    )


def _reference(
    msg: Message, verp: Verp | None, envelope_recipients: Sequence[str]
) -> DeliveryRef | None:
    if verp is None:
        return None
    for address in _candidates(msg, envelope_recipients):
        reference = verp.read(address.strip().strip("<>"))
        if reference is not None:
            return reference
    return None


def _candidates(msg: Message, envelope_recipients: Sequence[str]) -> Iterable[str]:
    yield from envelope_recipients
    for name in _DELIVERY_HEADERS:
        yield from addresses_in(msg, name)
    for block in report_blocks(msg, "message/feedback-report"):
        yield from addresses_in(block, "Original-Mail-From")
    original = original_headers(msg)
    if original is not None:
        yield from addresses_in(original, "Return-Path")


def _original_message_id(msg: Message) -> str | None:
    found = message_id(original_headers(msg))
    if found:
        return found
    for name in ("In-Reply-To", "References"):
        ids = _MSGID.findall(header(msg, name))
        if ids:
            return str(ids[-1])  # the message replied to is the last one referenced
    return None
