"""A campaign's documents: status with progress, the staff report, and the audience per rule.

These are the ``--json`` documents of ``salonpost campaign status|validate|audience`` (their keys
are a contract, listed in the README; a test compares them) and what the staff pages show.
Reading a campaign's figures is not logged; the audience names clients, so it is (G4).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any, NotRequired, TypedDict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.access import Actor, log_access
from db.models import Campaign, Client, Delivery, Exclusion, Salon
from db.states import CampaignKind, DeliveryStatus
from dispatcher.control import Progress, progress
from dispatcher.planning import live_audience, live_exclusions
from services.campaigns import Validation
from services.lookups import get_campaign


class StatusDocument(TypedDict):
    """``campaign status --json``."""

    campaign: int
    name: str
    status: str
    deliveries: dict[str, int]
    by_channel: dict[str, dict[str, int]]
    total: int
    skipped_by_rule: dict[str, int]
    queued_at: str | None
    finished_at: str | None
    progress: Progress


class ReportDocument(StatusDocument):
    """The staff page's report: the status plus failures by code and exclusions by rule."""

    failed_by_code: dict[str, int]
    excluded_by_rule: dict[str, int]


class ValidationDocument(TypedDict):
    """``campaign validate --json``."""

    campaign: int
    valid: bool
    problems: list[dict[str, Any]]
    sms: dict[str, Any] | None
    sms_total: dict[str, Any] | None


class ExcludedRow(TypedDict):
    client: str
    channel: str
    rule: str
    reason: str


class AudienceDocument(TypedDict):
    """``campaign audience --json`` (``excluded`` with ``--detail``)."""

    campaign: int
    source: str
    recipients: dict[str, int]
    exclusions: dict[str, dict[str, int]]
    exclusions_total: dict[str, int]
    excluded: NotRequired[list[ExcludedRow]]


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


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


def _counted(session: Session, column: Any, campaign_id: int, status: str) -> dict[str, int]:
    rows = session.execute(
        select(column, func.count())
        .where(Delivery.campaign_id == campaign_id, Delivery.status == status)
        .group_by(column)
    )
    return {key or "-": int(count) for key, count in rows}


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


def _status_of(session: Session, campaign: Campaign) -> StatusDocument:
    counts = delivery_counts(session, campaign.id)
    totals: dict[str, int] = {}
    for per_status in counts.values():
        for status, count in per_status.items():
            totals[status] = totals.get(status, 0) + count
    return {
        "campaign": campaign.id,
        "name": campaign.name,
        "status": campaign.status,
        "deliveries": totals,
        "by_channel": counts,
        "total": sum(totals.values()),
        "skipped_by_rule": _counted(
            session, Delivery.skip_rule, campaign.id, DeliveryStatus.SKIPPED
        ),
        "queued_at": _iso(campaign.queued_at),
        "finished_at": _iso(campaign.finished_at),
        "progress": progress(session, campaign),
    }


def status(session: Session, actor: Actor, campaign_id: int) -> StatusDocument:
    """``campaign status``: deliveries by state and channel, progress, rate and ETA."""
    return _status_of(session, get_campaign(session, campaign_id, salon_id=actor.salon_id))


def report(session: Session, actor: Actor, campaign_id: int) -> ReportDocument:
    """The staff page's report of a campaign (the status, failures by code, exclusions)."""
    campaign = get_campaign(session, campaign_id, salon_id=actor.salon_id)
    excluded: dict[str, int] = {}
    for rules in stored_exclusions(session, campaign.id).values():
        for rule, count in rules.items():
            excluded[rule] = excluded.get(rule, 0) + count
    failed = _counted(session, Delivery.error_code, campaign.id, DeliveryStatus.FAILED)
    return {**_status_of(session, campaign), "failed_by_code": failed, "excluded_by_rule": excluded}


def validation_document(validation: Validation) -> ValidationDocument:
    check = validation.check
    return {
        "campaign": validation.campaign_id,
        "valid": check.ok,
        "problems": [asdict(p) for p in check.problems],
        "sms": asdict(check.sms) if check.sms else None,
        "sms_total": validation.sms_total,
    }


# -- the audience ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Excluded:
    """One client a rule leaves out on one channel."""

    client_id: int
    ref: str
    name: str
    channel: str
    rule: str
    reason: str


