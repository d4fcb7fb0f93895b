"""What the campaign pages show: the editor form, and the R1/R2 check with previews.

The check itself is :func:`services.campaigns.check_texts` (the same one queueing runs); the
previews render every part for the catalogue's sample client with the check's sample link.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from db.models import Campaign
from db.states import MAX_WINDOW_MONTHS
from gate.campaign import CampaignCheck, CampaignTexts
from services.campaigns import Checked, Draft
from templates.catalogue import PLACEHOLDERS, sample_context
from templates.errors import TemplateError
from templates.sandbox import render

FIELDS = ("sms_body", "email_subject", "email_html", "email_text")
RULES = ("R3", "R4", "R5", "R6", "R7", "R8", "R9")


class CampaignInput(BaseModel):
    """The editor form (also what the live check posts)."""

    csrf_token: str = ""
    campaign_id: str = ""
    name: str = ""
    window_months: str = str(MAX_WINDOW_MONTHS)
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

    def draft(self) -> Draft:
        try:
            months = int(self.window_months)
        except ValueError:
            months = 0  # not a number: the draft names it (the window is 1 to 36 months)
        return Draft(name=self.name, texts=self.texts(), window_months=months)

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


def check_view(checked: Checked, texts: CampaignTexts, *, salon_name: str) -> CheckView:
    """R1/R2 problems, the SMS size and a preview of every part for a sample client."""
    view = CheckView(checked.check)
    broken = {p.field for p in view.check.problems}
    context = {**sample_context(unsubscribe_url=checked.sample_link), "salon_name": salon_name}
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
