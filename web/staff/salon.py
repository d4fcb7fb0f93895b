"""Salon settings: recency window, minors' age, retention, quiet hours and sender ids.

The form is :class:`services.salons.SalonSettings`, saved by :func:`services.salons.update_settings`
(automatic forgetting starts its schedule when switched on); one access-log row names every
field that changed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from services.salons import SalonSettings, SettingsRefused, update_settings
from settings import Settings
from web.staff.auth import acting
from web.staff.render import render


class SalonInput(SalonSettings):
    """The settings form as posted, with its CSRF token."""

    csrf_token: str = ""

    def settings(self) -> SalonSettings:
        return SalonSettings(**self.model_dump(exclude={"csrf_token"}))


def router(settings: Settings) -> APIRouter:
    r = APIRouter(prefix="/staff/salon")

    @r.get("")
    def salon_page(request: Request) -> Response:
        with acting(request, settings) as (_s, who):
            done = request.query_params.get("done") == "saved"
            return render(
                request, "staff/salon.html", who.t, who=who, form=SalonSettings.of(who.salon),
                errors={}, done="staff.done.settings" if done else None,
            )  # fmt: skip

    @r.post("")
    def save(request: Request, form: Annotated[SalonInput, Form()]) -> Response:
        with acting(request, settings, csrf_token=form.csrf_token, change=True) as (s, who):
            try:
                update_settings(s, who.actor, who.salon, form.settings())
            except SettingsRefused as refused:
                return render(
                    request, "staff/salon.html", who.t, who=who, form=form,
                    errors=refused.errors, status_code=422,
                )  # fmt: skip
        return RedirectResponse("/staff/salon?done=saved", 303)

    return r