@dataclass
class Audience:
    """Recipients and exclusions per channel (``summary``: channel -> {"recipients", "R3", ...}),
    live for a draft, from the snapshot once planned; ``excluded``: the clients when asked."""

    campaign_id: int
    source: str
    summary: dict[str, dict[str, int]]
    excluded: list[Excluded] | None = field(default=None)

    def document(self) -> AudienceDocument:
        totals: dict[str, int] = {}
        exclusions: dict[str, dict[str, int]] = {}
        for channel, counts in self.summary.items():
            exclusions[channel] = {r: n for r, n in counts.items() if r != "recipients"}
            for rule, count in exclusions[channel].items():
                totals[rule] = totals.get(rule, 0) + count
        document: AudienceDocument = {
            "campaign": self.campaign_id,
            "source": self.source,
            "recipients": {ch: counts["recipients"] for ch, counts in self.summary.items()},
            "exclusions": exclusions,
            "exclusions_total": totals,
        }
        if self.excluded is not None:
            document["excluded"] = [
                {"client": e.ref, "channel": e.channel, "rule": e.rule, "reason": e.reason}
                for e in self.excluded
            ]
        return document


def _snapshot(session: Session, campaign_id: int) -> dict[str, dict[str, int]]:
    summary: dict[str, dict[str, int]] = {}
    for channel, per_status in delivery_counts(session, campaign_id).items():
        summary.setdefault(channel, {})["recipients"] = sum(per_status.values())
    for channel, rules in stored_exclusions(session, campaign_id).items():
        summary.setdefault(channel, {"recipients": 0}).update(rules)
    return summary


def _excluded(
    session: Session, salon: Salon, campaign: Campaign, channel: str | None, rule: str | None
) -> list[Excluded]:
    if campaign.planned_at is None:
        found = [
            (client_id, ch, code[:2], code[3:])
            for client_id, ch, code in live_exclusions(session, salon, campaign)
        ]
    else:
        rows = session.execute(
            select(Exclusion.client_id, Exclusion.channel, Exclusion.rule, Exclusion.reason)
            .where(Exclusion.campaign_id == campaign.id)
            .order_by(Exclusion.client_id)
        )
        found = [(int(c), str(ch), str(r), str(why)) for c, ch, r, why in rows]
    found = [f for f in found if channel in (None, f[1]) and rule in (None, f[2])]
    clients = {
        c.id: c
        for c in session.scalars(
            select(Client).where(Client.salon_id == salon.id, Client.id.in_({f[0] for f in found}))
        )
    }
    return [
        Excluded(cid, clients[cid].ref, _name(clients[cid]), ch, r, why)
        for cid, ch, r, why in found
        if cid in clients
    ]


def _name(client: Client) -> str:
    return " ".join(filter(None, [client.first_name, client.last_name]))


def audience(
    session: Session,
    actor: Actor,
    campaign_id: int,
    *,
    detail: bool = False,
    channel: str | None = None,
    rule: str | None = None,
) -> Audience:
    """Recipients and exclusions per rule; with ``detail`` the clients left out (of one
    ``channel`` and ``rule`` when given). A logged read: the detail names clients."""
    campaign = get_campaign(session, campaign_id, salon_id=actor.salon_id)
    salon = session.get_one(Salon, campaign.salon_id)
    if campaign.planned_at is None:
        result = Audience(campaign.id, "live", live_audience(session, salon, campaign))
    else:
        result = Audience(campaign.id, "snapshot", _snapshot(session, campaign.id))
    if detail:
        result.excluded = _excluded(session, salon, campaign, channel, rule)
    logged = "summary" if not detail else " ".join(filter(None, ["detail", channel, rule]))
    log_access(
        session, salon.id, actor, "campaign.audience", campaign_id=campaign.id, detail=logged
    )
    return result


def campaign_list(session: Session, actor: Actor, *, limit: int = 200) -> list[dict[str, Any]]:
    """The salon's marketing campaigns, newest first, each with its progress."""
    rows = session.scalars(
        select(Campaign)
        .where(Campaign.salon_id == actor.salon_id, Campaign.kind == CampaignKind.MARKETING)
        .order_by(Campaign.id.desc())
        .limit(limit)
    )
    return [{"campaign": c, "progress": progress(session, c)} for c in rows]
