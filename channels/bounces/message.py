"""Reading a raw email the way a bounce intake must: leniently, and never trusting its shape.

Bounces are written by every kind of mail server; a header may be badly encoded, a charset
unknown, a part missing. These helpers never raise on such input: they give an empty answer.
The message our client's server returns inside the bounce (`original_headers`) is kept apart
from the server's own notification text (`notification_text`), because our marketing text must
never be read as the reason for a bounce.
"""

from __future__ import annotations

import contextlib
import email
import re
from collections.abc import Iterator
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr

# Where a plain-text bounce starts to quote the returned message (Exim, qmail, Sendmail, ...).
_QUOTE_START = re.compile(
    r"^[ \t]*(?:-{2,}.*)?(?:this is a copy of the message|below this line is a copy"
    r"|original message follows|-+ ?original message ?-+|returned mail follows"
    r"|message headers follow"
    r"|unsent message below|text of the original message)",
    re.IGNORECASE | re.MULTILINE,
)
_ORIGINAL_TYPES = ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers")
_REPORT_TYPES = ("message/delivery-status", "message/feedback-report")
_TAG = re.compile(r"<[^>]+>")


def parse(raw: bytes) -> Message:
    """The message in `raw` (RFC 5322 bytes, as received)."""
    if not isinstance(raw, bytes | bytearray):
        raise TypeError(f"a bounce is read from bytes, not {type(raw).__name__}")
    # compat32: what flufl.bounce's detectors are written for.
    return email.message_from_bytes(bytes(raw), policy=policy.compat32)


def header(msg: Message, name: str) -> str:
    """A header's decoded value ("" when missing or unreadable), RFC 2047 words decoded."""
    value = msg.get(name)
    if value is None:
        return ""
    try:
        return str(make_header(decode_header(str(value)))).strip()
    except (LookupError, UnicodeError, ValueError, TypeError):
        return str(value).strip()


def address_of(value: str) -> str:
    """The bare address in a header value like "Anna <anna@example.de>" ("" when none)."""
    return parseaddr(value)[1].strip().lower()


def addresses_in(msg: Message, name: str) -> list[str]:
    """Every address in all headers called `name`."""
    values = [str(v) for v in msg.get_all(name, [])]
    return [a.strip() for _, a in getaddresses(values) if a.strip()]


def text_of(part: Message) -> str:
    """A leaf part's decoded text ("" when it has none)."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, "replace")
    except LookupError:
        return payload.decode("latin-1")


def notification_text(msg: Message) -> str:
    """The mail server's own words: text parts outside the returned message, cut where a
    plain-text bounce begins to quote it. HTML is used only when there is no plain text."""
    plain, html = [], []
    for part in own_leaves(msg):
        if part.get_content_type() == "text/plain":
            plain.append(text_of(part))
        elif part.get_content_type() == "text/html":
            html.append(_TAG.sub(" ", text_of(part)))
    text = "\n".join(plain or html)
    quote = _QUOTE_START.search(text)
    return text[: quote.start()] if quote else text


def own_leaves(msg: Message) -> Iterator[Message]:
    """Leaf parts of `msg`, without the returned message and the report parts."""
    if msg.get_content_type() in _ORIGINAL_TYPES + _REPORT_TYPES:
        return
    if msg.is_multipart():
        for sub in msg.get_payload():
            if isinstance(sub, Message):
                yield from own_leaves(sub)
        return
    yield msg


def original_headers(msg: Message) -> Message | None:
    """The headers of the returned message (message/rfc822 or text/rfc822-headers)."""
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
        elif kind in ("text/rfc822-headers", "message/rfc822-headers"):
            return HeaderParser(policy=policy.compat32).parsestr(text_of(part) or "")
    return None


def report_blocks(msg: Message, content_type: str) -> list[Message]:
    """The header blocks of every `content_type` part (message/delivery-status, ...)."""
    blocks: list[Message] = []
    for part in msg.walk():
        if part.get_content_type() != content_type:
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            blocks.extend(b for b in payload if isinstance(b, Message))
        elif isinstance(payload, str):
            # A report part sent base64- or quoted-printable-encoded is not parsed into blocks.
            blocks.extend(_blocks_of(text_of(part)))
    return blocks


def _blocks_of(text: str) -> list[Message]:
    parser = HeaderParser(policy=policy.compat32)
    chunks = re.split(r"\r?\n[ \t]*\r?\n", text.strip())
    return [parser.parsestr(chunk) for chunk in chunks if chunk.strip()]


def message_id(msg: Message | None) -> str | None:
    """The Message-ID of `msg` with its angle brackets, or None."""
    if msg is None:
        return None
    with contextlib.suppress(TypeError, ValueError):
        found = re.search(r"<[^<>\s]+@[^<>\s]+>", str(msg.get("Message-ID", "")))
        if found:
            return found[0]
    return None
