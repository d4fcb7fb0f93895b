"""Campaign use cases: create, edit, check and validate, queue, and the test message.

Every function takes the session, the acting :class:`db.access.Actor` and plain arguments, writes
its access-log row (also when it refuses: a refused queue is logged, G5) and returns the campaign
or a typed result; errors come from :mod:`services.errors`. Queueing only changes the row: the
edge commits and then starts the work (``salonpost campaign queue``, the staff pages), so a
worker never sees a queued campaign that is not committed yet.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from channels.base import Message, Receipt
from channels.errors import ChannelError
from db.access import Actor, log_access
from db.models import Campaign, Client, Salon, utcnow
from db.states import MAX_WINDOW_MONTHS, CampaignStatus, Channel
from dispatcher.runtime import Runtime
from dispatcher.sending import sms_totals
from gate.campaign import CampaignCheck, CampaignTexts, check_campaign
from gate.contacts import normalise_email, normalise_phone
from services.config import ServiceConfig
from services.errors import BadInput, Conflict, Problem, Refused
from services.lookups import get_campaign
from templates.catalogue import sample_context
from templates.links import UnsubscribeToken, unsubscribe_url
from templates.sandbox import render

# A stand-in campaign id as long as real ones, for the SMS length of a campaign not yet saved.
UNSAVED_ID = 999_999


@dataclass(frozen=True)
class Draft:
    """What staff write: the name, the texts (None = no such part) and the R3 window."""

    name: str
    texts: CampaignTexts = field(default_factory=CampaignTexts)
    window_months: int = MAX_WINDOW_MONTHS

    def problems(self) -> list[str]:
        """Catalogue keys of what is wrong beyond R1/R2 (which the check reports)."""
        found = []
        if not self.name.strip():
            found.append("error.campaign_name")
        if not 1 <= self.window_months <= MAX_WINDOW_MONTHS:
            found.append("error.campaign_window")
        return found

    def apply(self, campaign: Campaign) -> None:
        campaign.name = self.name.strip()[:200]
        campaign.window_months = self.window_months
        campaign.sms_body = self.texts.sms_body
        campaign.email_subject = self.texts.email_subject
        campaign.email_html = self.texts.email_html
        campaign.email_text = self.texts.email_text


@dataclass(frozen=True)
class Checked:
    """R1/R2 and the SMS size of some texts, checked with ``sample_link`` (a real-length link)."""

    check: CampaignCheck
    sample_link: str


@dataclass(frozen=True)
class Validation:
    """``campaign validate``: the check, and the SMS as every recipient would get it today."""

    campaign_id: int
    check: CampaignCheck
    sms_total: dict[str, object] | None


def texts_of(campaign: Campaign) -> CampaignTexts:
    return CampaignTexts(
        sms_body=campaign.sms_body,
        email_subject=campaign.email_subject,
        email_html=campaign.email_html,
        email_text=campaign.email_text,
    )


def _draft_problems(draft: Draft) -> None:
    problems = draft.problems()
    if problems:
        raise BadInput(problems[0], field="campaign", problems=problems)


def create(session: Session, actor: Actor, salon: Salon, draft: Draft) -> Campaign:
    """A new draft campaign of ``salon`` (its texts may still fail R1/R2: a draft is a draft)."""
    _draft_problems(draft)
    campaign = Campaign(salon_id=salon.id, created_by=actor.staff_id)
    draft.apply(campaign)
    session.add(campaign)
    session.flush()
    log_access(session, salon.id, actor, "campaign.create", campaign_id=campaign.id)
    return campaign


def edit(session: Session, actor: Actor, salon: Salon, campaign_id: int, draft: Draft) -> Campaign:
    """Change a draft; a campaign that was queued is no draft any more (:class:`Conflict`)."""
    campaign = get_campaign(session, campaign_id, salon_id=salon.id)
    if campaign.status != CampaignStatus.DRAFT:
        raise Conflict("error.not_draft", id=campaign_id, status=campaign.status)
    _draft_problems(draft)
    draft.apply(campaign)
    log_access(session, salon.id, actor, "campaign.edit", campaign_id=campaign.id)
    return campaign


def sample_link(
    session: Session, salon_id: int, campaign_id: int | None, config: ServiceConfig
) -> str:
    """An unsubscribe URL as long as the longest the campaign will send (the SMS budget)."""
    largest = session.scalar(select(func.max(Client.id)).where(Client.salon_id == salon_id))
    token = UnsubscribeToken(salon_id, largest or 1, Channel.SMS, campaign_id or UNSAVED_ID)
    return unsubscribe_url(token, base_url=config.base_url, secret_key=config.secret_key)


def check_texts(
    session: Session,
    salon: Salon,
    texts: CampaignTexts,
    config: ServiceConfig,
    *,
    campaign_id: int | None = None,
) -> Checked:
    """R1/R2 and the SMS size of texts being written (the editor's live check); not logged."""
    link = sample_link(session, salon.id, campaign_id, config)
    return Checked(check_campaign(texts, sample_unsubscribe_url=link), link)


def _checked(session: Session, campaign: Campaign, config: ServiceConfig) -> Checked:
    link = sample_link(session, campaign.salon_id, campaign.id, config)
    return Checked(check_campaign(texts_of(campaign), sample_unsubscribe_url=link), link)


def validate(session: Session, actor: Actor, campaign_id: int, config: ServiceConfig) -> Validation:
    """``campaign validate``: R1/R2 problems and the SMS size (and, when valid, its total)."""
    campaign = get_campaign(session, campaign_id, salon_id=actor.salon_id)
    check = _checked(session, campaign, config).check
    totals = None
    if check.ok and check.sms:
        salon = session.get_one(Salon, campaign.salon_id)
        totals = sms_totals(
            session, salon, campaign, base_url=config.base_url, secret_key=config.secret_key
        )
    outcome = "valid" if check.ok else "invalid"
    log_access(
        session, campaign.salon_id, actor, "campaign.validate",
        campaign_id=campaign.id, detail=outcome,
    )  # fmt: skip
    return Validation(campaign.id, check, totals)


def problems_of(check: CampaignCheck) -> list[Problem]:
    return [Problem(p.rule, p.field, p.code, p.message, p.line) for p in check.problems]


def _refuse_invalid(
    session: Session, actor: Actor, campaign: Campaign, check: CampaignCheck, action: str
) -> None:
    rules = ", ".join(sorted({p.rule for p in check.problems}))
    detail = f"refused {rules}"
    log_access(session, campaign.salon_id, actor, action, campaign_id=campaign.id, detail=detail)
    raise Refused(
        "error.invalid", rule=check.problems[0].rule, problems=problems_of(check),
        id=campaign.id, rules=rules,
    )  # fmt: skip


def queue(session: Session, actor: Actor, campaign_id: int, config: ServiceConfig) -> Campaign:
    """Queue a valid draft for sending; :class:`Conflict` when it is no draft, :class:`Refused`
    (R1/R2, with every problem) when a rule fails. Logged either way; the edge starts it."""
    campaign = get_campaign(session, campaign_id, salon_id=actor.salon_id)
    salon_id = campaign.salon_id
    if campaign.status != CampaignStatus.DRAFT:
        detail = f"refused {campaign.status}"
        log_access(
            session, salon_id, actor, "campaign.queue", campaign_id=campaign_id, detail=detail
        )
        raise Conflict("error.not_draft", id=campaign_id, status=campaign.status)
    check = _checked(session, campaign, config).check
    if not check.ok:
        _refuse_invalid(session, actor, campaign, check, "campaign.queue")
    queued = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status == CampaignStatus.DRAFT)
        .values(status=CampaignStatus.QUEUED, queued_at=utcnow())
    )
    if getattr(queued, "rowcount", 1) != 1:  # queued by someone else in between
        raise Conflict("error.not_draft", id=campaign_id, status=CampaignStatus.QUEUED)
    detail = ",".join(campaign.channels)
    log_access(session, salon_id, actor, "campaign.queue", campaign_id=campaign_id, detail=detail)
    return campaign


