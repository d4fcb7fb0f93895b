"""Free-form bounces (no RFC 3464 part): Exim, qmail, older Postfix and Exchange, Sendmail ...

flufl.bounce's detectors find the addresses and whether the server called the failure
temporary or permanent; the status code and the server's words are then read from the text
that follows each address in the server's own notification (never from the returned message).
When the detectors find no address but the text holds an SMTP reply, the report has one
recipient without an address: the delivery's own, which only counts with a VERP reference.
"""

from __future__ import annotations

import logging
import re
from email.message import Message

from flufl.bounce import all_failures

from channels.bounces.message import address_of, header, notification_text
from channels.bounces.report import (
    BounceKind,
    BounceReport,
    Recipient,
    clip,
    failure_report,
    normalise_address,
)
from channels.bounces.status import REPLY, STATUS, kind_of_text

log = logging.getLogger(__name__)

_DAEMONS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon", "mdaemon")
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered mail|delivery status notification|delivery (?:has )?failed"
    r"|delivery failure|failure notice|mail delivery failed|returned mail|could not be delivered"
    r"|nicht zustellbar|unzustellbar|zustellung fehlgeschlagen|non remis|non recapitabile",
    re.IGNORECASE,
)
_BLOCK_LINES = 8  # lines after an address that belong to its failure


def looks_like_bounce(msg: Message) -> bool:
    """Whether `msg` comes from a mail server rather than a person or an autoresponder."""
    if msg.get("X-Failed-Recipients") is not None:
        return True
    sender = address_of(header(msg, "From"))
    if sender.partition("@")[0] in _DAEMONS or "mail delivery" in header(msg, "From").lower():
        return True
    return bool(_BOUNCE_SUBJECT.search(header(msg, "Subject")))


def freeform_report(msg: Message) -> BounceReport | None:
    """The report of a free-form bounce, or None when nothing in `msg` reads as one."""
    try:
        temporary, permanent = all_failures(msg)
    except Exception as exc:  # a detector tripping over a malformed message must not stop intake
        log.warning("flufl.bounce could not read a message: %r", exc)
        temporary, permanent = frozenset(), frozenset()
    text = notification_text(msg)
    found = {a.decode("ascii", "replace"): True for a in temporary}
    found.update({a.decode("ascii", "replace"): False for a in permanent})
    recipients = tuple(
        _recipient(address, text, temporary=is_temporary) for address, is_temporary in found.items()
    )
    recipients = tuple(r for r in recipients if r.address) or _unnamed(text)
    if not recipients:
        return None
    return failure_report("free-form bounce", recipients)


def _recipient(address: str, text: str, *, temporary: bool) -> Recipient:
    block = _block_after(address, text) or text
    kind, status = kind_of_text(block, temporary=temporary)
    if temporary and kind not in (BounceKind.POLICY, BounceKind.SOFT):
        kind = BounceKind.SOFT  # a warning: the server is still trying
    return Recipient(
        normalise_address(address),
        kind,
        status=status,
        diagnostic=_diagnostic(block, from_start=block is not text),
        delayed=temporary,
    )


def _unnamed(text: str) -> tuple[Recipient, ...]:
    if STATUS.search(text) is None and REPLY.search(text) is None:
        return ()
    kind, status = kind_of_text(text)
    return (Recipient(None, kind, status=status, diagnostic=_diagnostic(text)),)


def _block_after(address: str, text: str) -> str | None:
    """The lines from a mention of `address` on: the first mention followed by a status code or
    reply (a bounce may name the address in a summary first), else the first mention."""
    lines = text.splitlines()
    lowered = address.lower()
    blocks = [
        "\n".join(lines[index : index + _BLOCK_LINES])
        for index, line in enumerate(lines)
        if lowered in line.lower()
    ]
    with_reply = (b for b in blocks if STATUS.search(b) or REPLY.search(b))
    return next(with_reply, blocks[0] if blocks else None)


def _diagnostic(text: str, *, from_start: bool = False) -> str | None:
    """The server's reply in `text`: from its first status code or reply code (or from the
    start of an address's block) through the reply's continuation lines."""
    lines = text.splitlines()
    found = next(
        (i for i, line in enumerate(lines) if STATUS.search(line) or REPLY.search(line)), None
    )
    if found is None:
        return clip(text.strip().split("\n\n")[0]) if from_start else None
    end = found + 1
    while end < min(len(lines), found + 3) and lines[end].strip():
        end += 1
    return clip("\n".join(lines[0 if from_start else found : end]))
