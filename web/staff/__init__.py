"""The staff web UI: sign in with a PIN, campaigns, clients and salon settings (server-rendered).

:func:`install` adds the routers, the error pages and /static to the app of :mod:`web.app`.
Pages work with plain forms; a small script (static/staff.js) adds the live check, the
placeholder picker and live progress where JavaScript runs.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from services.lookups import NotFound
from settings import Settings
from web.pages import PAGES
from web.staff import campaigns, clients, login, salon
from web.staff.auth import COOKIE, StaffAuthError
from web.staff.render import render, translator
from web.staff.sending import Dispatch


def install(app: FastAPI, settings: Settings) -> Dispatch:
    dispatch = Dispatch(settings)
    app.include_router(login.router(settings))
    app.include_router(campaigns.router(settings, dispatch))
    app.include_router(clients.router(settings))
    app.include_router(salon.router(settings))
    app.mount("/static", StaticFiles(directory=PAGES / "static"), name="static")
    app.add_exception_handler(StaffAuthError, _auth_error)  # type: ignore[arg-type]
    app.add_exception_handler(NotFound, _not_found)  # type: ignore[arg-type]
    return dispatch


def _auth_error(request: Request, exc: StaffAuthError) -> Response:
    t = translator(request)
    if exc.reason == "signed_out":
        if "application/json" in request.headers.get("accept", ""):
            return Response(status_code=401)
        return RedirectResponse("/staff/login", status_code=303)
    response = render(
        request, "staff/error.html", t, message=t(f"error.{exc.reason}"), status_code=403
    )
    if exc.reason == "locked":
        response.delete_cookie(COOKIE, path="/")
    return response


def _not_found(request: Request, exc: NotFound) -> Response:
    t = translator(request)
    return render(request, "staff/error.html", t, message=t("error.not_found"), status_code=404)
