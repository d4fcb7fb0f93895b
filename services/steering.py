"""Steering a campaign that was queued: pause, resume, cancel, retry-failed, resolve-unknown.

The state machine itself is :mod:`dispatcher.control`; here each action is checked against the
actor's salon, logged (one access-log row, with how many deliveries it touched) and its refusal
turned into a :class:`services.errors.Conflict`. ``Steered.start`` tells the edge to hand the
campaign to the workers after it committed (resume, retry, a resend).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from db.access import Actor, log_access
from dispatcher import control
from services.errors import Conflict
from services.lookups import get_campaign


class Steer(StrEnum):
    """The actions, named as the CLI commands and the staff pages' buttons name them."""

    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    RETRY_FAILED = "retry-failed"
    RESEND_UNKNOWN = "resend-unknown"
    SENT_UNKNOWN = "sent-unknown"


# action -> (access-log action, the state change, what the count means, start workers after)
_ACTIONS: dict[Steer, tuple[str, Callable[[Session, int], object], str | None, bool]] = {
    Steer.PAUSE: ("campaign.pause", control.pause, None, False),
    Steer.RESUME: ("campaign.resume", control.resume, None, True),
    Steer.CANCEL: ("campaign.cancel", control.cancel, "not sent", False),
    Steer.RETRY_FAILED: ("campaign.retry", control.retry_failed, "queued again", True),
    Steer.RESEND_UNKNOWN: (
        "campaign.resolve",
        lambda s, cid: control.resolve_unknown(s, cid, sent=False),
        "to send again",
        True,
    ),
    Steer.SENT_UNKNOWN: (
        "campaign.resolve",
        lambda s, cid: control.resolve_unknown(s, cid, sent=True),
        "recorded as sent",
        False,
    ),
}


@dataclass(frozen=True)
class Steered:
    campaign_id: int
    action: Steer
    count: int  # deliveries touched (0 for pause and resume)
    start: bool  # the edge hands the campaign to the workers once committed


def steer(session: Session, actor: Actor, campaign_id: int, action: Steer) -> Steered:
    """Apply ``action`` to the campaign; :class:`Conflict` when its state does not allow it."""
    campaign = get_campaign(session, campaign_id, salon_id=actor.salon_id)
    logged_as, change, counted, start = _ACTIONS[action]
    status = campaign.status
    try:
        result = change(session, campaign.id)
    except control.ControlError:
        raise Conflict(
            "error.cannot_steer", id=campaign_id, action=str(action), status=status
        ) from None
    count = result if isinstance(result, int) else 0
    detail = f"{count} deliveries {counted}" if counted else None
    log_access(session, campaign.salon_id, actor, logged_as, campaign_id=campaign.id, detail=detail)
    return Steered(campaign.id, action, count, start)
