"""Client pages: search, the client card (consent ticks and history), consent answers,
"no reminders", export (G3) and forget (G1, confirmed with the PIN again).

Every page that shows client data and every change writes one access-log row; another salon's
client is "not found" (404).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from db.clients import client_document
from db.consent import record_consent
from db.export import export_client
from db.forget import AlreadyForgotten
from db.intake import ANSWERS, ConsentAnswers, NewClient, create_client
from db.models import Client, Staff
from db.rights import client_by_id, forget, set_no_reminders
from db.staff import BadPin, PinRefused, sign_in
from dispatcher.forgetting import outbox_forgetter
from gate.contacts import normalise_phone
from settings import Settings
from web.staff.audit import log
from web.staff.auth import Who, acting
from web.staff.render import render

logger = logging.getLogger("salonpost.web")

DONE = ("consent", "no_reminders", "forgotten", "client_created")


def search(session: Session, who: Who, query: str) -> list[Client]:
    like = f"%{query.strip()}%"
    phone = normalise_phone(query, region=who.salon.default_region)
    matches = or_(
        Client.ref.ilike(like),
        Client.first_name.ilike(like),
        Client.last_name.ilike(like),
        Client.email_normalized == query.strip().lower(),
        Client.phone_e164 == (phone or "-"),
    )
    return list(
        session.scalars(
            select(Client)
            .where(Client.salon_id == who.salon.id, matches)
            .order_by(Client.ref)
            .limit(50)
        )
    )


def _card(request: Request, s: Session, who: Who, client: Client, **values: Any) -> Response:
    document = client_document(s, client)
    rows = s.execute(select(Staff.id, Staff.name).where(Staff.salon_id == who.salon.id))
    staff_names = {staff_id: name for staff_id, name in rows}
    done = request.query_params.get("done")
    return render(
        request, "staff/client.html", who.t, who=who, client=client, doc=document,
        staff_names=staff_names, done=f"done.{done}" if done in DONE else None,
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
            found = search(s, who, q) if q.strip() else None
            if found is not None:
                log(s, who, "clients.search", detail=f"{len(found)} found")
            return render(request, "staff/clients.html", who.t, who=who, q=q, found=found)

    @r.get("/{client_id}")
    def card(request: Request, client_id: int) -> Response:
        with acting(request, settings) as (s, who):
            client = client_by_id(s, who.salon, client_id)
            log(s, who, "client.show", client_id=client.id)
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
            document = export_client(s, who.salon, client, who.actor)
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
            born = dt.date.fromisoformat(form["birth_date"]) if form["birth_date"] else None
            contact = {name: form[name] or None for name in CONTACT_FIELDS}
            new = NewClient(form["ref"], birth_date=born, **contact)
            answers = ConsentAnswers(
                form["sms_consent"], form["email_consent"], form["form_ref"] or None
            )
            client = create_client(
                s, who.salon, new, answers, who.actor, secret_key=settings.secret_key
            )
        except ValueError as exc:  # an IntakeError, or a birth date that is no date
            s.rollback()
            return _new_form(request, who, form, who.t("newclient.refused", what=str(exc)))
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
            error = _consent_error(client, channel, action, source, evidence)
            if error:
                return _card(request, s, who, client, error=who.t(error), status_code=422)
            record_consent(
                s, salon_id=who.salon.id, client_id=client.id, channel=channel, action=action,
                source=source, staff_id=who.actor.staff_id, evidence=evidence.strip() or None,
            )  # fmt: skip
            log(
                s, who, "consent.record", client_id=client.id, detail=f"{channel} {action} {source}"
            )
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
            set_no_reminders(s, who.salon, client, who.actor, on=on == "1")
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
        error = None if confirm == "1" else "forget.confirm_missing"
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
                forget(
                    s, who.salon, client, who.actor,
                    secret_key=settings.secret_key, forget_messages=files,
                )  # fmt: skip
            except AlreadyForgotten:
                return _card(
                    request, s, who, client, error=who.t("forget.already"), status_code=409
                )
            except OSError:  # an outbox file could not be rewritten, before any change was made
                logger.exception("client %s: outbox not rewritten, nothing forgotten", client_id)
                return _card(
                    request, s, who, client, error=who.t("forget.files_failed"), status_code=500
                )
        return RedirectResponse(f"/staff/clients/{client_id}?done=forgotten", 303)


def _pin_error(settings: Settings, who: Who, name: str, pin: str) -> str | None:
    """The PIN typed again for an irreversible action; wrong PINs count towards the lock-out."""
    try:
        sign_in(
            settings.database_url, who.salon.id, name, pin, pepper=settings.checked_pin_pepper()
        )
    except BadPin:
        return "login.bad_pin"
    except PinRefused as exc:
        return "forget.locked" if exc.locked_until is not None else "forget.wrong_pin"
    return None


def _consent_error(
    client: Client, channel: str, action: str, source: str, evidence: str
) -> str | None:
    if client.anonymised_at is not None:
        return "consent.forgotten"
    if channel not in ("sms", "email") or action not in ("granted", "withdrawn"):
        return "consent.invalid"
    if source not in ("oral", "form"):
        return "consent.invalid"
    if source == "form" and action == "granted" and not evidence.strip():
        return "consent.form_needs_ref"
    return None
