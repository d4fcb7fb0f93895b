"""SQLAlchemy models: the data of DESIGN.md §3.

Every row carries its salon (``salon_id``), so that every query can be scoped to one salon.
Times are stored as naive UTC (see :class:`UTCDateTime`) so SQLite and PostgreSQL compare them
the same way; they come back as aware UTC datetimes.

The invariants live in constraints, not in code paths:

- ``delivery``: UNIQUE (campaign, client, channel) and UNIQUE (campaign, channel, address) make a
  second message to a client or an address within one campaign impossible, whatever retries or
  crashes happen;
- ``consent_event`` is append-only: the current consent is derived from the latest event.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from db.states import (
    MAX_WINDOW_MONTHS,
    CampaignKind,
    CampaignStatus,
    Channel,
    ConsentAction,
    ConsentParty,
    ConsentSource,
    DeliveryStatus,
    constraint,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware datetime stored as naive UTC, identical on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: Salonpost stores aware times only")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # raw SQL results on SQLite
            value = dt.datetime.fromisoformat(value)
        return value.replace(tzinfo=dt.UTC)  # type: ignore[no-any-return]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Salon(Base):
    __tablename__ = "salon"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Berlin")
    default_region: Mapped[str] = mapped_column(String(2), default="DE")
    # Clients created on or after this day need explicit consent (R5).
    gate_on: Mapped[dt.date] = mapped_column(Date)
    minor_age: Mapped[int] = mapped_column(Integer, default=16)
    window_months: Mapped[int] = mapped_column(Integer, default=MAX_WINDOW_MONTHS)
    retention_months: Mapped[int | None] = mapped_column(Integer)
    retention_enabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    quiet_start: Mapped[str] = mapped_column(String(5), default="20:00")
    quiet_end: Mapped[str] = mapped_column(String(5), default="08:00")
    sms_sender: Mapped[str | None] = mapped_column(String(32))
    email_from: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("minor_age BETWEEN 0 AND 21", name="minor_age"),
        CheckConstraint(f"window_months BETWEEN 1 AND {MAX_WINDOW_MONTHS}", name="window_months"),
    )


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    salon_id: Mapped[int] = mapped_column(ForeignKey("salon.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32), default="marketing")
    pin_hash: Mapped[str | None] = mapped_column(String(255))
    failed_pins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Lock-outs since the last correct PIN: each one locks twice as long as the one before.
    lockouts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("salon_id", "name"),)


class Client(Base):
    __tablename__ = "client"

    id: Mapped[int] = mapped_column(primary_key=True)
    salon_id: Mapped[int] = mapped_column(ForeignKey("salon.id"))
    ref: Mapped[str] = mapped_column(String(64))
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    # As entered, and normalised (E.164 / checked address) or NULL when invalid (R8).
    phone: Mapped[str | None] = mapped_column(String(64))
    phone_e164: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(320))
    email_normalized: Mapped[str | None] = mapped_column(String(320))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    guardian_name: Mapped[str | None] = mapped_column(String(200))
    guardian_phone: Mapped[str | None] = mapped_column(String(64))
    guardian_phone_e164: Mapped[str | None] = mapped_column(String(20))
    guardian_email: Mapped[str | None] = mapped_column(String(320))
    guardian_email_normalized: Mapped[str | None] = mapped_column(String(320))
    notes: Mapped[str | None] = mapped_column(Text)
    no_reminders: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set for clients taken over from earlier software: only later visits count (R3).
    imported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    anonymised_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("salon_id", "ref"),
        # One salon's clients in id order, the order the audience query merges visits and
        # consent in, without walking every other salon's clients (revision 0002); unique, so
        # deliveries and exclusions can name their client with its salon (revision 0004).
        UniqueConstraint("salon_id", "id"),
    )


class Visit(Base):
    __tablename__ = "visit"

    id: Mapped[int] = mapped_column(primary_key=True)
    salon_id: Mapped[int] = mapped_column(ForeignKey("salon.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id"))
    visited_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"))
    source: Mapped[str] = mapped_column(String(32), default="import")

    __table_args__ = (
        Index("ix_visit_client_visited", "client_id", "visited_at"),
        # R3 reads only purchases: a salon's, per client, in client order, from the index
        # alone (revision 0002). The audience query repeats ``amount > 0`` literally to use it.
        Index(
            "ix_visit_salon_purchase",
            "salon_id",
            "client_id",
            "visited_at",
            postgresql_where=text("amount > 0"),
            sqlite_where=text("amount > 0"),
        ),
        UniqueConstraint("client_id", "visited_at", "amount"),
    )


class ConsentEvent(Base):
    """Append-only: never updated, never deleted (C2)."""

    __tablename__ = "consent_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    salon_id: Mapped[int] = mapped_column(ForeignKey("salon.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id"))
    channel: Mapped[str] = mapped_column(String(8))
    # "client": the client's own marketing consent; "guardian": a minor's guardian's (R6).
    party: Mapped[str] = mapped_column(String(8), default=ConsentParty.CLIENT)
    action: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(16))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"))
    evidence: Mapped[str | None] = mapped_column(String(500))
    # Provider's id of the message that caused it (SMS STOP), to make webhooks idempotent.
    dedupe_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_consent_client_channel", "client_id", "channel", "party", "id"),
        # The current consent of all a salon's clients on a channel, in client order, from the
        # index alone (revision 0002): every column the audience query reads is in it.
        Index(
            "ix_consent_salon_channel", "salon_id", "channel", "client_id", "party", "id", "action"
        ),
        CheckConstraint(constraint("channel", Channel), name="channel"),
        CheckConstraint(constraint("action", ConsentAction), name="action"),
        CheckConstraint(constraint("source", ConsentSource), name="source"),
        CheckConstraint(constraint("party", ConsentParty), name="party"),
    )


class Campaign(Base):
    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    salon_id: Mapped[int] = mapped_column(ForeignKey("salon.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    sms_body: Mapped[str | None] = mapped_column(Text)
    email_subject: Mapped[str | None] = mapped_column(String(500))
    email_html: Mapped[str | None] = mapped_column(Text)
    email_text: Mapped[str | None] = mapped_column(Text)
    window_months: Mapped[int] = mapped_column(Integer, default=MAX_WINDOW_MONTHS)
    status: Mapped[str] = mapped_column(String(12), default=CampaignStatus.DRAFT)
    kind: Mapped[str] = mapped_column(
        String(16), default=CampaignKind.MARKETING, server_default=CampaignKind.MARKETING.value
    )
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    queued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    planned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Why a paused campaign waits: "operator", or the dispatcher's own reason (auto-pause).
    pause_reason: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        # What deliveries and exclusions refer to: a campaign with its salon (revision 0004).
        UniqueConstraint("salon_id", "id"),
        CheckConstraint(constraint("status", CampaignStatus), name="status"),
        CheckConstraint(f"window_months BETWEEN 1 AND {MAX_WINDOW_MONTHS}", name="window_months"),
        CheckConstraint(constraint("kind", CampaignKind), name="kind"),
    )

    @property
    def channels(self) -> tuple[str, ...]:
        found = []
        if self.sms_body is not None:
            found.append(Channel.SMS)
        if self.email_subject is not None or self.email_html is not None:
            found.append(Channel.EMAIL)
        return tuple(found)


def _same_salon() -> tuple[ForeignKeyConstraint, ForeignKeyConstraint]:
    """A delivery's or exclusion's campaign and client, each with the row's own salon.

    Why composite: the database itself then refuses a delivery whose client or campaign is
    another salon's, and a planning INSERT checks two references per row instead of three
    (the salon, the campaign and the client each alone): the checks were most of its cost."""
    return (
        ForeignKeyConstraint(["salon_id", "campaign_id"], ["campaign.salon_id", "campaign.id"]),
        ForeignKeyConstraint(["salon_id", "client_id"], ["client.salon_id", "client.id"]),
    )


class Delivery(Base):
    __tablename__ = "delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Referenced together with the salon (see _same_salon), not each alone.
    salon_id: Mapped[int] = mapped_column(Integer)
    campaign_id: Mapped[int] = mapped_column(Integer)
    client_id: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(8))
    address: Mapped[str | None] = mapped_column(String(320))
    # "client", or "guardian" when a minor's message goes to the guardian (R6).
    recipient: Mapped[str] = mapped_column(String(8), default=ConsentParty.CLIENT)
    status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.PENDING)
    skip_rule: Mapped[str | None] = mapped_column(String(4))
    provider_id: Mapped[str | None] = mapped_column(String(200))
    error_code: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # A transient failure waits until then (exponential backoff, or the provider's Retry-After).
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        *_same_salon(),
        UniqueConstraint("campaign_id", "client_id", "channel"),
        UniqueConstraint("campaign_id", "channel", "address"),
        Index("ix_delivery_campaign_status", "campaign_id", "status"),
        # Status callbacks find their delivery by the provider's message id; only handed-off
        # deliveries have one, and only they are indexed (revision 0003).
        Index(
            "ix_delivery_provider_id",
            "provider_id",
            postgresql_where=text("provider_id IS NOT NULL"),
            sqlite_where=text("provider_id IS NOT NULL"),
        ),
        CheckConstraint(constraint("status", DeliveryStatus), name="status"),
        CheckConstraint(constraint("channel", Channel), name="channel"),
    )


class Exclusion(Base):
    """Why a client gets no message of a campaign on a channel: the first rule that failed."""

    __tablename__ = "exclusion"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Referenced together with the salon (see _same_salon), not each alone.
    salon_id: Mapped[int] = mapped_column(Integer)
    campaign_id: Mapped[int] = mapped_column(Integer)
    client_id: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(8))
    rule: Mapped[str] = mapped_column(String(4))
    reason: Mapped[str] = mapped_column(String(40))

    __table_args__ = (
        *_same_salon(),
        UniqueConstraint("campaign_id", "client_id", "channel"),
        Index("ix_exclusion_campaign_rule", "campaign_id", "rule"),
    )


class Suppression(Base):
    """An address the salon must not message again on a channel (R9)."""

    __tablename__ = "suppression"

    id: Mapped[int] = mapped_column(primary_key=True)
    salon_id: Mapped[int] = mapped_column(ForeignKey("salon.id"))
    channel: Mapped[str] = mapped_column(String(8))
    address: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("salon_id", "channel", "address"),)


class AccessLog(Base):
    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    salon_id: Mapped[int] = mapped_column(ForeignKey("salon.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # Who acted when no staff member did: "operator" (CLI without a PIN), "retention".
    actor: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(40))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("client.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"))
    detail: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_access_log_salon_at", "salon_id", "at"),)


class RetentionRun(Base):
    """One automatic-forgetting run of a salon (G2), keyed by its scheduled night.

    UNIQUE (salon, due_at) makes a second run of the same night a no-op; a run without
    ``finished_at`` crashed and is resumed (its chunks were committed as it went).
    """

    __tablename__ = "retention_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    salon_id: Mapped[int] = mapped_column(ForeignKey("salon.id"))
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # Clients with no visit and not created or imported since then are anonymised.
    cutoff: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    anonymised: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("salon_id", "due_at"),)


class InboundMessage(Base):
    """An SMS reply that is not a keyword: kept for staff, never read as consent."""

    __tablename__ = "inbound_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    salon_id: Mapped[int] = mapped_column(ForeignKey("salon.id"))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("client.id"))
    from_address: Mapped[str | None] = mapped_column(String(20))
    to_address: Mapped[str | None] = mapped_column(String(20))
    body: Mapped[str | None] = mapped_column(Text)
    provider_id: Mapped[str] = mapped_column(String(64), unique=True)
    keyword: Mapped[str | None] = mapped_column(String(16))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    handled_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    handled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_inbound_message_salon_received", "salon_id", "received_at"),)