# -- the test message ------------------------------------------------------------------------


def test_address(salon: Salon, channel: str, raw: str) -> tuple[Channel, str]:
    """The staff member's own number or address for a test message, checked."""
    if channel == Channel.SMS:
        phone = normalise_phone(raw, region=salon.default_region)
        if phone is None:
            raise BadInput("error.test_bad_phone", field="address")
        return Channel.SMS, phone
    if channel == Channel.EMAIL:
        email = normalise_email(raw)
        if email is None:
            raise BadInput("error.test_bad_email", field="address")
        return Channel.EMAIL, email
    raise BadInput("error.test_bad_channel", field="channel")


def test_message(salon: Salon, campaign: Campaign, channel: Channel, address: str) -> Message:
    """The campaign rendered for the catalogue's sample client (no delivery, no client)."""
    if channel not in campaign.channels:
        raise BadInput("error.test_bad_channel", field="channel")
    context = {**sample_context(), "salon_name": salon.name}
    key = f"test-c{campaign.id}-{uuid.uuid4().hex[:12]}"
    if channel == Channel.SMS:
        body = render(campaign.sms_body or "", context, html=False)
        return Message("sms", address, body, key, sender=salon.sms_sender)
    subject = "[Test] " + render(campaign.email_subject or "", context, html=False)
    text = render(campaign.email_text, context, html=False) if campaign.email_text else ""
    html = render(campaign.email_html, context, html=True) if campaign.email_html else None
    return Message("email", address, text, key, sender=salon.email_from, subject=subject, html=html)


def send_test(
    session: Session,
    actor: Actor,
    campaign_id: int,
    config: ServiceConfig,
    runtime: Runtime,
    *,
    channel: str,
    address: str,
) -> Receipt:
    """Send the campaign once to the staff member's own address: refused (R1/R2) like a queue,
    never a delivery, never to a client. Logged with its outcome, also when refused."""
    campaign = get_campaign(session, campaign_id, salon_id=actor.salon_id)
    salon = session.get_one(Salon, campaign.salon_id)
    check = _checked(session, campaign, config).check
    if not check.ok:
        _refuse_invalid(session, actor, campaign, check, "campaign.test")
    try:
        kind, to = test_address(salon, channel, address)
        receipt = runtime.channel(kind).send(test_message(salon, campaign, kind, to))
    except (BadInput, ChannelError) as exc:
        failed = (
            exc
            if isinstance(exc, BadInput)
            else BadInput("error.test_failed", what=type(exc).__name__)
        )
        detail = f"{channel[:8]} {failed.key}"
        log_access(
            session, salon.id, actor, "campaign.test", campaign_id=campaign.id, detail=detail
        )
        raise failed from exc
    log_access(
        session, salon.id, actor, "campaign.test", campaign_id=campaign.id,
        detail=f"{channel} sent",
    )  # fmt: skip
    return receipt
