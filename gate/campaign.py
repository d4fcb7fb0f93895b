"""Campaign rules R1 and R2, checked at validate and again at queue.

The checks work on plain template texts; :func:`check_campaign` lists every problem with its rule,
field and line, and the size of the SMS as it will really be sent (unsubscribe URL included).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from templates.analysis import TemplateProblem, check_template
from templates.catalogue import sample_context
from templates.sandbox import render
from templates.sizes import SizeWarning, check_sms
from templates.sms import SmsSize, sms_size


@dataclass(frozen=True)
class CampaignTexts:
    sms_body: str | None = None
    email_subject: str | None = None
    email_html: str | None = None
    email_text: str | None = None

    @property
    def channels(self) -> tuple[str, ...]:
        found = []
        if self.sms_body is not None:
            found.append("sms")
        if self.email_subject is not None or self.email_html is not None:
            found.append("email")
        return tuple(found)


@dataclass
class CampaignCheck:
    problems: list[TemplateProblem] = field(default_factory=list)
    sms: SmsSize | None = None
    sms_sample: str | None = None
    warnings: list[SizeWarning] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {
            "valid": self.ok,
            "problems": [asdict(p) for p in self.problems],
            "sms": asdict(self.sms) if self.sms else None,
            "warnings": [asdict(w) for w in self.warnings],
        }


def _problem(field_name: str, code: str, message: str) -> TemplateProblem:
    return TemplateProblem(rule="R2", field=field_name, line=None, code=code, message=message)


def _completeness(texts: CampaignTexts) -> list[TemplateProblem]:
    problems = []
    if not texts.channels:
        problems.append(_problem("campaign", "no_message", "the campaign has no SMS and no email"))
    if "email" in texts.channels:
        if not texts.email_subject:
            problems.append(_problem("email_subject", "missing", "the email has no subject"))
        if texts.email_html is None and texts.email_text is None:
            problems.append(_problem("email_html", "missing", "the email has no body"))
    return problems


def check_campaign(texts: CampaignTexts, *, sample_unsubscribe_url: str) -> CampaignCheck:
    """Every R1/R2 problem of a campaign's texts, and the SMS size with a real-length link."""
    check = CampaignCheck(problems=_completeness(texts))
    bodies = [
        ("sms", texts.sms_body, True, False),
        ("email_subject", texts.email_subject, False, False),
        ("email_html", texts.email_html, True, True),
        ("email_text", texts.email_text, True, False),
    ]
    for name, source, needs_link, html in bodies:
        if source is not None:
            check.problems += check_template(
                source, field=name, requires_unsubscribe=needs_link, html=html
            )
    if texts.sms_body is not None and not any(p.field == "sms" for p in check.problems):
        context = sample_context(unsubscribe_url=sample_unsubscribe_url)
        check.sms_sample = render(texts.sms_body, context, html=False)
        check.sms = sms_size(check.sms_sample)
        # Twilio refuses more than 1,600 characters (R2); many segments only warn (cost).
        sized = check_sms(check.sms_sample)
        check.problems += sized.problems
        check.warnings += sized.warnings
    return check
