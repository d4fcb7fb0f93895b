"""Client pages: search, the client card (consent ticks and history), consent answers,
"no reminders", export (G3) and forget (G1, confirmed with the PIN again).

Every route calls one use case (:mod:`services.clients`, :mod:`services.rights`), which writes
the access-log row; another salon's client is "not found" (404). Bad input is shown in its form.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from db.models import Client, Staff
from dispatcher.forgetting import outbox_forgetter
from services import clients as cases
from services import rights
from services.clients import ANSWERS, ConsentAnswer, ConsentAnswers, NewClient
from services.errors import BadInput, Conflict, Forbidden, SalonpostError, Unavailable
from services.lookups import client_by_id
from services.staff import sign_in
from settings import Settings
from web.staff.auth import Who, acting
from web.staff.render import render

logger = logging.getLogger("salonpost.web")

DONE = ("consent", "no_reminders", "forgotten", "client_created")


def _card(request: Request, s: Session, who: Who, client: Client, **values: Any) -> Response:
    document = cases.client_document(s, client)
    rows = s.execute(select(Staff.id, Staff.name).where(Staff.salon_id == who.salon.id))
    staff_names = {staff_id: name for staff_id, name in rows}
    done = request.query_params.get("done")
    return render(
        request, "staff/client.html", who.t, who=who, client=client, doc=document,
        staff_names=staff_names, done=f"staff.done.{done}" if done in DONE else None,
        status_code=values.pop("status_code", 200), **values,
    )  # fmt: skip


CONTACT_FIELDS = (
    "first_name", "last_name", "phone", "email", "guardian_name", "guardian_phone",
    "guardian_email",
)  # fmt: skip
NEW_FIELDS = ("ref", *CONTACT_FIELDS, "birth_date", "sms_consent", "email_consent", "form_ref")


def router(settings: Settings) -> APIRouter:
    r = APIRouter(prefix="/staff/clients")
    _new_routes(r, settings)  # before "/{client_id}": "new" is no id
    _change_routes(r, settings)

    @r.get("")
    def clients(request: Request, q: str = "") -> Response:
        with acting(request, settings) as (s, who):
            found = cases.search(s, who.actor, who.salon, q) if q.strip() else None
            return render(request, "staff/clients.html", who.t, who=who, q=q, found=found)

    @r.get("/{client_id}")
    def card(request: Request, client_id: int) -> Response:
        with acting(request, settings) as (s, who):
            client = client_by_id(s, who.salon, client_id)
            cases.show(s, who.actor, who.salon, client)
            return _card(request, s, who, client)

    @r.get("/{client_id}/forget")
    def forget_page(request: Request, client_id: int) -> Response:
        with acting(request, settings) as (s, who):
            client = client_by_id(s, who.salon, client_id)
            return render(request, "staff/forget.html", who.t, who=who, client=client)

    @r.post("/{client_id}/export")
    def export(
        request: Request, client_id: int, csrf_token: Annotated[str, Form()] = ""
    ) -> Response:
        with acting(request, settings, csrf_token=csrf_token, change=True) as (s, who):
            client = client_by_id(s, who.salon, client_id)
            document = rights.export(s, who.actor, who.salon, client)
        body = json.dumps(document, ensure_ascii=False, indent=2)
        name = f"client-{client_id}-export.json"
        return Response(
            body,
            media_type="application/json",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
            },
        )

    return r


def _new_form(
    request: Request, who: Who, form: dict[str, str], error: str | None = None
) -> Response:
    return render(
        request, "staff/client_new.html", who.t, who=who, form=form, answers=ANSWERS,
        error=error, status_code=422 if error else 200,
    )  # fmt: skip


def _new_routes(r: APIRouter, settings: Settings) -> None:
    @r.get("/new")
    def new_page(request: Request) -> Response:
        with acting(request, settings) as (_, who):
            return _new_form(request, who, dict.fromkeys(NEW_FIELDS, ""))

    @r.post("/new")
    async def create(request: Request) -> Response:
        # Why the raw form: a dozen optional fields, all kept to fill the form again on error.
        data = await request.form()
        form = {name: str(data.get(name) or "").strip() for name in NEW_FIELDS}
        return await run_in_threadpool(
            _create, request, settings, form, str(data.get("csrf_token") or "")
        )


def _create(request: Request, settings: Settings, form: dict[str, str], csrf: str) -> Response:
    """C3: the client with the marketing answer per channel, or the form again with the error."""
    with acting(request, settings, csrf_token=csrf, change=True) as (s, who):
        try:
            contact = {name: form[name] or None for name in CONTACT_FIELDS}
            new = NewClient(form["ref"], birth_date=_birth_date(form["birth_date"]), **contact)
            answers = ConsentAnswers(
                form["sms_consent"], form["email_consent"], form["form_ref"] or None
            )
            client = cases.create(
                s, who.actor, who.salon, new, answers, secret_key=settings.secret_key
            )
        except BadInput as exc:  # nothing was stored: the form again, with what was typed
            what = exc.message(who.t.lang)
            return _new_form(request, who, form, who.t("staff.newclient.refused", what=what))
        client_id = client.id
    return RedirectResponse(f"/staff/clients/{client_id}?done=client_created", 303)


def _change_routes(r: APIRouter, settings: Settings) -> None:
    @r.post("/{client_id}/consent")
    def consent(
        request: Request,
        client_id: int,
        channel: Annotated[str, Form()] = "",
        action: Annotated[str, Form()] = "",
        source: Annotated[str, Form()] = "oral",
        evidence: Annotated[str, Form()] = "",
        csrf_token: Annotated[str, Form()] = "",
    ) -> Response:
        with acting(request, settings, csrf_token=csrf_token, change=True) as (s, who):
            client = client_by_id(s, who.salon, client_id)
            answer = ConsentAnswer(channel, action, source, evidence)
            try:
                cases.record_answer(s, who.actor, who.salon, client, answer)
            except SalonpostError as exc:
                error = who.t(_CONSENT_ERRORS.get(exc.key, "staff.consent.invalid"))
                return _card(request, s, who, client, error=error, status_code=422)
        return RedirectResponse(f"/staff/clients/{client_id}?done=consent", 303)

    @r.post("/{client_id}/no-reminders")
    def no_reminders(
        request: Request,
        client_id: int,
        on: Annotated[str, Form()] = "",
        csrf_token: Annotated[str, Form()] = "",
    ) -> Response:
        with acting(request, settings, csrf_token=csrf_token, change=True) as (s, who):
            client = client_by_id(s, who.salon, client_id)
            cases.set_no_reminders(s, who.actor, who.salon, client, on=on == "1")
        return RedirectResponse(f"/staff/clients/{client_id}?done=no_reminders", 303)

    @r.post("/{client_id}/forget")
    def do_forget(
        request: Request,
        client_id: int,
        pin: Annotated[str, Form()] = "",
        confirm: Annotated[str, Form()] = "",
        csrf_token: Annotated[str, Form()] = "",
    ) -> Response:
        with acting(request, settings, csrf_token=csrf_token, change=True) as (s, who):
            client = client_by_id(s, who.salon, client_id)
            name = who.staff.name
        error = None if confirm == "1" else "staff.forget.confirm_missing"
        error = error or _pin_error(settings, who, name, pin)
        with acting(request, settings, csrf_token=csrf_token, change=True) as (s, who):
            client = client_by_id(s, who.salon, client_id)
            if error is not None:
                return render(
                    request, "staff/forget.html", who.t, who=who, client=client,
                    error=who.t(error), status_code=422,
                )  # fmt: skip
            files = outbox_forgetter(settings.outbox_dir)  # the outbox's copies go too (G1)
            try:
                rights.forget(
                    s, who.actor, who.salon, client,
                    secret_key=settings.secret_key, forget_messages=files,
                )  # fmt: skip
            except Conflict:
                return _card(
                    request, s, who, client, error=who.t("staff.forget.already"), status_code=409
                )
            except Unavailable:  # an outbox file could not be rewritten, before any change was made
                logger.exception("client %s: outbox not rewritten, nothing forgotten", client_id)
                return _card(
                    request, s, who, client, error=who.t("staff.forget.files_failed"),
                    status_code=503,
                )  # fmt: skip
        return RedirectResponse(f"/staff/clients/{client_id}?done=forgotten", 303)


def _pin_error(settings: Settings, who: Who, name: str, pin: str) -> str | None:
    """The PIN typed again for an irreversible action; wrong PINs count towards the lock-out."""
    try:
        sign_in(
            settings.database_url, who.salon.id, name, pin, pepper=settings.checked_pin_pepper()
        )
    except BadInput:
        return "staff.login.bad_pin"
    except Forbidden as exc:
        return "staff.forget.locked" if exc.locked_until is not None else "staff.forget.wrong_pin"
    return None


# A refused consent answer, in the words of the client card.
_CONSENT_ERRORS = {
    "error.client_forgotten": "staff.consent.forgotten",
    "error.form_ref_needed": "staff.consent.form_needs_ref",
}


def _birth_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError as exc:
        raise BadInput("error.bad_option", field="birth_date", what=exc) from None
