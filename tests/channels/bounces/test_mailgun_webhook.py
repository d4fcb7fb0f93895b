"""Mailgun events: signed ones are read; forged, unsigned, stale and replayed ones are refused
and use up nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from bounce_support import sample_verp
from webhook_support import MAILGUN_KEY, NOW, mailgun_failed, mailgun_signed

from channels.bounces.errors import (
    BadSignature,
    MalformedEvent,
    ReplayedEvent,
    StaleEvent,
    WebhookNotConfigured,
)
from channels.bounces.replay import MemoryReplayGuard
from channels.bounces.report import BounceKind
from channels.bounces.webhooks.common import WebhookEvent
from channels.bounces.webhooks.mailgun import read_mailgun_event


@pytest.fixture
def guard() -> MemoryReplayGuard:
    return MemoryReplayGuard()


def _read(body: Any, guard: MemoryReplayGuard, **kwargs: Any) -> WebhookEvent:
    options: dict[str, Any] = {"signing_key": MAILGUN_KEY, "now": NOW}
    return read_mailgun_event(body, guard=guard, verp=sample_verp(), **(options | kwargs))


def test_a_signed_permanent_failure_is_a_hard_bounce_of_its_delivery(
    guard: MemoryReplayGuard,
) -> None:
    sender = sample_verp().return_path(88, 3)
    event = _read(json.dumps(mailgun_signed(mailgun_failed(sender=sender))).encode(), guard)
    report = event.report
    assert report is not None
    assert (report.kind, report.addresses, report.status) == (
        BounceKind.HARD,
        ("ole.berg@kunde.example",),
        "5.1.1",
    )
    assert report.reference is not None and (
        report.reference.delivery_id,
        report.reference.salon_id,
    ) == (88, 3)
    assert report.original_message_id == "<171282000000.3.88.c22-d88@salon-anna.example>"
    assert (event.provider, event.event_id, report.source) == (
        "mailgun",
        "G9Bn5sl1TC6nu79C8C0bwg",
        "mailgun",
    )


@pytest.mark.parametrize(
    ("severity", "reason", "code", "message", "kind", "delayed"),
    [
        (
            "permanent",
            "bounce",
            550,
            "5.1.1 The email account does not exist",
            BounceKind.HARD,
            False,
        ),
        ("permanent", "bounce", 550, "Requested action not taken", BounceKind.HARD, False),
        ("permanent", "bounce", 552, "5.2.2 Mailbox full", BounceKind.SOFT, False),
        ("permanent", "bounce", 554, "5.7.1 Message rejected as spam", BounceKind.POLICY, False),
        ("permanent", "generic", 550, "Something went wrong", BounceKind.UNKNOWN, False),
        ("permanent", "old", 421, "Too old, retries given up", BounceKind.SOFT, False),
        (
            "permanent",
            "suppress-bounce",
            605,
            "Not delivering to previously bounced address",
            BounceKind.HARD,
            False,
        ),
        (
            "permanent",
            "suppress-complaint",
            607,
            "Not delivering to a user who marked you as spam",
            BounceKind.COMPLAINT,
            False,
        ),
        ("permanent", "espblock", 550, "blocked by the ESP", BounceKind.POLICY, False),
        (
            "temporary",
            "generic",
            452,
            "4.2.2 The email account is over quota",
            BounceKind.SOFT,
            True,
        ),
        (
            "temporary",
            "generic",
            421,
            "4.7.0 Try again later, rate limited",
            BounceKind.POLICY,
            True,
        ),
    ],
)
def test_mailgun_failures_map_to_our_kinds(
    severity: str,
    reason: str,
    code: int,
    message: str,
    kind: BounceKind,
    delayed: bool,
    guard: MemoryReplayGuard,
) -> None:
    event = _read(
        mailgun_signed(mailgun_failed(severity, reason, code=code, message=message)), guard
    )
    assert event.report is not None
    assert [(r.kind, r.delayed) for r in event.report.recipients] == [(kind, delayed)]


def test_a_complaint_and_a_delivery(guard: MemoryReplayGuard) -> None:
    complained = {
        "event": "complained",
        "id": "c1",
        "recipient": "Ole.Berg@kunde.example",
        "timestamp": 1712826000,
    }
    report = _read(mailgun_signed(complained, token="t" * 50), guard).report
    assert report is not None and report.kind == BounceKind.COMPLAINT
    delivered = {"event": "delivered", "id": "d1", "recipient": "ole.berg@kunde.example"}
    assert _read(mailgun_signed(delivered, token="u" * 50), guard).report is None


def test_a_forged_signature_is_refused(guard: MemoryReplayGuard) -> None:
    body = mailgun_signed(mailgun_failed())
    body["signature"]["signature"] = "0" * 64
    with pytest.raises(BadSignature, match="does not match"):
        _read(body, guard)


def test_a_body_signed_with_another_key_is_refused(guard: MemoryReplayGuard) -> None:
    with pytest.raises(BadSignature):
        _read(mailgun_signed(mailgun_failed(), key="key-someone-else"), guard)


def test_a_changed_token_or_timestamp_breaks_the_signature(guard: MemoryReplayGuard) -> None:
    body = mailgun_signed(mailgun_failed())
    for name, value in (("token", "b" * 50), ("timestamp", str(int(NOW.timestamp()) - 1))):
        altered = json.loads(json.dumps(body))
        altered["signature"][name] = value
        with pytest.raises(BadSignature):
            _read(altered, guard)


@pytest.mark.parametrize(
    "signature", [None, {}, {"timestamp": "abc", "token": "t", "signature": "s"}]
)
def test_an_unsigned_event_is_refused(
    signature: dict[str, str] | None, guard: MemoryReplayGuard
) -> None:
    body: dict[str, Any] = {"event-data": mailgun_failed()}
    if signature is not None:
        body["signature"] = signature
    with pytest.raises(BadSignature):
        _read(body, guard)


@pytest.mark.parametrize("offset", [-16 * 60, 6 * 60])
def test_a_stale_or_future_signature_is_refused(offset: int, guard: MemoryReplayGuard) -> None:
    with pytest.raises(StaleEvent):
        _read(mailgun_signed(mailgun_failed(), timestamp=int(NOW.timestamp()) + offset), guard)


def test_a_replayed_token_is_refused(guard: MemoryReplayGuard) -> None:
    body = mailgun_signed(mailgun_failed())
    _read(body, guard)
    with pytest.raises(ReplayedEvent):
        _read(body, guard)


def test_refused_events_use_up_no_token(guard: MemoryReplayGuard) -> None:
    genuine = mailgun_signed(mailgun_failed())
    forged = json.loads(json.dumps(genuine))
    forged["signature"]["signature"] = "f" * 64
    stale = mailgun_signed(mailgun_failed(), timestamp=int(NOW.timestamp()) - 3600)
    malformed = mailgun_signed({"event": "failed"})  # no recipient
    for refused, error in (
        (forged, BadSignature),
        (stale, StaleEvent),
        (malformed, MalformedEvent),
    ):
        with pytest.raises(error):
            _read(refused, guard)
    assert _read(genuine, guard).report is not None  # the same token, still taken once


def test_without_a_signing_key_nothing_is_accepted(guard: MemoryReplayGuard) -> None:
    with pytest.raises(WebhookNotConfigured):
        _read(mailgun_signed(mailgun_failed()), guard, signing_key="")


@pytest.mark.parametrize("body", [b"{", b"[1]", json.dumps({"signature": {}}).encode()])
def test_a_body_that_is_no_mailgun_event_is_refused(body: bytes, guard: MemoryReplayGuard) -> None:
    with pytest.raises((MalformedEvent, BadSignature)):
        _read(body, guard)
