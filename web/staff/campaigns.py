"""Campaign pages: list, editor with live check, audience, test message, queue and steering.

Every action writes one access-log row (:mod:`web.staff.audit`); another salon's campaign is
"not found" (404), exactly like one that does not exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import update
from sqlalchemy.orm import Session

from db.models import Campaign, utcnow
from dispatcher import control
from services.campaigns import get_campaign, status_report, stored_exclusions
from services.lookups import NotFound
from settings import Settings
from web.staff.audit import log
from web.staff.auth import Who, acting
from web.staff.campaign_views import (
    RULES,
    CampaignInput,
    CheckView,
    audience,
    campaign_list,
    check_texts,
    excluded_clients,
    failed_by_code,
    placeholder_list,
    sample_link,
)
from web.staff.render import render, render_fragment
from web.staff.sending import Dispatch, TestMessageError, test_address

DONE = ("created", "saved", "queued", "paused", "resumed", "cancelled", "retried", "test_sent")
CONTROLS = {
    "pause": "campaign.pause",
    "resume": "campaign.resume",
    "cancel": "campaign.cancel",
    "retry-failed": "campaign.retry",
}
DONE_BY_VERB = {
    "pause": "paused",
    "resume": "resumed",
    "cancel": "cancelled",
    "retry-failed": "retried",
}


def flash(request: Request) -> str | None:
    done = request.query_params.get("done")
    return f"done.{done}" if done in DONE else None


def own_campaign(session: Session, who: Who, campaign_id: int) -> Campaign:
    campaign = get_campaign(session, campaign_id, salon=who.salon)
    if campaign.kind != "marketing":
        raise NotFound(f"no campaign {campaign_id}")
    return campaign


class CampaignPages:
    """The routes' shared pieces: checking texts and drawing the editor and overview."""

    def __init__(self, settings: Settings, dispatch: Dispatch) -> None:
        self.settings = settings
        self.dispatch = dispatch

    def check(
        self, s: Session, who: Who, form: CampaignInput, campaign_id: int | None
    ) -> CheckView:
        link = sample_link(
            s, who.salon, campaign_id,
            base_url=self.settings.base_url, secret_key=self.settings.secret_key,
        )  # fmt: skip
        return check_texts(form.texts(), link=link, salon_name=who.salon.name)

    def editor(
        self,
        request: Request,
        s: Session,
        who: Who,
        form: CampaignInput,
        campaign: Campaign | None,
        *,
        errors: list[str] | None = None,
        status_code: int = 200,
    ) -> Response:
        view = self.check(s, who, form, campaign.id if campaign else None)
        return render(
            request, "staff/editor.html", who.t, status_code=status_code,
            who=who, form=form, campaign=campaign, view=view, errors=errors or [],
            placeholders=placeholder_list(who.t.lang), done=flash(request),
            check_html=render_fragment("staff/_check.html", who.t, view=view),
        )  # fmt: skip

    def report(self, s: Session, campaign: Campaign) -> dict[str, Any]:
        report = status_report(s, campaign)
        report["progress"] = control.progress(s, campaign)
        report["failed_by_code"] = failed_by_code(s, campaign.id)
        excluded: dict[str, int] = {}
        for rules in stored_exclusions(s, campaign.id).values():
            for rule, count in rules.items():
                excluded[rule] = excluded.get(rule, 0) + count
        report["excluded_by_rule"] = excluded
        return report

    def overview(
        self,
        request: Request,
        s: Session,
        who: Who,
        campaign: Campaign,
        *,
        error: str | None = None,
        view: CheckView | None = None,
        status_code: int = 200,
    ) -> Response:
        report = self.report(s, campaign)
        # Retry is offered only when a failure had a passing cause (provider down, set-up).
        retryable = any(code in control.RETRYABLE_ERRORS for code in report["failed_by_code"])
        return render(
            request, "staff/campaign.html", who.t, status_code=status_code,
            who=who, campaign=campaign, error=error, view=view, done=flash(request),
            report_html=render_fragment("staff/_report.html", who.t, report=report),
            retryable=retryable,
        )  # fmt: skip


