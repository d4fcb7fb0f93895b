"""Salon settings: recency window, minors' age, retention, quiet hours and sender ids.

Automatic forgetting goes through :func:`dispatcher.retention.set_retention` (which starts the
schedule when switched on); one access-log row names every field that changed.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import AccessLog, Salon
from dispatcher.retention import set_retention
from gate.contacts import normalise_email
from settings import Settings
from web.staff.audit import log
from web.staff.auth import Who, acting
from web.staff.render import render

_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
# Alphanumeric sender ids: 1-11 characters, at least one letter; or a phone number.
_SENDER = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}|\+[1-9][0-9]{6,14}")


class SalonInput(BaseModel):
    csrf_token: str = ""
    window_months: str = "36"
    minor_age: str = "16"
    retention_months: str = "0"
    quiet_start: str = "20:00"
    quiet_end: str = "08:00"
    sms_sender: str = ""
    email_from: str = ""

    @classmethod
    def of(cls, salon: Salon) -> SalonInput:
        return cls(
            window_months=str(salon.window_months),
            minor_age=str(salon.minor_age),
            retention_months=str(salon.retention_months or 0),
            quiet_start=salon.quiet_start,
            quiet_end=salon.quiet_end,
            sms_sender=salon.sms_sender or "",
            email_from=salon.email_from or "",
        )

    def errors(self) -> dict[str, str]:
        """field -> text key of what is wrong with it."""
        found: dict[str, str] = {}
        for name, low, high in (
            ("window_months", 1, 36),
            ("minor_age", 0, 21),
            ("retention_months", 0, 240),
        ):
            value = getattr(self, name).strip()
            if not value.isdigit() or not low <= int(value) <= high:
                found[name] = f"salon.error_{name}"
        for name in ("quiet_start", "quiet_end"):
            if not _TIME.fullmatch(getattr(self, name).strip()):
                found[name] = "salon.error_time"
        if self.sms_sender.strip() and not _SENDER.fullmatch(self.sms_sender.strip()):
            found["sms_sender"] = "salon.error_sender"
        if self.email_from.strip() and normalise_email(self.email_from) is None:
            found["email_from"] = "salon.error_email"
        return found


def _apply(salon: Salon, form: SalonInput) -> list[str]:
    """Set every field but retention; the names of those that changed."""
    values: dict[str, object] = {
        "window_months": int(form.window_months),
        "minor_age": int(form.minor_age),
        "quiet_start": form.quiet_start.strip(),
        "quiet_end": form.quiet_end.strip(),
        "sms_sender": form.sms_sender.strip() or None,
        "email_from": normalise_email(form.email_from) if form.email_from.strip() else None,
    }
    changed = [name for name, value in values.items() if getattr(salon, name) != value]
    for name in changed:
        setattr(salon, name, values[name])
    return changed


def _save(s: Session, who: Who, form: SalonInput) -> None:
    salon = who.salon
    changed = _apply(salon, form)
    months = int(form.retention_months) or None
    detail = " ".join(f"{name}={getattr(salon, name)}" for name in changed if "from" not in name)
    if months != salon.retention_months:
        set_retention(s, salon, months, who.actor)  # writes the access-log row itself
        row = s.scalar(
            select(AccessLog)
            .where(AccessLog.salon_id == salon.id, AccessLog.staff_id == who.actor.staff_id)
            .order_by(AccessLog.id.desc())
            .limit(1)
        )
        if row is not None:  # the same one row names the other changes too
            row.detail = f"web settings {row.detail} {detail}".strip()[:500]
        return
    log(s, who, "salon.settings", detail=detail or "unchanged")


def router(settings: Settings) -> APIRouter:
    r = APIRouter(prefix="/staff/salon")

    @r.get("")
    def salon_page(request: Request) -> Response:
        with acting(request, settings) as (_s, who):
            done = request.query_params.get("done") == "saved"
            return render(
                request, "staff/salon.html", who.t, who=who, form=SalonInput.of(who.salon),
                errors={}, done="done.settings" if done else None,
            )  # fmt: skip

    @r.post("")
    def save(request: Request, form: Annotated[SalonInput, Form()]) -> Response:
        with acting(request, settings, csrf_token=form.csrf_token, change=True) as (s, who):
            errors = form.errors()
            if errors:
                return render(
                    request, "staff/salon.html", who.t, who=who, form=form, errors=errors,
                    status_code=422,
                )  # fmt: skip
            _save(s, who, form)
        return RedirectResponse("/staff/salon?done=saved", 303)

    return r
