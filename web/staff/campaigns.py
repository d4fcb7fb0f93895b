"""Campaign pages: list, editor with live check, audience, test message, queue and steering.

Every route calls one use case (:mod:`services.campaigns`, :mod:`services.steering`,
:mod:`services.documents`), which writes the access-log row; another salon's campaign, and a
service message, are "not found" (404), exactly like one that does not exist. A refusal is shown
on the campaign's page (409) with the check that names its rule.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from db.models import Campaign
from db.states import RETRYABLE_STOPS, CampaignStatus
from services import campaigns, documents
from services.config import ServiceConfig
from services.errors import BadInput, Conflict, NotFound, Refused, SalonpostError
from services.lookups import get_campaign
from services.steering import Steer, steer
from settings import Settings
from web.staff.auth import Who, acting
from web.staff.campaign_views import RULES, CampaignInput, CheckView, check_view, placeholder_list
from web.staff.render import render, render_fragment
from web.staff.sending import Dispatch

DONE = ("created", "saved", "queued", "paused", "resumed", "cancelled", "retried", "test_sent")
# The buttons (URL verb) -> the action and what the page says after it.
VERBS = {
    "pause": (Steer.PAUSE, "paused"),
    "resume": (Steer.RESUME, "resumed"),
    "cancel": (Steer.CANCEL, "cancelled"),
    "retry-failed": (Steer.RETRY_FAILED, "retried"),
}


def flash(request: Request) -> str | None:
    done = request.query_params.get("done")
    return f"staff.done.{done}" if done in DONE else None


class CampaignPages:
    """The routes' shared pieces: checking texts and drawing the editor and overview."""

    def __init__(self, settings: Settings, dispatch: Dispatch) -> None:
        self.settings = settings
        self.dispatch = dispatch
        self.config = ServiceConfig(base_url=settings.base_url, secret_key=settings.secret_key)

    def check(
        self, s: Session, who: Who, form: CampaignInput, campaign_id: int | None
    ) -> CheckView:
        texts = form.texts()
        checked = campaigns.check_texts(s, who.salon, texts, self.config, campaign_id=campaign_id)
        return check_view(checked, texts, salon_name=who.salon.name)

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

    def overview(
        self,
        request: Request,
        s: Session,
        who: Who,
        campaign: Campaign,
        *,
        error: SalonpostError | None = None,
        status_code: int = 200,
    ) -> Response:
        report = documents.report(s, who.actor, campaign.id)
        # Retry is offered only when a failure had a passing cause (provider down, set-up).
        retryable = any(code in RETRYABLE_STOPS for code in report["failed_by_code"])
        view = None
        if isinstance(error, Refused):
            view = self.check(s, who, CampaignInput.of(campaign), campaign.id)
        return render(
            request, "staff/campaign.html", who.t, status_code=status_code,
            who=who, campaign=campaign, error=_message(who, error), view=view, done=flash(request),
            report_html=render_fragment("staff/_report.html", who.t, report=report),
            retryable=retryable,
        )  # fmt: skip


def _message(who: Who, error: SalonpostError | None) -> str | None:
    """The error in the staff member's words (a state is named as the pages name it)."""
    if error is None:
        return None
    if not who.t.has(f"staff.{error.key}"):
        return error.message(who.t.lang)
    values = dict(error.values)
    if "status" in values:
        values["status"] = who.t(f"staff.status.{values['status']}")
    if "action" in values:
        values["action"] = who.t(f"staff.action.{values['action']}")
    return who.t(f"staff.{error.key}", **values)


