"""RFC 3464 delivery status notifications: the message/delivery-status part, per recipient.

::

    Final-Recipient: rfc822; anna@example.de       the address (Original-Recipient preferred:
    Original-Recipient: rfc822; anna@example.de     that is the one we sent to)
    Action: failed | delayed | delivered | relayed | expanded
    Status: 5.1.1                                   RFC 3463, see bounces.status
    Diagnostic-Code: smtp; 550 5.1.1 user unknown   the receiving server's reply

Only ``failed`` (and the non-standard ``error``) and ``delayed`` blocks are failures; a DSN that
only reports deliveries is read as "nothing failed". A ``delayed`` block is a warning: the
sending server is still trying, so it is reported with ``delayed=True`` and counts for nothing.
"""

from __future__ import annotations

from email.message import Message

from channels.bounces.message import report_blocks
from channels.bounces.report import (
    BounceKind,
    BounceReport,
    Recipient,
    clip,
    failure_report,
    normalise_address,
)
from channels.bounces.status import kind_of_status, kind_of_words, tidy_reply

_FAILED = ("failed", "error")


def dsn_report(msg: Message) -> BounceReport | None:
    """The report of a DSN, or None when `msg` has no per-recipient delivery-status block."""
    blocks = [b for b in report_blocks(msg, "message/delivery-status") if _is_recipient_block(b)]
    if not blocks:
        return None
    recipients = tuple(r for r in map(_recipient, blocks) if r is not None)
    if not recipients:
        actions = sorted({_action(b) or "none" for b in blocks})
        return BounceReport(
            kind=BounceKind.UNKNOWN,
            reason=f"DSN (RFC 3464) reports no failure (Action: {', '.join(actions)})",
        )
    return failure_report("DSN (RFC 3464)", recipients)


def _is_recipient_block(block: Message) -> bool:
    return any(block.get(f) is not None for f in ("Final-Recipient", "Original-Recipient"))


def _action(block: Message) -> str:
    words = str(block.get("Action", "")).strip().lower().split()
    return words[0].rstrip(";,") if words else ""


def _recipient(block: Message) -> Recipient | None:
    action = _action(block)
    if action not in (*_FAILED, "delayed"):
        return None
    delayed = action == "delayed"
    value = _typed_value(block.get("Diagnostic-Code"))
    diagnostic = clip(tidy_reply(value)) if value else None
    status = _status(block)
    if status is not None:
        kind = kind_of_status(status, diagnostic) or kind_of_words(diagnostic) or BounceKind.UNKNOWN
    else:
        kind = kind_of_words(diagnostic) or (BounceKind.SOFT if delayed else BounceKind.UNKNOWN)
    address = _address(block.get("Original-Recipient")) or _address(block.get("Final-Recipient"))
    return Recipient(address, kind, status=status, diagnostic=diagnostic, delayed=delayed)


def _status(block: Message) -> str | None:
    words = str(block.get("Status", "")).split()
    return words[0] if words else None


def _typed_value(value: object) -> str | None:
    """``smtp; 550 ...`` → ``550 ...``: the value of an RFC 3464 typed field."""
    if value is None:
        return None
    text = str(value)
    kind, semicolon, rest = text.partition(";")
    return rest.strip() if semicolon and " " not in kind.strip() else text.strip()


def _address(value: object) -> str | None:
    text = _typed_value(value)
    if text is None:
        return None
    # utf-8 address types (RFC 6533) and plain rfc822 ones alike; "<...>" seen from some MTAs.
    return normalise_address(text.split()[0] if text.split() else None)
