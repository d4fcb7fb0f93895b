"""Operators steer a running campaign: pause, resume, cancel, retry the failed; progress and ETA.

Every function takes a session and changes rows only; the caller commits and then enqueues
(``plan_campaign`` re-enqueues the pending batches of a sending campaign), so a resume that
loses its queue message is still picked up by the sweep.

The dispatcher pauses a campaign itself when its permanent failures pass a threshold early
(more than 20% of the first 100 attempts: a bad list or a blocked sender) or when the channel
is misconfigured; ``retry_failed`` then re-queues the transient failures once the cause is fixed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypedDict

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from db.models import Campaign, Delivery, utcnow
from db.states import (
    ATTEMPTED_DELIVERY,
    OPEN_DELIVERY,
    RETRYABLE_STOPS,
    RUNNING_CAMPAIGN,
    CampaignStatus,
    DeliveryStatus,
    PauseReason,
    StopCode,
)

AUTO_PAUSE_SAMPLE = 100  # the first attempts that are judged
AUTO_PAUSE_MIN = 20  # fewer attempts say too little
AUTO_PAUSE_RATIO = 0.2


class ControlError(ValueError):
    """The campaign is not in a state that allows the action."""


def _campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id, with_for_update=True, populate_existing=True)
    if campaign is None:
        raise ControlError(f"no campaign {campaign_id}")
    return campaign


def pause(session: Session, campaign_id: int, *, reason: str = PauseReason.OPERATOR) -> Campaign:
    """Stop handing off: chunks in flight finish, nothing new is claimed."""
    campaign = _campaign(session, campaign_id)
    if campaign.status not in (CampaignStatus.QUEUED, CampaignStatus.SENDING):
        raise ControlError(f"campaign {campaign_id} is {campaign.status}, not sending")
    campaign.status, campaign.pause_reason = CampaignStatus.PAUSED, reason[:200]
    return campaign


def resume(session: Session, campaign_id: int) -> Campaign:
    campaign = _campaign(session, campaign_id)
    if campaign.status != CampaignStatus.PAUSED:
        raise ControlError(f"campaign {campaign_id} is {campaign.status}, not paused")
    campaign.status = CampaignStatus.SENDING if campaign.planned_at else CampaignStatus.QUEUED
    campaign.pause_reason = None
    return campaign


def cancel(session: Session, campaign_id: int) -> int:
    """Cancel the campaign; its pending deliveries end ``cancelled``. Returns how many."""
    campaign = _campaign(session, campaign_id)
    if campaign.status not in RUNNING_CAMPAIGN:
        raise ControlError(f"campaign {campaign_id} is {campaign.status}")
    now = utcnow()
    campaign.status, campaign.finished_at = CampaignStatus.CANCELLED, now
    result = session.execute(
        update(Delivery)
        .where(Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.CANCELLED, error_code=StopCode.CANCELLED, updated_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def retry_failed(session: Session, campaign_id: int) -> int:
    """Re-queue deliveries that failed for a passing cause; the campaign sends again."""
    campaign = _campaign(session, campaign_id)
    if campaign.status not in (CampaignStatus.SENDING, CampaignStatus.PAUSED, CampaignStatus.DONE):
        raise ControlError(f"campaign {campaign_id} is {campaign.status}")
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.campaign_id == campaign_id,
            Delivery.status == DeliveryStatus.FAILED,
            Delivery.error_code.in_(RETRYABLE_STOPS),
        )
        .values(
            status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=None, updated_at=utcnow()
        )
    )
    campaign.status, campaign.pause_reason, campaign.finished_at = (
        CampaignStatus.SENDING,
        None,
        None,
    )
    return int(getattr(result, "rowcount", 0) or 0)


def resolve_unknown(session: Session, campaign_id: int, *, sent: bool) -> int:
    """The operator's decision on deliveries no provider could settle (SMTP): ``sent`` records
    them as sent, otherwise they are sent again (the client may get the message twice)."""
    values: dict[str, Any] = (
        {"status": DeliveryStatus.SENT, "error_code": StopCode.OPERATOR_SENT}
        if sent
        else {
            "status": DeliveryStatus.PENDING,
            "error_code": StopCode.OPERATOR_RESEND,
            "next_attempt_at": None,
        }
    )
    result = session.execute(
        update(Delivery)
        .where(Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.UNKNOWN)
        .values(updated_at=utcnow(), **values)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def after_chunk(session: Session, campaign_id: int, result: Any) -> None:
    """Pause the campaign when its sender is misconfigured or too many sends fail early."""
    if result.stopped == StopCode.CONFIGURATION:
        _auto_pause(session, campaign_id, f"configuration: {result.detail}")
        return
    if not result.failed:
        return
    attempted, failed = session.execute(
        select(
            func.count().filter(Delivery.status.in_(ATTEMPTED_DELIVERY)),
            func.count().filter(
                Delivery.status == DeliveryStatus.FAILED,
                Delivery.error_code.not_in(RETRYABLE_STOPS),
            ),
        ).where(Delivery.campaign_id == campaign_id)
    ).one()
    # Judged on the first attempts only: a long campaign with a few bad numbers goes on.
    if AUTO_PAUSE_MIN <= attempted <= AUTO_PAUSE_SAMPLE and failed > AUTO_PAUSE_RATIO * attempted:
        _auto_pause(session, campaign_id, f"{failed} of the first {attempted} sends failed")


def _auto_pause(session: Session, campaign_id: int, reason: str) -> None:
    session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status == CampaignStatus.SENDING)
        .values(status=CampaignStatus.PAUSED, pause_reason=PauseReason.AUTO.because(reason))
    )


class Progress(TypedDict):
    """A campaign's progress (``campaign status --json``'s ``progress``)."""

    total: int
    done: int
    open: int
    unknown: int
    percent: float
    rate_per_second: float
    eta_seconds: int | None
    pause_reason: str | None


def progress(session: Session, campaign: Campaign, *, now: dt.datetime | None = None) -> Progress:
    """Done and open deliveries, the send rate of the last minute and the time left at it."""
    now = now or utcnow()
    window = dt.timedelta(seconds=60)
    total, open_, unknown, recent = session.execute(
        select(
            func.count(),
            func.count().filter(Delivery.status.in_(OPEN_DELIVERY)),
            func.count().filter(Delivery.status == DeliveryStatus.UNKNOWN),
            func.count().filter(Delivery.sent_at >= now - window),
        ).where(Delivery.campaign_id == campaign.id)
    ).one()
    since = max(campaign.planned_at or now - window, now - window)
    elapsed = max((now - since).total_seconds(), 1.0)
    rate = recent / elapsed
    waiting = campaign.status == CampaignStatus.SENDING and open_
    return {
        "total": total,
        "done": total - open_,
        "open": open_,
        "unknown": unknown,
        "percent": round(100 * (total - open_) / total, 1) if total else 100.0,
        "rate_per_second": round(rate, 2),
        "eta_seconds": round(open_ / rate) if waiting and rate else None,
        "pause_reason": campaign.pause_reason,
    }
