"""What Salonpost does with a bounce or complaint: pure decisions over plain data.

::

    kind         consequence                                                        rule
    hard         suppress the address (reason hard_bounce)                          R9
    soft         record it; the third message soft-bounced within 30 days           R9
                 suppresses the address (soft_bounce)
      delayed    a "still trying" warning: nothing (the final failure counts)
    policy       flag the salon's sending set-up on the ops page; never suppress
    complaint    withdraw email consent (source "complaint") and suppress           R4, R9
                 (reason complaint)
    auto_reply   nothing: out of office is no unsubscribe
    unknown      nothing; kept for an operator to read

Soft bounces count per message: the warnings and the final failure of one delivery are one.

Complaint rate (`sending_health`): a salon whose complaints over the last 30 days exceed 0.3 %
of the marketing emails it sent in that time (the Gmail/Yahoo bulk-sender limit) has its email
marketing paused (R9). Why at least 1,000 messages are counted: at a small salon one or two
complaints would otherwise stop all its email; below 1,000 sent, four complaints in 30 days
(0.4 % of 1,000) pause it, at 10,000 sent it takes 31.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Literal

from channels.bounces.report import BounceKind, Recipient

Language = Literal["de", "en"]
SOFT_BOUNCE_WINDOW = dt.timedelta(days=30)
SOFT_BOUNCE_LIMIT = 3
COMPLAINT_RATE_LIMIT = 0.003
COMPLAINT_WINDOW = dt.timedelta(days=30)
MINIMUM_VOLUME = 1000
# The consent_event.source of a withdrawal made by a complaint (C4: an objection counts
# however it arrives).
COMPLAINT_SOURCE = "complaint"


class SuppressionReason(StrEnum):
    HARD_BOUNCE = "hard_bounce"
    SOFT_BOUNCE = "soft_bounce"
    COMPLAINT = "complaint"


@dataclass(frozen=True)
class SoftBounce:
    """A soft bounce already recorded for the address."""

    at: dt.datetime
    delivery_id: int | None = None  # None: a bounce that named no delivery counts on its own


@dataclass(frozen=True)
class Consequence:
    """What to do for one recipient of a report; `code` names it for logs and texts."""

    code: str
    suppress: SuppressionReason | None = None
    withdraw_email_consent: bool = False
    flag_salon: bool = False
    record_soft_bounce: bool = False
    rules: tuple[str, ...] = ()

    def text(self, language: Language) -> str:
        return MESSAGES[self.code][language]


MESSAGES: dict[str, dict[Language, str]] = {
    "hard_bounce": {
        "en": "The email address does not exist: it is suppressed (R9).",
        "de": "Die E-Mail-Adresse existiert nicht: sie ist gesperrt (R9).",
    },
    "soft_bounce": {
        "en": "Three emails in 30 days could not be delivered: the address is suppressed (R9).",
        "de": "Drei E-Mails in 30 Tagen kamen nicht an: die Adresse ist gesperrt (R9).",
    },
    "soft_bounce_counted": {
        "en": "The email could not be delivered for now (for example a full mailbox).",
        "de": "Die E-Mail kam vorerst nicht an (zum Beispiel ein volles Postfach).",
    },
    "delayed": {
        "en": "Delivery is delayed; the mail server keeps trying.",
        "de": "Die Zustellung verzögert sich; der Mailserver versucht es weiter.",
    },
    "policy": {
        "en": "The receiving server refused our sending (blocklist, spam filter, DKIM/DMARC): "
        "check the salon's email set-up; the client's address stays.",
        "de": "Der empfangende Server hat unseren Versand abgelehnt (Sperrliste, Spamfilter, "
        "DKIM/DMARC): E-Mail-Einrichtung des Salons prüfen; die Adresse der Kundin bleibt.",
    },
    "complaint": {
        "en": "The client marked the email as spam: email consent withdrawn (R4) and the "
        "address suppressed (R9).",
        "de": "Die Kundin hat die E-Mail als Spam gemeldet: E-Mail-Einwilligung widerrufen (R4) "
        "und Adresse gesperrt (R9).",
    },
    "auto_reply": {
        "en": "An automatic reply (out of office): nothing changes.",
        "de": "Eine automatische Antwort (Abwesenheitsnotiz): es ändert sich nichts.",
    },
    "unknown": {
        "en": "The message could not be read as a bounce: nothing changes; an operator may look.",
        "de": "Die Nachricht war als Rückläufer nicht lesbar: es ändert sich nichts.",
    },
}


def decide(
    recipient: Recipient,
    *,
    at: dt.datetime,
    delivery_id: int | None = None,
    earlier_soft_bounces: Iterable[SoftBounce] = (),
) -> Consequence:
    """The consequence of what a report says about one recipient, at time `at`.

    `earlier_soft_bounces`: the soft bounces already recorded for the address (any age; only
    the last 30 days count). `delivery_id`: the delivery this bounce is about, if known.
    """
    kind = recipient.kind
    if kind == BounceKind.HARD and not recipient.delayed:
        return Consequence("hard_bounce", suppress=SuppressionReason.HARD_BOUNCE, rules=("R9",))
    if kind == BounceKind.COMPLAINT:
        return Consequence(
            "complaint",
            suppress=SuppressionReason.COMPLAINT,
            withdraw_email_consent=True,
            rules=("R4", "R9"),
        )
    if kind == BounceKind.POLICY:
        return Consequence("policy", flag_salon=True)
    if recipient.delayed:
        return Consequence("delayed")
    if kind == BounceKind.SOFT:
        return _soft(at, delivery_id, earlier_soft_bounces)
    return Consequence("auto_reply" if kind == BounceKind.AUTO_REPLY else "unknown")


def _soft(at: dt.datetime, delivery_id: int | None, earlier: Iterable[SoftBounce]) -> Consequence:
    bounces = [*earlier, SoftBounce(at=at, delivery_id=delivery_id)]
    if soft_bounces_suppress(bounces, now=at):
        return Consequence(
            "soft_bounce",
            suppress=SuppressionReason.SOFT_BOUNCE,
            record_soft_bounce=True,
            rules=("R9",),
        )
    return Consequence("soft_bounce_counted", record_soft_bounce=True)


def soft_bounces_suppress(
    bounces: Iterable[SoftBounce],
    *,
    now: dt.datetime,
    window: dt.timedelta = SOFT_BOUNCE_WINDOW,
    limit: int = SOFT_BOUNCE_LIMIT,
) -> bool:
    """Whether `limit` different messages soft-bounced within `window` up to `now`."""
    messages: set[object] = set()
    for index, bounce in enumerate(bounces):
        if now - window < bounce.at <= now:
            messages.add(bounce.delivery_id if bounce.delivery_id is not None else ("n", index))
    return len(messages) >= limit


@dataclass(frozen=True)
class SendingHealth:
    """A salon's email sending over the last 30 days, for the ops page and the pause."""

    sent: int
    bounced: int
    complaints: int
    bounce_rate: float  # bounced / sent (0 when nothing was sent)
    complaint_rate: float  # complaints / sent (0 when nothing was sent)
    pause_email_marketing: bool
    limit: float = COMPLAINT_RATE_LIMIT

    def pause_reason(self, language: Language) -> str | None:
        """Why email marketing is paused, for staff and the ops page; None when it is not."""
        if not self.pause_email_marketing:
            return None
        rate, limit = _percent(self.complaint_rate, language), _percent(self.limit, language)
        if language == "de":
            return (
                f"E-Mail-Marketing pausiert (R9): {self.complaints} Spam-Beschwerden in 30 Tagen, "
                f"{rate} der gesendeten E-Mails (Grenze {limit})"
            )
        return (
            f"email marketing paused (R9): {self.complaints} spam complaints in 30 days, "
            f"{rate} of the emails sent (limit {limit})"
        )


