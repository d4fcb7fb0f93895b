"""What a bounce, complaint or provider event says: `BounceReport`, one per message or event.

Kinds (`BounceKind`), and what Salonpost does with each (see `bounces.actions`)::

    hard        the address does not exist (5.1.x, 5.2.1, 5.4.4)    suppress (R9 hard_bounce)
    soft        mailbox full (5.2.2), 4.x.x, passing trouble        count; 3 in 30 days suppress
    policy      blocked, spam, DMARC, our sender (x.7.x, 5.1.7/8)   never suppress; flag the salon
    auto_reply  out of office, vacation, challenge-response         ignore
    complaint   an ARF feedback report (RFC 5965), "spam" button    withdraw consent + suppress
    unknown     could not tell                                       keep it for an operator

A report lists each `Recipient` the message names. A bounce that names no address (the
receiving server only quoted an SMTP reply) has one recipient with ``address=None``: it means the
delivery's own address, and only counts when the report carries a `reference` (VERP).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from channels.bounces.verp import DeliveryRef


class BounceKind(StrEnum):
    HARD = "hard"
    SOFT = "soft"
    POLICY = "policy"
    AUTO_REPLY = "auto_reply"
    COMPLAINT = "complaint"
    UNKNOWN = "unknown"


# Which kind sums up a message that names several recipients: the most consequential one.
_PRECEDENCE = (
    BounceKind.COMPLAINT,
    BounceKind.HARD,
    BounceKind.POLICY,
    BounceKind.SOFT,
    BounceKind.AUTO_REPLY,
    BounceKind.UNKNOWN,
)


@dataclass(frozen=True)
class Recipient:
    """One address the bounce or complaint is about."""

    address: str | None  # lower-cased; None: the bounce did not name it (use the delivery's)
    kind: BounceKind
    status: str | None = None  # RFC 3463 status code, "5.1.1"
    diagnostic: str | None = None  # what the receiving server said, at most 500 characters
    # An RFC 3464 "delayed" warning: the server is still trying, nothing has failed yet.
    delayed: bool = False


@dataclass(frozen=True)
class Feedback:
    """The machine-readable part of an ARF complaint (RFC 5965 section 3.1)."""

    feedback_type: str  # abuse, fraud, virus, other, not-spam, auth-failure
    user_agent: str | None = None
    arrival_date: str | None = None
    source_ip: str | None = None
    reported_domain: str | None = None
    original_mail_from: str | None = None


@dataclass(frozen=True)
class BounceReport:
    """What one bounce message or provider event says, and why we read it so (`reason`)."""

    kind: BounceKind
    reason: str
    recipients: tuple[Recipient, ...] = ()
    reference: DeliveryRef | None = None  # from the VERP address, when the message carries one
    # The Message-ID of our message (the delivery's provider_id), when the bounce quotes it.
    original_message_id: str | None = None
    feedback: Feedback | None = None
    source: str = "mail"  # "mail", or the provider of a webhook event: "ses", "mailgun", ...

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(r.address for r in self.recipients if r.address)

    @property
    def status(self) -> str | None:
        return next((r.status for r in self.recipients if r.status), None)

    @property
    def diagnostic(self) -> str | None:
        return next((r.diagnostic for r in self.recipients if r.diagnostic), None)

    def recipient(self, address: str | None, *, delivery_found: bool = False) -> Recipient | None:
        """What the report says about `address`, a delivery's. A recipient the bounce did not
        name stands for the delivery's address only when the delivery is known for certain:
        by the VERP reference, or `delivery_found` by the caller (the original Message-ID)."""
        wanted = address.strip().lower() if address else None
        for r in self.recipients:
            if r.address is not None and r.address == wanted:
                return r
        if self.reference is not None or delivery_found:
            return next((r for r in self.recipients if r.address is None), None)
        return None


def summary_kind(recipients: tuple[Recipient, ...]) -> BounceKind:
    """The kind of a message naming these recipients: the most consequential of theirs."""
    kinds = {r.kind for r in recipients}
    return next((k for k in _PRECEDENCE if k in kinds), BounceKind.UNKNOWN)


def failure_report(source: str, recipients: tuple[Recipient, ...]) -> BounceReport:
    """The report of a bounce naming these recipients; the reason says what failed how."""
    kind = summary_kind(recipients)
    first = next(r for r in recipients if r.kind == kind)
    verb = "delayed" if all(r.delayed for r in recipients) else "failed"
    return BounceReport(
        kind=kind,
        reason=f"{source}: {verb}, status {first.status or 'none'}",
        recipients=recipients,
    )


def clip(text: str | None, limit: int = 500) -> str | None:
    """`text` on one line, whitespace collapsed, at most `limit` characters (delivery.error)."""
    if text is None:
        return None
    flat = " ".join(text.split())
    return (flat[: limit - 1] + "…" if len(flat) > limit else flat) or None


def normalise_address(raw: str | None) -> str | None:
    """An address as the gate stores it (lower-case, no angle brackets), or None."""
    if not raw:
        return None
    address = raw.strip().strip("<>").strip().lower()
    return address if "@" in address else None