def router(settings: Settings, dispatch: Dispatch) -> APIRouter:
    r = APIRouter(prefix="/staff/campaigns")
    pages = CampaignPages(settings, dispatch)
    _editing_routes(r, settings, pages)
    _sending_routes(r, settings, pages)

    @r.get("")
    def campaigns(request: Request) -> Response:
        with acting(request, settings) as (s, who):
            rows = campaign_list(s, who.salon)
            return render(
                request, "staff/campaigns.html", who.t, who=who, rows=rows, done=flash(request)
            )

    @r.get("/{campaign_id}")
    def overview(request: Request, campaign_id: int) -> Response:
        with acting(request, settings) as (s, who):
            return pages.overview(request, s, who, own_campaign(s, who, campaign_id))

    @r.get("/{campaign_id}/status.json")
    def status(request: Request, campaign_id: int) -> Response:
        with acting(request, settings) as (s, who):
            report = pages.report(s, own_campaign(s, who, campaign_id))
            html = render_fragment("staff/_report.html", who.t, report=report)
            return JSONResponse({**report, "html": html}, headers={"Cache-Control": "no-store"})

    @r.get("/{campaign_id}/audience")
    def audience_page(
        request: Request, campaign_id: int, channel: str = "", rule: str = ""
    ) -> Response:
        with acting(request, settings) as (s, who):
            campaign = own_campaign(s, who, campaign_id)
            summary = audience(s, who.salon, campaign)
            drill = None
            if channel in summary and rule in RULES:
                drill = excluded_clients(s, who.salon, campaign, channel, rule)
            detail = f"detail {channel} {rule}" if drill is not None else "summary"
            log(s, who, "campaign.audience", campaign_id=campaign.id, detail=detail)
            return render(
                request, "staff/audience.html", who.t, who=who, campaign=campaign,
                summary=summary, rules=RULES, drill=drill, channel=channel, rule=rule,
            )  # fmt: skip

    return r


def _editing_routes(r: APIRouter, settings: Settings, pages: CampaignPages) -> None:
    @r.get("/new")
    def new(request: Request) -> Response:
        with acting(request, settings) as (s, who):
            return pages.editor(request, s, who, CampaignInput(), None)

    @r.post("/new")
    def create(request: Request, form: Annotated[CampaignInput, Form()]) -> Response:
        with acting(request, settings, csrf_token=form.csrf_token, change=True) as (s, who):
            if form.errors():
                return pages.editor(
                    request, s, who, form, None, errors=form.errors(), status_code=422
                )
            campaign = Campaign(salon_id=who.salon.id, created_by=who.actor.staff_id)
            form.apply(campaign)
            s.add(campaign)
            s.flush()
            log(s, who, "campaign.create", campaign_id=campaign.id)
        return RedirectResponse(f"/staff/campaigns/{campaign.id}/edit?done=created", 303)

    @r.post("/check")
    def check(request: Request, form: Annotated[CampaignInput, Form()]) -> Response:
        """The live check (JSON for fetch), or the editor with the result for a plain submit."""
        with acting(request, settings, csrf_token=form.csrf_token, change=True) as (s, who):
            campaign = None
            if form.campaign_id.isdigit():
                campaign = own_campaign(s, who, int(form.campaign_id))
            if "application/json" not in request.headers.get("accept", ""):
                return pages.editor(request, s, who, form, campaign, errors=form.errors())
            view = pages.check(s, who, form, campaign.id if campaign else None)
            html = render_fragment("staff/_check.html", who.t, view=view)
            return JSONResponse({**view.as_json(), "html": html})

    @r.get("/{campaign_id}/edit")
    def edit(request: Request, campaign_id: int) -> Response:
        with acting(request, settings) as (s, who):
            campaign = own_campaign(s, who, campaign_id)
            if campaign.status != "draft":
                return RedirectResponse(f"/staff/campaigns/{campaign_id}", 303)
            return pages.editor(request, s, who, CampaignInput.of(campaign), campaign)

    @r.post("/{campaign_id}/edit")
    def save(
        request: Request, campaign_id: int, form: Annotated[CampaignInput, Form()]
    ) -> Response:
        with acting(request, settings, csrf_token=form.csrf_token, change=True) as (s, who):
            campaign = own_campaign(s, who, campaign_id)
            if campaign.status != "draft":
                error = who.t("error.not_draft", status=who.t(f"status.{campaign.status}"))
                return pages.overview(request, s, who, campaign, error=error, status_code=409)
            if form.errors():
                return pages.editor(
                    request, s, who, form, campaign, errors=form.errors(), status_code=422
                )
            form.apply(campaign)
            log(s, who, "campaign.edit", campaign_id=campaign.id)
        return RedirectResponse(f"/staff/campaigns/{campaign_id}/edit?done=saved", 303)


