"""What the provider webhook readers share: the event they return and the checks they make.

Every reader runs its checks in one order, and only the last one changes anything::

    1. authenticity   signature / credentials          BadSignature, WebhookNotConfigured
    2. freshness      the signed time is recent         StaleEvent
    3. format         the provider's event shape        MalformedEvent
    4. replay         claim the token / event id once   ReplayedEvent
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from channels.bounces.errors import MalformedEvent, ReplayedEvent, StaleEvent
from channels.bounces.replay import ReplayGuard
from channels.bounces.report import BounceReport

CLOCK_SKEW = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class WebhookEvent:
    """One accepted provider event. `report` is None when the event changes nothing (a
    delivery, an open, a subscription confirmation)."""

    provider: str  # "ses", "mailgun", "postmark"
    event_id: str
    replay_key: str  # release it when the event could not be processed
    report: BounceReport | None
    occurred_at: dt.datetime | None = None
    provider_message_id: str | None = None  # the provider's own id of our message
    # SNS SubscriptionConfirmation: GET this URL (once) to confirm the subscription.
    subscribe_url: str | None = None


def load_object(body: bytes | str | Mapping[str, Any], provider: str) -> dict[str, Any]:
    """The JSON object of a webhook body."""
    if isinstance(body, Mapping):
        return dict(body)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedEvent(f"{provider} event is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise MalformedEvent(f"{provider} event is not a JSON object")
    return data


def text_field(data: Mapping[str, Any], name: str, provider: str) -> str:
    """A required non-empty string field."""
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedEvent(f"{provider} event has no {name}")
    return value


def mapping_field(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """An optional object field ({} when missing or not an object)."""
    value = data.get(name)
    return value if isinstance(value, Mapping) else {}


def check_fresh(
    signed_at: dt.datetime, *, now: dt.datetime, max_age: dt.timedelta, provider: str
) -> None:
    """Refuse an event signed more than `max_age` ago, or further in the future than the
    clock skew allows."""
    if signed_at < now - max_age:
        raise StaleEvent(f"{provider} event was signed {now - signed_at} ago (limit {max_age})")
    if signed_at > now + CLOCK_SKEW:
        raise StaleEvent(f"{provider} event is signed in the future ({signed_at.isoformat()})")


def claim_once(guard: ReplayGuard, key: str, *, ttl: dt.timedelta, provider: str) -> str:
    """Claim `key`, or refuse the event as a replay."""
    if not guard.claim(key, ttl=ttl.total_seconds()):
        raise ReplayedEvent(f"{provider} event {key!r} was taken before")
    return key


def now_utc(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ValueError("now must carry a time zone")
    return now


def bracketed(message_id: object) -> str | None:
    """A Message-ID as our deliveries store it: with angle brackets."""
    if not isinstance(message_id, str) or not message_id.strip():
        return None
    value = message_id.strip()
    return value if value.startswith("<") else f"<{value}>"


def optional_text(data: Mapping[str, Any], name: str) -> str | None:
    """An optional string field (None when missing, empty or not a string)."""
    value = data.get(name)
    return value if isinstance(value, str) and value else None
