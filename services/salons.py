"""Salon use cases: create a salon, change its settings (window, minors, quiet hours, senders,
automatic forgetting). One access-log row names every setting that changed."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.access import Actor, log_access
from db.models import Salon, utcnow
from db.states import MAX_WINDOW_MONTHS
from gate.contacts import normalise_email
from services.errors import BadInput, Conflict
from services.rights import MAX_RETENTION_MONTHS, set_retention

_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
# Alphanumeric sender ids: 1-11 characters, at least one letter; or a phone number.
_SENDER = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}|\+[1-9][0-9]{6,14}")
MAX_MINOR_AGE = 21


def create(
    session: Session,
    slug: str,
    name: str,
    *,
    gate_on: str | None = None,
    timezone: str = "Europe/Berlin",
    region: str = "DE",
) -> Salon:
    """``salon create``: clients created from ``gate_on`` (YYYY-MM-DD, default today in the
    salon's time zone) on need explicit consent (R5)."""
    try:
        zone = ZoneInfo(timezone)
    except (ValueError, ZoneInfoNotFoundError):
        raise BadInput("error.bad_option", field="timezone", what=timezone) from None
    try:
        day = dt.date.fromisoformat(gate_on) if gate_on else utcnow().astimezone(zone).date()
    except ValueError as exc:
        raise BadInput("error.bad_option", field="gate_on", what=exc) from None
    if session.scalar(select(Salon.id).where(Salon.slug == slug)) is not None:
        raise Conflict("error.salon_exists", slug=slug)
    salon = Salon(slug=slug, name=name, gate_on=day, timezone=timezone, default_region=region)
    session.add(salon)
    session.flush()
    return salon


class SalonSettings(BaseModel):
    """The salon settings form, as typed (strings); :meth:`errors` says what is wrong."""

    model_config = ConfigDict(frozen=True)

    window_months: str = str(MAX_WINDOW_MONTHS)
    minor_age: str = "16"
    retention_months: str = "0"
    quiet_start: str = "20:00"
    quiet_end: str = "08:00"
    sms_sender: str = ""
    email_from: str = ""

    @classmethod
    def of(cls, salon: Salon) -> SalonSettings:
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
        """field -> catalogue key of what is wrong with it."""
        found: dict[str, str] = {}
        for name, low, high in (
            ("window_months", 1, MAX_WINDOW_MONTHS),
            ("minor_age", 0, MAX_MINOR_AGE),
            ("retention_months", 0, MAX_RETENTION_MONTHS),
        ):
            value = getattr(self, name).strip()
            if not value.isdigit() or not low <= int(value) <= high:
                found[name] = f"error.salon_{name}"
        for name in ("quiet_start", "quiet_end"):
            if not _TIME.fullmatch(getattr(self, name).strip()):
                found[name] = "error.salon_time"
        if self.sms_sender.strip() and not _SENDER.fullmatch(self.sms_sender.strip()):
            found["sms_sender"] = "error.salon_sender"
        if self.email_from.strip() and normalise_email(self.email_from) is None:
            found["email_from"] = "error.salon_email"
        return found

    def values(self) -> dict[str, object]:
        """Every setting but retention, as stored."""
        return {
            "window_months": int(self.window_months),
            "minor_age": int(self.minor_age),
            "quiet_start": self.quiet_start.strip(),
            "quiet_end": self.quiet_end.strip(),
            "sms_sender": self.sms_sender.strip() or None,
            "email_from": normalise_email(self.email_from) if self.email_from.strip() else None,
        }


class SettingsRefused(BadInput):
    """The settings form has errors: ``errors`` is field -> catalogue key."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("error.settings_invalid", field=next(iter(errors)))


def update_settings(session: Session, actor: Actor, salon: Salon, form: SalonSettings) -> None:
    """Save the salon settings; one access-log row names what changed (never a sender)."""
    errors = form.errors()
    if errors:
        raise SettingsRefused(errors)
    values = form.values()
    changed = [name for name, value in values.items() if getattr(salon, name) != value]
    for name in changed:
        setattr(salon, name, values[name])
    detail = " ".join(f"{name}={getattr(salon, name)}" for name in changed if "from" not in name)
    months = int(form.retention_months) or None
    if months != salon.retention_months:
        set_retention(session, actor, salon, months, also=detail)  # the one row names both
        return
    log_access(session, salon.id, actor, "salon.settings", detail=detail or "unchanged")
