"""Campaign records: create, look up (scoped to a salon), counts for status and audience."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Campaign, Client, Delivery, Exclusion, Salon
from gate.campaign import CampaignCheck, CampaignTexts, check_campaign
from services.lookups import NotFound
from templates.links import UnsubscribeToken, unsubscribe_url


def get_campaign(session: Session, campaign_id: int, *, salon: Salon | None = None) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or (salon is not None and campaign.salon_id != salon.id):
        raise NotFound(f"no campaign {campaign_id}")
    return campaign


def texts_of(campaign: Campaign) -> CampaignTexts:
    return CampaignTexts(
        sms_body=campaign.sms_body,
        email_subject=campaign.email_subject,
        email_html=campaign.email_html,
        email_text=campaign.email_text,
    )


def longest_unsubscribe_url(
    session: Session, campaign: Campaign, *, base_url: str, secret_key: str
) -> str:
    """An unsubscribe URL as long as the longest one this campaign will send (SMS budget)."""
    largest = session.scalar(
        select(func.max(Client.id)).where(Client.salon_id == campaign.salon_id)
    )
    token = UnsubscribeToken(campaign.salon_id, largest or 1, "sms", campaign.id)
    return unsubscribe_url(token, base_url=base_url, secret_key=secret_key)


def validate(
    session: Session, campaign: Campaign, *, base_url: str, secret_key: str
) -> CampaignCheck:
    sample = longest_unsubscribe_url(session, campaign, base_url=base_url, secret_key=secret_key)
    return check_campaign(texts_of(campaign), sample_unsubscribe_url=sample)


def delivery_counts(session: Session, campaign_id: int) -> dict[str, dict[str, int]]:
    """channel -> status -> count."""
    counts: dict[str, dict[str, int]] = {}
    rows = session.execute(
        select(Delivery.channel, Delivery.status, func.count())
        .where(Delivery.campaign_id == campaign_id)
        .group_by(Delivery.channel, Delivery.status)
    )
    for channel, status, count in rows:
        counts.setdefault(channel, {})[status] = count
    return counts


def skipped_by_rule(session: Session, campaign_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Delivery.skip_rule, func.count())
        .where(Delivery.campaign_id == campaign_id, Delivery.status == "skipped")
        .group_by(Delivery.skip_rule)
    )
    return {rule or "-": count for rule, count in rows}


def stored_exclusions(session: Session, campaign_id: int) -> dict[str, dict[str, int]]:
    """channel -> rule -> count, from the snapshot written at planning."""
    result: dict[str, dict[str, int]] = {}
    rows = session.execute(
        select(Exclusion.channel, Exclusion.rule, func.count())
        .where(Exclusion.campaign_id == campaign_id)
        .group_by(Exclusion.channel, Exclusion.rule)
    )
    for channel, rule, count in rows:
        result.setdefault(channel, {})[rule] = count
    return result


def status_report(session: Session, campaign: Campaign) -> dict[str, Any]:
    counts = delivery_counts(session, campaign.id)
    totals: dict[str, int] = {}
    for per_status in counts.values():
        for status, count in per_status.items():
            totals[status] = totals.get(status, 0) + count

    def iso(value: dt.datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "campaign": campaign.id,
        "name": campaign.name,
        "status": campaign.status,
        "deliveries": totals,
        "by_channel": counts,
        "total": sum(totals.values()),
        "skipped_by_rule": skipped_by_rule(session, campaign.id),
        "queued_at": iso(campaign.queued_at),
        "finished_at": iso(campaign.finished_at),
    }
