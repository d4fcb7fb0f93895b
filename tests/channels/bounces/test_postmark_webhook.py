"""Postmark events: authenticated ones (basic auth or a secret header) are read; others, and
replays, are refused and use up nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from webhook_support import basic_auth, postmark_bounce

from channels.bounces.errors import (
    BadSignature,
    MalformedEvent,
    ReplayedEvent,
    WebhookNotConfigured,
)
from channels.bounces.replay import MemoryReplayGuard
from channels.bounces.report import BounceKind
from channels.bounces.webhooks.common import WebhookEvent
from channels.bounces.webhooks.postmark import read_postmark_event

USER, PASSWORD = "salonpost", "a-long-random-webhook-password"
HEADER = ("X-Salonpost-Webhook", "another-long-random-value")


@pytest.fixture
def guard() -> MemoryReplayGuard:
    return MemoryReplayGuard()


def _read(
    body: Any, headers: dict[str, str], guard: MemoryReplayGuard, **kwargs: Any
) -> WebhookEvent:
    options: dict[str, Any] = {"basic_auth": (USER, PASSWORD)}
    return read_postmark_event(body, headers=headers, guard=guard, **(options | kwargs))


def test_a_bounce_with_the_right_basic_auth_is_read(guard: MemoryReplayGuard) -> None:
    event = _read(json.dumps(postmark_bounce()).encode(), basic_auth(USER, PASSWORD), guard)
    assert event.report is not None
    assert (event.report.kind, event.report.addresses, event.report.status) == (
        BounceKind.HARD,
        ("rita.lange@kunde.example",),
        "5.1.1",
    )
    assert (event.event_id, event.provider_message_id) == (
        "4323372036854775807",
        "883953f4-6105-42a2-a16a-77a8eac79483",
    )
    assert event.occurred_at is not None and event.occurred_at.year == 2024


def test_a_secret_header_authenticates_too_and_both_are_required_when_both_are_set(
    guard: MemoryReplayGuard,
) -> None:
    headers = {HEADER[0].lower(): HEADER[1]}
    assert _read(postmark_bounce(), headers, guard, basic_auth=None, secret_header=HEADER).report
    with pytest.raises(BadSignature, match="basic auth"):
        _read(postmark_bounce(), headers, MemoryReplayGuard(), secret_header=HEADER)
    both = basic_auth(USER, PASSWORD) | {HEADER[0]: HEADER[1]}
    assert _read(postmark_bounce(), both, MemoryReplayGuard(), secret_header=HEADER).report


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic_auth(USER, "wrong"),
        basic_auth("someone", PASSWORD),
        {"Authorization": "Bearer " + PASSWORD},
        {"Authorization": "Basic not-base64!"},
    ],
)
def test_missing_or_wrong_credentials_are_refused(
    headers: dict[str, str], guard: MemoryReplayGuard
) -> None:
    with pytest.raises(BadSignature):
        _read(postmark_bounce(), headers, guard)
    assert _read(postmark_bounce(), basic_auth(USER, PASSWORD), guard).report  # nothing used up


def test_a_wrong_secret_header_is_refused(guard: MemoryReplayGuard) -> None:
    with pytest.raises(BadSignature, match=HEADER[0]):
        _read(postmark_bounce(), {HEADER[0]: "guess"}, guard, basic_auth=None, secret_header=HEADER)


def test_without_credentials_configured_nothing_is_accepted(guard: MemoryReplayGuard) -> None:
    with pytest.raises(WebhookNotConfigured):
        _read(postmark_bounce(), basic_auth(USER, PASSWORD), guard, basic_auth=None)


def test_a_replayed_event_is_refused(guard: MemoryReplayGuard) -> None:
    _read(postmark_bounce(), basic_auth(USER, PASSWORD), guard)
    with pytest.raises(ReplayedEvent):
        _read(postmark_bounce(), basic_auth(USER, PASSWORD), guard)


@pytest.mark.parametrize(
    ("bounce_type", "details", "kind", "delayed"),
    [
        ("HardBounce", "smtp;550 5.1.1 user unknown", BounceKind.HARD, False),
        ("HardBounce", "smtp;550 5.7.1 blocked by policy", BounceKind.POLICY, False),
        ("BadEmailAddress", "", BounceKind.HARD, False),
        ("SoftBounce", "smtp;452 4.2.2 mailbox full", BounceKind.SOFT, False),
        ("Transient", "smtp;421 4.4.2 connection dropped", BounceKind.SOFT, True),
        ("DnsError", "", BounceKind.SOFT, False),
        ("Blocked", "smtp;554 5.7.1 listed at spamhaus", BounceKind.POLICY, False),
        ("DMARCPolicy", "", BounceKind.POLICY, False),
        ("AutoResponder", "", BounceKind.AUTO_REPLY, False),
        ("ChallengeVerification", "", BounceKind.AUTO_REPLY, False),
        ("SpamComplaint", "", BounceKind.COMPLAINT, False),
        ("Unsubscribe", "", BounceKind.UNKNOWN, False),
        ("Unknown", "", BounceKind.UNKNOWN, False),
    ],
)
def test_postmark_bounce_types_map_to_our_kinds(
    bounce_type: str, details: str, kind: BounceKind, delayed: bool, guard: MemoryReplayGuard
) -> None:
    report = _read(postmark_bounce(bounce_type, details), basic_auth(USER, PASSWORD), guard).report
    assert report is not None
    assert [(r.kind, r.delayed) for r in report.recipients] == [(kind, delayed)]


def test_a_spam_complaint_and_a_delivery(guard: MemoryReplayGuard) -> None:
    complaint = {
        "RecordType": "SpamComplaint",
        "ID": 42,
        "Type": "SpamComplaint",
        "Email": "a@b.example",
        "MessageID": "m",
    }
    report = _read(complaint, basic_auth(USER, PASSWORD), guard).report
    assert report is not None and report.kind == BounceKind.COMPLAINT
    delivery = {"RecordType": "Delivery", "MessageID": "m2", "Recipient": "a@b.example"}
    assert _read(delivery, basic_auth(USER, PASSWORD), guard).report is None


@pytest.mark.parametrize(
    "body", [b"nope", {"ID": 1}, {"RecordType": "Bounce", "ID": 2, "Type": "HardBounce"}]
)
def test_a_body_that_is_no_postmark_event_is_malformed_and_uses_up_nothing(
    body: Any, guard: MemoryReplayGuard
) -> None:
    with pytest.raises(MalformedEvent):
        _read(body, basic_auth(USER, PASSWORD), guard)
    assert guard.claim("postmark:Bounce:2", ttl=60)