def _sending_routes(r: APIRouter, settings: Settings, pages: CampaignPages) -> None:
    @r.post("/{campaign_id}/queue")
    def queue(
        request: Request, campaign_id: int, csrf_token: Annotated[str, Form()] = ""
    ) -> Response:
        with acting(request, settings, csrf_token=csrf_token, change=True) as (s, who):
            campaign = own_campaign(s, who, campaign_id)
            error, view = _queue(s, who, pages, campaign)
            if error is not None:
                return pages.overview(
                    request, s, who, campaign, error=error, view=view, status_code=409
                )
        pages.dispatch.start(campaign_id)
        return RedirectResponse(f"/staff/campaigns/{campaign_id}?done=queued", 303)

    @r.post("/{campaign_id}/test")
    def test(
        request: Request,
        campaign_id: int,
        channel: Annotated[str, Form()] = "",
        address: Annotated[str, Form()] = "",
        csrf_token: Annotated[str, Form()] = "",
    ) -> Response:
        with acting(request, settings, csrf_token=csrf_token, change=True) as (s, who):
            campaign = own_campaign(s, who, campaign_id)
            error, view, outcome = _test(s, who, pages, campaign, channel, address)
            log(s, who, "campaign.test", campaign_id=campaign.id, detail=outcome)
            if error is not None:
                return pages.overview(
                    request, s, who, campaign, error=error, view=view, status_code=409
                )
        return RedirectResponse(f"/staff/campaigns/{campaign_id}?done=test_sent", 303)

    @r.post("/{campaign_id}/{verb}")
    def steer(
        request: Request, campaign_id: int, verb: str, csrf_token: Annotated[str, Form()] = ""
    ) -> Response:
        if verb not in CONTROLS:
            raise NotFound(verb)
        with acting(request, settings, csrf_token=csrf_token, change=True) as (s, who):
            campaign = own_campaign(s, who, campaign_id)
            try:
                detail = _steer(s, verb, campaign.id)
            except control.ControlError:
                status = who.t(f"status.{campaign.status}")
                error = who.t("error.control", verb=who.t(f"action.{verb}"), status=status)
                return pages.overview(request, s, who, campaign, error=error, status_code=409)
            log(s, who, CONTROLS[verb], campaign_id=campaign.id, detail=detail)
        if verb in ("resume", "retry-failed"):
            pages.dispatch.start(campaign_id)
        return RedirectResponse(f"/staff/campaigns/{campaign_id}?done={DONE_BY_VERB[verb]}", 303)


def _rules(view: CheckView) -> str:
    return ", ".join(sorted({p.rule for p in view.check.problems}))


def _queue(
    s: Session, who: Who, pages: CampaignPages, campaign: Campaign
) -> tuple[str | None, CheckView | None]:
    """Queue a valid draft: (None, None); else the error to show (logged either way)."""
    if campaign.status != "draft":
        log(s, who, "campaign.queue", campaign_id=campaign.id, detail=f"refused {campaign.status}")
        return who.t("error.not_draft", status=who.t(f"status.{campaign.status}")), None
    view = pages.check(s, who, CampaignInput.of(campaign), campaign.id)
    if not view.check.ok:
        log(s, who, "campaign.queue", campaign_id=campaign.id, detail=f"refused {_rules(view)}")
        return who.t("error.invalid", rules=_rules(view)), view
    queued = s.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id, Campaign.status == "draft")
        .values(status="queued", queued_at=utcnow())
    )
    if getattr(queued, "rowcount", 1) != 1:  # queued by someone else in between
        return who.t("error.not_draft", status=who.t("status.queued")), None
    log(s, who, "campaign.queue", campaign_id=campaign.id, detail=",".join(campaign.channels))
    return None, None


def _test(
    s: Session, who: Who, pages: CampaignPages, campaign: Campaign, channel: str, address: str
) -> tuple[str | None, CheckView | None, str]:
    """Send the test message: (error or None, the check when invalid, what to log)."""
    view = pages.check(s, who, CampaignInput.of(campaign), campaign.id)
    if not view.check.ok:
        return who.t("error.invalid", rules=_rules(view)), view, f"refused {_rules(view)}"
    try:
        to = test_address(who.salon, channel, address)
        pages.dispatch.send_test(who.salon, campaign, to)
    except TestMessageError as exc:
        return who.t(exc.key, detail=exc.detail), None, f"{channel[:8]} {exc.key}"
    return None, None, f"{channel} sent"


def _steer(s: Session, verb: str, campaign_id: int) -> str | None:
    """Apply the action; what the access log should add (how many deliveries it touched)."""
    if verb == "pause":
        control.pause(s, campaign_id)
    elif verb == "resume":
        control.resume(s, campaign_id)
    elif verb == "retry-failed":
        return f"{control.retry_failed(s, campaign_id)} deliveries queued again"
    else:
        return f"{control.cancel(s, campaign_id)} deliveries not sent"
    return None
