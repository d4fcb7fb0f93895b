"""The names of every state and kind Salonpost stores, each named once.

The models' check constraints are generated from these enums (``db.models``), so a value that is
not here cannot be stored; code compares with the members, never with a bare string (a test greps
the packages for status literals). The member order is the order of the constraint texts in the
migrations: append new values at the end and add an Alembic revision.

    CampaignStatus   draft -> queued -> sending -> done; paused and cancelled on the way
    CampaignKind     marketing (the gate applies) or transactional (one service message)
    DeliveryStatus   pending -> sending -> sent -> delivered; failed, skipped, unknown, cancelled
    Channel          sms, email
    Consent*         action, source and party of a consent event (C1)
    StopCode         why Salonpost itself stopped a delivery (``delivery.error_code``)
    PauseReason      why a campaign waits (``campaign.pause_reason``)
"""

from __future__ import annotations

from enum import StrEnum

# R3: staff may narrow the recency window, never widen it past three years.
MAX_WINDOW_MONTHS = 36


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    QUEUED = "queued"
    SENDING = "sending"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"


# A campaign that has been queued and has not ended: it can still be paused or cancelled.
RUNNING_CAMPAIGN = (CampaignStatus.QUEUED, CampaignStatus.SENDING, CampaignStatus.PAUSED)
# A campaign whose run is over or stopped: an in-process worker stops watching it.
FINISHED_CAMPAIGN = (CampaignStatus.DONE, CampaignStatus.CANCELLED)


class CampaignKind(StrEnum):
    MARKETING = "marketing"
    # One reminder, confirmation, review request or reconnect message (a service message).
    TRANSACTIONAL = "transactional"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    SKIPPED = "skipped"
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"


# Deliveries not settled yet: a campaign with one of them is not done.
OPEN_DELIVERY = (DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.UNKNOWN)
# Deliveries a provider was asked to take (the auto-pause judges the first of them).
ATTEMPTED_DELIVERY = (DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"


class ConsentAction(StrEnum):
    GRANTED = "granted"
    WITHDRAWN = "withdrawn"


class ConsentSource(StrEnum):
    ORAL = "oral"
    FORM = "form"
    LINK = "link"
    SMS_KEYWORD = "sms_keyword"
    IMPORT = "import"


# What staff may record in the salon (the other sources come from links, replies, imports).
STAFF_CONSENT_SOURCES = (ConsentSource.ORAL, ConsentSource.FORM)


class ConsentParty(StrEnum):
    CLIENT = "client"
    # A minor's parent or guardian (R6): their consent, and their address receives the message.
    GUARDIAN = "guardian"


class StopCode(StrEnum):
    """``delivery.error_code`` values Salonpost sets itself (providers' codes stand beside)."""

    TRANSIENT = "transient"
    CONFIGURATION = "configuration"
    CLAIM_LOST = "claim_lost"
    MAYBE_SENT = "maybe_sent"
    CANCELLED = "cancelled"
    PACED = "paced"
    OPERATOR_SENT = "operator_sent"
    OPERATOR_RESEND = "operator_resend"
    RECONCILED = "reconciled"
    RECONCILED_NOT_SENT = "reconciled_not_sent"


# Failed deliveries worth another try once the cause is fixed (not a refusal of the address).
RETRYABLE_STOPS = (
    StopCode.TRANSIENT,
    StopCode.CONFIGURATION,
    StopCode.CLAIM_LOST,
    StopCode.MAYBE_SENT,
)


class PauseReason(StrEnum):
    OPERATOR = "operator"
    # The dispatcher's own pause; the stored reason is "auto: " and what it saw.
    AUTO = "auto"

    def because(self, detail: str) -> str:
        """The stored ``pause_reason``: "operator", or "auto: <what the dispatcher saw>"."""
        return str(self) if not detail else f"{self}: {detail}"[:200]


def constraint(column: str, values: type[StrEnum]) -> str:
    """``column IN ('a', 'b', ...)`` for a check constraint, in the enum's member order."""
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"
