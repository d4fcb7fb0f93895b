"""Sign in (salon, name, PIN) and sign out.

Wrong PINs count towards the lock-out exactly as on the command line
(:func:`services.staff.sign_in`); an unknown salon, an unknown name and a wrong PIN get the same
answer. The sign-in form has its own CSRF token (a random value in a short-lived cookie, echoed
by the form).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from db.access import Actor
from services import transaction
from services.errors import BadInput, Forbidden, NotFound
from services.lookups import get_salon
from services.staff import sign_in
from settings import Settings
from web.i18n import Translator
from web.staff.auth import (
    COOKIE,
    LOGIN_COOKIE,
    new_csrf,
    same_token,
    session_data,
    set_cookie,
    start_session,
)
from web.staff.render import render, translator


def _form(
    request: Request, t: Translator, *, error: str | None = None, status_code: int = 200, **v: str
) -> Response:
    token = new_csrf()
    response = render(
        request, "staff/login.html", t, csrf=token, error=error, status_code=status_code, **v
    )
    set_cookie(request, response, LOGIN_COOKIE, token, 1800)
    return response


def _refusal(exc: Exception, t: Translator) -> str:
    if isinstance(exc, BadInput):
        return t("staff.login.bad_pin")
    if isinstance(exc, Forbidden) and exc.locked_until is not None:
        return t("staff.login.locked", until=t.datetime(exc.locked_until))
    return t("staff.login.refused")


def router(settings: Settings) -> APIRouter:
    r = APIRouter()

    @r.get("/staff")
    def staff_home(request: Request) -> Response:
        target = "/staff/campaigns" if session_data(request, settings) else "/staff/login"
        return RedirectResponse(target, status_code=303)

    @r.get("/staff/login")
    def login_page(request: Request) -> Response:
        return _form(request, translator(request))

    @r.post("/staff/login")
    def login(
        request: Request,
        salon: Annotated[str, Form()] = "",
        name: Annotated[str, Form()] = "",
        pin: Annotated[str, Form()] = "",
        csrf_token: Annotated[str, Form()] = "",
    ) -> Response:
        t = translator(request)
        if not same_token(request.cookies.get(LOGIN_COOKIE) or "", csrf_token):
            return _form(request, t, error=t("staff.error.csrf"), status_code=403)
        try:
            actor = _sign_in(settings, salon.strip(), name, pin)
        except (NotFound, BadInput, Forbidden) as exc:
            return _form(
                request, t, error=_refusal(exc, t), status_code=401, salon=salon, name=name
            )
        response = RedirectResponse("/staff/campaigns", status_code=303)
        start_session(request, response, settings, actor)
        return response

    @r.post("/staff/logout")
    def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
        data = session_data(request, settings)
        response = RedirectResponse("/staff/login", status_code=303)
        if data is not None and same_token(data.csrf, csrf_token):
            response.delete_cookie(COOKIE, path="/")
        return response

    return r


def _sign_in(settings: Settings, slug: str, name: str, pin: str) -> Actor:
    pepper = settings.checked_pin_pepper()
    with transaction(settings.database_url) as session:
        salon_id = get_salon(session, slug).id
    return sign_in(settings.database_url, salon_id, name, pin, pepper=pepper)