def router(settings: Settings, dispatch: Dispatch) -> APIRouter:
    r = APIRouter(prefix="/staff/campaigns")
    pages = CampaignPages(settings, dispatch)
    _editing_routes(r, settings, pages)
    _sending_routes(r, settings, pages)

    @r.get("")
    def campaign_list(request: Request) -> Response:
        with acting(request, settings) as (s, who):
            rows = documents.campaign_list(s, who.actor)
            return render(
                request, "staff/campaigns.html", who.t, who=who, rows=rows, done=flash(request)
            )

    @r.get("/{campaign_id}")
    def overview(request: Request, campaign_id: int) -> Response:
        with acting(request, settings) as (s, who):
            campaign = get_campaign(s, campaign_id, salon_id=who.salon.id)
            return pages.overview(request, s, who, campaign)

    @r.get("/{campaign_id}/status.json")
    def status(request: Request, campaign_id: int) -> Response:
        with acting(request, settings) as (s, who):
            report = documents.report(s, who.actor, campaign_id)
            html = render_fragment("staff/_report.html", who.t, report=report)
            return JSONResponse({**report, "html": html}, headers={"Cache-Control": "no-store"})

    @r.get("/{campaign_id}/audience")
    def audience_page(
        request: Request, campaign_id: int, channel: str = "", rule: str = ""
    ) -> Response:
        with acting(request, settings) as (s, who):
            campaign = get_campaign(s, campaign_id, salon_id=who.salon.id)
            drill = bool(channel in campaign.channels and rule in RULES)
            audience = documents.audience(
                s, who.actor, campaign_id, detail=drill, channel=channel, rule=rule
            )
            return render(
                request, "staff/audience.html", who.t, who=who, campaign=campaign,
                summary=audience.summary, rules=RULES, drill=audience.excluded,
                channel=channel, rule=rule,
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
            try:
                campaign = campaigns.create(s, who.actor, who.salon, form.draft())
            except BadInput as exc:
                return pages.editor(
                    request, s, who, form, None, errors=exc.problems, status_code=422
                )
        return RedirectResponse(f"/staff/campaigns/{campaign.id}/edit?done=created", 303)

    @r.post("/check")
    def check(request: Request, form: Annotated[CampaignInput, Form()]) -> Response:
        """The live check (JSON for fetch), or the editor with the result for a plain submit."""
        with acting(request, settings, csrf_token=form.csrf_token, change=True) as (s, who):
            campaign = None
            if form.campaign_id.isdigit():
                campaign = get_campaign(s, int(form.campaign_id), salon_id=who.salon.id)
            if "application/json" not in request.headers.get("accept", ""):
                errors = form.draft().problems()
                return pages.editor(request, s, who, form, campaign, errors=errors)
            view = pages.check(s, who, form, campaign.id if campaign else None)
            html = render_fragment("staff/_check.html", who.t, view=view)
            return JSONResponse({**view.as_json(), "html": html})

    @r.get("/{campaign_id}/edit")
    def edit(request: Request, campaign_id: int) -> Response:
        with acting(request, settings) as (s, who):
            campaign = get_campaign(s, campaign_id, salon_id=who.salon.id)
            if campaign.status != CampaignStatus.DRAFT:
                return RedirectResponse(f"/staff/campaigns/{campaign_id}", 303)
            return pages.editor(request, s, who, CampaignInput.of(campaign), campaign)

    @r.post("/{campaign_id}/edit")
    def save(
        request: Request, campaign_id: int, form: Annotated[CampaignInput, Form()]
    ) -> Response:
        with acting(request, settings, csrf_token=form.csrf_token, change=True) as (s, who):
            try:
                campaigns.edit(s, who.actor, who.salon, campaign_id, form.draft())
            except Conflict as exc:
                campaign = get_campaign(s, campaign_id, salon_id=who.salon.id)
                return pages.overview(request, s, who, campaign, error=exc, status_code=409)
            except BadInput as exc:
                campaign = get_campaign(s, campaign_id, salon_id=who.salon.id)
                return pages.editor(
                    request, s, who, form, campaign, errors=exc.problems, status_code=422
                )
        return RedirectResponse(f"/staff/campaigns/{campaign_id}/edit?done=saved", 303)


def _sending_routes(r: APIRouter, settings: Settings, pages: CampaignPages) -> None:
    def refused(
        request: Request, s: Session, who: Who, campaign_id: int, exc: Exception
    ) -> Response:
        if not isinstance(exc, Refused | Conflict | BadInput):
            raise exc
        campaign = get_campaign(s, campaign_id, salon_id=who.salon.id)
        return pages.overview(request, s, who, campaign, error=exc, status_code=409)

    @r.post("/{campaign_id}/queue")
    def queue(
        request: Request, campaign_id: int, csrf_token: Annotated[str, Form()] = ""
    ) -> Response:
        with acting(request, settings, csrf_token=csrf_token, change=True) as (s, who):
            try:
                campaigns.queue(s, who.actor, campaign_id, pages.config)
            except (Refused, Conflict) as exc:
                return refused(request, s, who, campaign_id, exc)
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
            try:
                campaigns.send_test(
                    s, who.actor, campaign_id, pages.config, pages.dispatch.runtime,
                    channel=channel, address=address,
                )  # fmt: skip
            except (Refused, BadInput) as exc:
                return refused(request, s, who, campaign_id, exc)
        return RedirectResponse(f"/staff/campaigns/{campaign_id}?done=test_sent", 303)

    @r.post("/{campaign_id}/{verb}")
    def steer_campaign(
        request: Request, campaign_id: int, verb: str, csrf_token: Annotated[str, Form()] = ""
    ) -> Response:
        if verb not in VERBS:
            raise NotFound(verb)
        action, done = VERBS[verb]
        with acting(request, settings, csrf_token=csrf_token, change=True) as (s, who):
            try:
                steered = steer(s, who.actor, campaign_id, action)
            except Conflict as exc:
                return refused(request, s, who, campaign_id, exc)
        if steered.start:
            pages.dispatch.start(campaign_id)
        return RedirectResponse(f"/staff/campaigns/{campaign_id}?done={done}", 303)