def sending_health(
    *,
    sent: int,
    bounced: int,
    complaints: int,
    limit: float = COMPLAINT_RATE_LIMIT,
    minimum_volume: int = MINIMUM_VOLUME,
) -> SendingHealth:
    """Bounce and complaint rates from 30-day counts, and whether to pause email marketing:
    complaints above `limit` of the messages sent, counted against at least `minimum_volume`."""
    for name, value in (("sent", sent), ("bounced", bounced), ("complaints", complaints)):
        if value < 0:
            raise ValueError(f"{name} cannot be negative: {value}")
    if not 0 < limit < 1 or minimum_volume < 1:
        raise ValueError(f"limit must be a share between 0 and 1 ({limit}), volume at least 1")
    return SendingHealth(
        sent=sent,
        bounced=bounced,
        complaints=complaints,
        bounce_rate=bounced / sent if sent else 0.0,
        complaint_rate=complaints / sent if sent else 0.0,
        # Exact arithmetic: 3 complaints in 1,000 are at the limit, not over it.
        pause_email_marketing=Fraction(complaints, max(sent, minimum_volume))
        > Fraction(str(limit)),
        limit=limit,
    )


def _percent(share: float, language: Language) -> str:
    text = f"{share * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text.replace('.', ',')} %" if language == "de" else f"{text} %"
