"""The staff web UI: sign in with a PIN, campaigns, clients and salon settings (server-rendered).

:func:`install` adds the routers, the error pages and /static to the app of :mod:`web.app`.
Pages work with plain forms; a small script (static/staff.js) adds the live check, the
placeholder picker and live progress where JavaScript runs. The routes call the use cases of
:mod:`services`; every error of :mod:`services.errors` a route does not show in its own form
ends in ONE handler here: the staff error page with 404, 403, 409 or 422.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from services.errors import (
    BadInput,
    Conflict,
    Forbidden,
    NotFound,
    Refused,
    SalonpostError,
    Unavailable,
)
from settings import Settings
from web.pages import PAGES
from web.staff import campaigns, clients, login, salon
from web.staff.auth import COOKIE, StaffAuthError
from web.staff.render import render, translator
from web.staff.sending import Dispatch

STATUS = {
    NotFound: 404,
    Forbidden: 403,
    Refused: 409,
    Conflict: 409,
    BadInput: 422,
    Unavailable: 503,
}


def status_of(error: SalonpostError) -> int:
    return next((code for kind, code in STATUS.items() if isinstance(error, kind)), 409)


def install(app: FastAPI, settings: Settings) -> Dispatch:
    dispatch = Dispatch(settings)
    app.include_router(login.router(settings))
    app.include_router(campaigns.router(settings, dispatch))
    app.include_router(clients.router(settings))
    app.include_router(salon.router(settings))
    app.mount("/static", StaticFiles(directory=PAGES / "static"), name="static")
    app.add_exception_handler(StaffAuthError, _auth_error)  # type: ignore[arg-type]
    app.add_exception_handler(SalonpostError, _error)  # type: ignore[arg-type]
    return dispatch


def _auth_error(request: Request, exc: StaffAuthError) -> Response:
    t = translator(request)
    if exc.reason == "signed_out":
        if "application/json" in request.headers.get("accept", ""):
            return Response(status_code=401)
        return RedirectResponse("/staff/login", status_code=303)
    response = render(
        request, "staff/error.html", t, message=t(f"staff.error.{exc.reason}"), status_code=403
    )
    if exc.reason == "locked":
        response.delete_cookie(COOKIE, path="/")
    return response


def _error(request: Request, exc: SalonpostError) -> Response:
    """The one answer to a use-case error: the error page in the staff member's language."""
    t = translator(request)
    # "Not found" says nothing more: another salon's thing is the same as none (no ids echoed).
    message = t("staff.error.not_found") if isinstance(exc, NotFound) else exc.message(t.lang)
    return render(request, "staff/error.html", t, message=message, status_code=status_of(exc))
