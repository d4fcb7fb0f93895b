"""What the campaign pages show: the form, the R1/R2 check with previews, audience and report.

Plain functions over a session; the routes in :mod:`web.staff.campaigns` add the access log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Campaign, Client, Delivery, Exclusion, Salon
from dispatcher.control import progress
from dispatcher.planning import live_audience, live_exclusions
from gate.campaign import CampaignCheck, CampaignTexts, check_campaign
from services.campaigns import stored_exclusions
from templates.catalogue import PLACEHOLDERS, sample_context
from templates.errors import TemplateError
from templates.links import UnsubscribeToken, unsubscribe_url
from templates.sandbox import render

FIELDS = ("sms_body", "email_subject", "email_html", "email_text")
RULES = ("R3", "R4", "R5", "R6", "R7", "R8", "R9")
# A stand-in campaign id as long as real ones, for the SMS length of a campaign not yet saved.
UNSAVED_ID = 999_999


class CampaignInput(BaseModel):
    """The editor form (also what the live check posts)."""

    csrf_token: str = ""
    campaign_id: str = ""
    name: str = ""
    window_months: str = "36"
    sms_body: str = ""
    email_subject: str = ""
    email_html: str = ""
    email_text: str = ""

    def text(self, name: str) -> str | None:
        # Browsers send textarea line breaks as CRLF; an SMS is counted with LF.
        value = str(getattr(self, name)).replace("\r\n", "\n")
        return value if value.strip() else None

    def texts(self) -> CampaignTexts:
        return CampaignTexts(**{name: self.text(name) for name in FIELDS})

    def window(self) -> int | None:
        try:
            months = int(self.window_months)
        except ValueError:
            return None
        return months if 1 <= months <= 36 else None

    def errors(self) -> list[str]:
        """Text keys of form errors (beyond R1/R2, which the check reports)."""
        found = []
        if not self.name.strip():
            found.append("editor.error_name")
        if self.window() is None:
            found.append("editor.error_window")
        return found

    def apply(self, campaign: Campaign) -> None:
        campaign.name = self.name.strip()[:200]
        campaign.window_months = self.window() or campaign.window_months or 36
        for name in FIELDS:
            setattr(campaign, name, self.text(name))

    @classmethod
    def of(cls, campaign: Campaign) -> CampaignInput:
        values = {name: getattr(campaign, name) or "" for name in FIELDS}
        return cls(
            campaign_id=str(campaign.id),
            name=campaign.name,
            window_months=str(campaign.window_months),
            **values,
        )


@dataclass
class CheckView:
    check: CampaignCheck
    previews: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {**self.check.as_json(), "preview": self.previews}


def sample_link(
    session: Session, salon: Salon, campaign_id: int | None, *, base_url: str, secret_key: str
) -> str:
    """An unsubscribe URL as long as the longest the campaign will send (the SMS budget)."""
    largest = session.scalar(select(func.max(Client.id)).where(Client.salon_id == salon.id))
    token = UnsubscribeToken(salon.id, largest or 1, "sms", campaign_id or UNSAVED_ID)
    return unsubscribe_url(token, base_url=base_url, secret_key=secret_key)


def check_texts(texts: CampaignTexts, *, link: str, salon_name: str) -> CheckView:
    """R1/R2 problems, the SMS size and a preview of every part for a sample client."""
    view = CheckView(check_campaign(texts, sample_unsubscribe_url=link))
    broken = {p.field for p in view.check.problems}
    context = {**sample_context(unsubscribe_url=link), "salon_name": salon_name}
    for name in FIELDS:
        source = getattr(texts, name)
        if source is None or name in broken:
            continue
        try:
            view.previews[name] = render(source, context, html=name == "email_html")
        except TemplateError:
            continue  # the check names the problem
    return view


def placeholder_list(lang: str) -> list[dict[str, str]]:
    return [
        {
            "name": p.name,
            "code": "{{ " + p.name + " }}",
            "description": p.description_de if lang == "de" else p.description_en,
        }
        for p in PLACEHOLDERS.values()
    ]


def audience(session: Session, salon: Salon, campaign: Campaign) -> dict[str, dict[str, int]]:
    """channel -> {"recipients": n, "R3": n, ...}: live for a draft, the snapshot after planning."""
    if campaign.planned_at is None:
        return live_audience(session, salon, campaign)
    summary: dict[str, dict[str, int]] = {}
    rows = session.execute(
        select(Delivery.channel, func.count())
        .where(Delivery.campaign_id == campaign.id)
        .group_by(Delivery.channel)
    )
    for channel, count in rows:
        summary[channel] = {"recipients": int(count)}
    for channel, rules in stored_exclusions(session, campaign.id).items():
        summary.setdefault(channel, {"recipients": 0}).update(rules)
    return summary


def excluded_clients(
    session: Session, salon: Salon, campaign: Campaign, channel: str, rule: str
) -> list[dict[str, Any]]:
    """The clients one rule leaves out on one channel (the drill-down), ref and name."""
    if campaign.planned_at is None:
        found = [
            (client_id, code[3:])
            for client_id, ch, code in live_exclusions(session, salon, campaign)
            if ch == channel and code[:2] == rule
        ]
    else:
        rows = session.execute(
            select(Exclusion.client_id, Exclusion.reason).where(
                Exclusion.campaign_id == campaign.id,
                Exclusion.channel == channel,
                Exclusion.rule == rule,
            )
        )
        found = [(int(client_id), str(reason)) for client_id, reason in rows]
    return _with_names(session, salon, found)


def _with_names(
    session: Session, salon: Salon, found: list[tuple[int, str]]
) -> list[dict[str, Any]]:
    ids = [client_id for client_id, _ in found]
    clients = {
        c.id: c
        for c in session.scalars(
            select(Client).where(Client.salon_id == salon.id, Client.id.in_(ids))
        )
    }
    result = []
    for client_id, reason in found:
        client = clients.get(client_id)
        if client is not None:
            name = " ".join(filter(None, [client.first_name, client.last_name]))
            result.append({"id": client_id, "ref": client.ref, "name": name, "reason": reason})
    return result


def failed_by_code(session: Session, campaign_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Delivery.error_code, func.count())
        .where(Delivery.campaign_id == campaign_id, Delivery.status == "failed")
        .group_by(Delivery.error_code)
    )
    return {code or "-": int(count) for code, count in rows}


def campaign_list(session: Session, salon: Salon) -> list[dict[str, Any]]:
    """The salon's marketing campaigns, newest first, with their progress."""
    campaigns = session.scalars(
        select(Campaign)
        .where(Campaign.salon_id == salon.id, Campaign.kind == "marketing")
        .order_by(Campaign.id.desc())
        .limit(200)
    )
    return [{"campaign": c, "progress": progress(session, c)} for c in campaigns]
