"""``salonpost campaign pause|resume|cancel|retry-failed|resolve-unknown``."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import StaffName, StaffPin, actor_for_campaign, say, session
from cli.running import run
from services.steering import Steer, Steered, steer

CampaignId = Annotated[int, typer.Argument()]


def _steer(campaign_id: int, action: Steer, staff: str | None, pin: str | None) -> Steered:
    """The action (logged, G4); resume, retry and resend then hand the campaign to the workers."""
    actor = actor_for_campaign(campaign_id, staff, pin)
    with session() as s:
        done = steer(s, actor, campaign_id, action)
    if done.start:
        run(campaign_id, wait=False)
    return done


def campaign_pause(campaign_id: CampaignId, staff: StaffName = None, pin: StaffPin = None) -> None:
    """Pause a sending campaign: nothing new is handed to the provider until resume."""
    _steer(campaign_id, Steer.PAUSE, staff, pin)
    say("cli.paused", id=campaign_id)


def campaign_resume(campaign_id: CampaignId, staff: StaffName = None, pin: StaffPin = None) -> None:
    """Resume a paused campaign where it stopped."""
    _steer(campaign_id, Steer.RESUME, staff, pin)
    say("cli.resumed", id=campaign_id)


def campaign_cancel(campaign_id: CampaignId, staff: StaffName = None, pin: StaffPin = None) -> None:
    """Cancel a campaign: deliveries not yet sent end as cancelled."""
    done = _steer(campaign_id, Steer.CANCEL, staff, pin)
    say("cli.cancelled", id=campaign_id, count=done.count)


def campaign_retry_failed(
    campaign_id: CampaignId, staff: StaffName = None, pin: StaffPin = None
) -> None:
    """Send again the deliveries that failed for a passing cause (provider down, set-up)."""
    done = _steer(campaign_id, Steer.RETRY_FAILED, staff, pin)
    say("cli.retried", id=campaign_id, count=done.count)


def campaign_resolve_unknown(
    campaign_id: CampaignId,
    sent: Annotated[
        bool, typer.Option("--sent/--resend", help="Record them as sent, or send them again")
    ],
    staff: StaffName = None,
    pin: StaffPin = None,
) -> None:
    """Decide deliveries the provider could not settle (SMTP): sent, or send again."""
    action = Steer.SENT_UNKNOWN if sent else Steer.RESEND_UNKNOWN
    done = _steer(campaign_id, action, staff, pin)
    say("cli.resolved", id=campaign_id, count=done.count)


def register(campaign_app: typer.Typer) -> None:
    """Add the steering commands to ``salonpost campaign``."""
    campaign_app.command("pause")(campaign_pause)
    campaign_app.command("resume")(campaign_resume)
    campaign_app.command("cancel")(campaign_cancel)
    campaign_app.command("retry-failed")(campaign_retry_failed)
    campaign_app.command("resolve-unknown")(campaign_resolve_unknown)
