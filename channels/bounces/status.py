"""From an RFC 3463 status code (and the server's words) to a `BounceKind`.

Shared by the mail intake (DSN fields, free-form bounce texts) and the provider webhooks::

    2.x.x                         not a failure (None)
    x.7.x                         policy   blocked, spam, DMARC/SPF/DKIM, reputation, greylisting:
                                           about our sending, never the client's address; in
                                           the 4 class too, so rate limits never add up to a
                                           client's suppression
    5.1.7, 5.1.8                  policy   our sender address is bad
    5.2.3, 5.3.4, 5.6.x           policy   our message is too large or its content was refused
    4.x.x                         soft
    5.1.0-4, 5.1.6, 5.1.10        hard     no such mailbox / domain, bad syntax, moved, null MX
    5.2.1, 5.4.4                  hard     mailbox disabled, no route to the domain
    5.2.x, 5.3.x, 5.4.x           soft     mailbox full (5.2.2), system full, delivery expired
    5.0.x, 5.5.x, other           the server's words decide, else unknown

Why the words only decide for unspecific codes: a specific code is the server's considered
answer, while words are guessed at; a wrong "hard" suppresses a client who can still be reached,
so when the words are unclear the answer is unknown (an operator looks), not hard.
"""

from __future__ import annotations

import re

from channels.bounces.report import BounceKind

# Subject codes are 0-7 (RFC 3463); the look-arounds keep IP addresses and versions out.
STATUS = re.compile(r"(?<![\w.])([245])\.([0-7])\.(\d{1,3})(?!\.?\d)", re.ASCII)
# A basic SMTP reply code where a reply starts: line start, after "said:" or "; ".
REPLY = re.compile(r"(?:^\s*|[:;]\s*|\bsaid:?\s+)([245][0-5]\d)(?=[\s-])", re.ASCII | re.MULTILINE)

_BAD_ADDRESS = {(1, 0), (1, 1), (1, 2), (1, 3), (1, 4), (1, 6), (1, 10), (2, 1), (4, 4)}
_OUR_SIDE = {(1, 7), (1, 8), (2, 3), (3, 4)}

_POLICY_WORDS = (
    "spam", "blocked", "block list", "blocklist", "blacklist", "denylist", "policy",
    "reputation", "dmarc", "spf", "dkim", "spamhaus", "rbl", "prohibited", "not authorized",
    "unauthenticated", "rate limit", "too many messages", "gesperrt", "richtlinie",
)  # fmt: skip
_FULL_WORDS = (
    "mailbox full", "mailbox is full", "over quota", "quota exceeded", "exceeded storage",
    "insufficient storage", "mailbox quota", "mailbox size limit", "postfach voll",
    "postfach ist voll", "speicherplatz", "speicherkontingent",
)  # fmt: skip
_NO_ADDRESS_WORDS = (
    "user unknown", "unknown user", "no such user", "no such mailbox", "no such recipient",
    "does not exist", "doesn't exist", "unknown recipient", "recipient unknown",
    "invalid recipient", "recipient not found", "address not found", "mailbox not found",
    "no mailbox here", "unrouteable address", "account disabled", "account has been disabled",
    "not a valid mailbox", "address rejected: user unknown", "benutzer unbekannt",
    "empfänger unbekannt", "existiert nicht", "unbekannter empfänger",
)  # fmt: skip


def _any_of(words: tuple[str, ...]) -> re.Pattern[str]:
    # Whole words only: "rbl" must not match "verbleibend".
    return re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b", re.IGNORECASE)


# Checked in this order: a doubt about our sending wins, an unknown address comes last.
_WORDS = (
    (_any_of(_POLICY_WORDS), BounceKind.POLICY),
    (_any_of(_FULL_WORDS), BounceKind.SOFT),
    (_any_of(_NO_ADDRESS_WORDS), BounceKind.HARD),
)


def kind_of_status(status: str, diagnostic: str | None = None) -> BounceKind | None:
    """The kind for a status code like "5.1.1"; None for a success (2.x.x). A code more specific
    than an unspecific ``Status`` (x.0.0) in the same class inside `diagnostic` is preferred."""
    parsed = parse_status(status)
    if parsed is None:
        return kind_of_words(diagnostic) or BounceKind.UNKNOWN
    klass, subject, detail = parsed
    if (subject, detail) == (0, 0) and diagnostic:
        better = parse_status(find_status(diagnostic) or "")
        if better is not None and better[0] == klass:
            klass, subject, detail = better
    return _kind(klass, subject, detail, diagnostic)


def _kind(klass: int, subject: int, detail: int, diagnostic: str | None) -> BounceKind | None:
    if klass == 2:
        return None
    if subject == 7 or subject == 6 or (subject, detail) in _OUR_SIDE:
        return BounceKind.POLICY
    if klass == 4:
        return BounceKind.SOFT
    if (subject, detail) in _BAD_ADDRESS:
        return BounceKind.HARD
    if subject in (2, 3, 4):
        return BounceKind.SOFT
    return kind_of_words(diagnostic) or BounceKind.UNKNOWN


def kind_of_words(text: str | None) -> BounceKind | None:
    """Policy, soft or hard by the server's words (German or English), or None."""
    if not text:
        return None
    flat = " ".join(text.split())
    return next((kind for words, kind in _WORDS if words.search(flat)), None)


def kind_of_text(text: str, *, temporary: bool = False) -> tuple[BounceKind, str | None]:
    """The kind and status code of a free-form failure text: an enhanced code when there is
    one, else the basic reply code and the words. `temporary`: the bounce itself said so."""
    status = find_status(text)
    if status is not None:
        return kind_of_status(status, text) or BounceKind.UNKNOWN, status
    reply = REPLY.search(text)
    by_words = kind_of_words(text)
    if by_words is not None:
        return by_words, None
    if (reply is not None and reply[1].startswith("4")) or temporary:
        return BounceKind.SOFT, None
    if reply is not None and reply[1] == "552":
        return BounceKind.SOFT, None  # RFC 5321: exceeded storage allocation
    return BounceKind.UNKNOWN, None


def find_status(text: str) -> str | None:
    """The first failure status code (4.x.x or 5.x.x) in `text`."""
    for match in STATUS.finditer(text):
        if match[1] != "2":
            return ".".join(match.groups())
    return None


def parse_status(status: str) -> tuple[int, int, int] | None:
    """(class, subject, detail) of "5.1.1", or None when it is not a status code."""
    match = STATUS.search(status.strip())
    if match is None:
        return None
    return int(match[1]), int(match[2]), int(match[3])


_REPLY_PREFIX = re.compile(r"\s*([245]\d\d)[ -](?:([245]\.\d{1,3}\.\d{1,3})\s+)?", re.ASCII)


def tidy_reply(text: str) -> str:
    """A multi-line SMTP reply as one line: ``550-5.1.1 The email ... 550-5.1.1 double-checking
    ...`` → ``550 5.1.1 The email ... double-checking ...`` (its repeated prefixes dropped)."""
    first = _REPLY_PREFIX.match(text)
    if first is None:
        return text
    code, status = first[1], first[2]
    lead = f"{code} {status} " if status else f"{code} "
    again = rf"\s{code}[ -]{re.escape(status)}\s+" if status else rf"\s{code}[ -]"
    return lead + re.sub(again, " ", text[first.end() :])
