"""Amazon SES events via SNS: signed ones are read, forged, foreign, stale, replayed or unsigned
ones are refused and use up nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from bounce_support import sample_verp
from webhook_support import (
    CERT_URL,
    NOW,
    TOPIC,
    SnsSigner,
    new_signer,
    ses_bounce,
    sns_notification,
)

from channels.bounces.errors import (
    BadSignature,
    CertificateUnavailable,
    MalformedEvent,
    ReplayedEvent,
    StaleEvent,
    WebhookNotConfigured,
)
from channels.bounces.replay import MemoryReplayGuard
from channels.bounces.report import BounceKind
from channels.bounces.webhooks.common import WebhookEvent
from channels.bounces.webhooks.ses import read_ses_event
from channels.bounces.webhooks.sns import string_to_sign


@pytest.fixture(scope="module")
def signer() -> SnsSigner:
    return new_signer()


@pytest.fixture
def guard() -> MemoryReplayGuard:
    return MemoryReplayGuard()


def _read(body: Any, signer: SnsSigner, guard: MemoryReplayGuard, **kwargs: Any) -> WebhookEvent:
    options: dict[str, Any] = {"fetch_certificate": signer.fetch, "topic_arns": {TOPIC}, "now": NOW}
    return read_ses_event(body, guard=guard, verp=sample_verp(), **(options | kwargs))


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_signed_bounce_is_read(version: str, signer: SnsSigner, guard: MemoryReplayGuard) -> None:
    verp = sample_verp().return_path(4711, 3)
    body = json.dumps(signer.sign(sns_notification(ses_bounce(source=verp)), version=version))
    event = _read(body.encode(), signer, guard)
    assert event.report is not None
    assert (event.report.kind, event.report.addresses, event.report.status) == (
        BounceKind.HARD,
        ("jana.wolf@kundin.example",),
        "5.1.1",
    )
    assert event.report.reference is not None and event.report.reference.delivery_id == 4711
    assert event.report.original_message_id == "<171282000000.3.4711.c22-d4711@salon-anna.example>"
    assert event.report.source == "ses"
    assert event.provider_message_id == "0107018ec7b0a000-aaaa-bbbb-cccc-dddd-000000"


def test_the_string_to_sign_is_the_one_aws_documents() -> None:
    message = {
        "Type": "Notification",
        "MessageId": "m-1",
        "TopicArn": TOPIC,
        "Subject": "Amazon SES Email Event Notification",
        "Message": "{}",
        "Timestamp": "2024-04-11T09:00:00.000Z",
    }
    assert (
        string_to_sign(message, "Notification")
        == (
            "Message\n{}\nMessageId\nm-1\nSubject\nAmazon SES Email Event Notification\n"
            f"Timestamp\n2024-04-11T09:00:00.000Z\nTopicArn\n{TOPIC}\nType\nNotification\n"
        ).encode()
    )
    without_subject = {k: v for k, v in message.items() if k != "Subject"}
    assert b"Subject" not in string_to_sign(without_subject, "Notification")


def test_a_subscription_confirmation_gives_the_url_to_confirm(
    signer: SnsSigner, guard: MemoryReplayGuard
) -> None:
    url = "https://sns.eu-central-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=x&Token=abc"
    message = {
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a74",
        "TopicArn": TOPIC,
        "Message": f"You have chosen to subscribe to the topic {TOPIC}.",
        "SubscribeURL": url,
        "Timestamp": "2024-04-11T09:00:00.000Z",
    }
    event = _read(signer.sign(message), signer, guard)
    assert (event.subscribe_url, event.report) == (url, None)


def test_a_subscription_to_another_host_is_refused(
    signer: SnsSigner, guard: MemoryReplayGuard
) -> None:
    message = {
        "Type": "SubscriptionConfirmation",
        "MessageId": "m-2",
        "Token": "t",
        "TopicArn": TOPIC,
        "Message": "subscribe",
        "SubscribeURL": "https://intranet.salon.example/admin",
        "Timestamp": "2024-04-11T09:00:00.000Z",
    }
    with pytest.raises(MalformedEvent, match="SubscribeURL"):
        _read(signer.sign(message), signer, guard)


def test_an_altered_message_is_refused(signer: SnsSigner, guard: MemoryReplayGuard) -> None:
    signed = signer.sign(sns_notification(ses_bounce()))
    forged = signed | {"Message": signed["Message"].replace("jana.wolf", "someone.else")}
    with pytest.raises(BadSignature, match="does not match"):
        _read(forged, signer, guard)


def test_a_message_signed_with_another_key_is_refused(
    guard: MemoryReplayGuard, signer: SnsSigner
) -> None:
    impostor = new_signer()
    signed = impostor.sign(sns_notification(ses_bounce()))
    with pytest.raises(BadSignature, match="does not match"):
        _read(signed, signer, guard)


@pytest.mark.parametrize(
    "change",
    [
        {"SignatureVersion": None, "Signature": None},
        {"SignatureVersion": "3"},
        {"Signature": "not base64!"},
    ],
)
def test_an_unsigned_message_is_refused(
    change: dict[str, Any], signer: SnsSigner, guard: MemoryReplayGuard
) -> None:
    signed = signer.sign(sns_notification(ses_bounce()))
    unsigned = {k: v for k, v in (signed | change).items() if v is not None}
    with pytest.raises(BadSignature):
        _read(unsigned, signer, guard)


@pytest.mark.parametrize(
    "url",
    [
        CERT_URL.replace("https://", "http://"),
        "https://sns.eu-central-1.amazonaws.com.attacker.example/cert.pem",
        "https://attacker.example/sns.eu-central-1.amazonaws.com/cert.pem",
        "https://user@sns.eu-central-1.amazonaws.com/cert.pem",
        "https://sns.eu-central-1.amazonaws.com:8443/cert.pem",
        "https://sns.eu-central-1.amazonaws.com/cert.txt",
        "https://s3.amazonaws.com/cert.pem",
    ],
)
def test_a_certificate_from_anywhere_but_sns_is_never_fetched(
    url: str, signer: SnsSigner, guard: MemoryReplayGuard
) -> None:
    signed = signer.sign(sns_notification(ses_bounce())) | {"SigningCertURL": url}
    signer.fetched.clear()
    with pytest.raises(BadSignature, match="SigningCertURL"):
        _read(signed, signer, guard)
    assert signer.fetched == []


def test_a_message_of_a_foreign_topic_is_refused_before_any_fetch(
    signer: SnsSigner, guard: MemoryReplayGuard
) -> None:
    foreign = signer.sign(sns_notification(ses_bounce(), TopicArn="arn:aws:sns:eu-central-1:999:x"))
    signer.fetched.clear()
    with pytest.raises(BadSignature, match="not one of ours"):
        _read(foreign, signer, guard)
    assert signer.fetched == []


def test_without_a_configured_topic_nothing_is_accepted(
    signer: SnsSigner, guard: MemoryReplayGuard
) -> None:
    with pytest.raises(WebhookNotConfigured):
        _read(signer.sign(sns_notification(ses_bounce())), signer, guard, topic_arns=set())


@pytest.mark.parametrize("stamp", ["2024-04-11T07:59:00.000Z", "2024-04-11T09:10:00.000Z"])
def test_a_stale_or_future_message_is_refused(
    stamp: str, signer: SnsSigner, guard: MemoryReplayGuard
) -> None:
    signed = signer.sign(sns_notification(ses_bounce(), Timestamp=stamp))
    with pytest.raises(StaleEvent):
        _read(signed, signer, guard)


def test_a_replayed_message_is_refused_and_a_released_one_taken_again(
    signer: SnsSigner, guard: MemoryReplayGuard
) -> None:
    signed = signer.sign(sns_notification(ses_bounce()))
    first = _read(signed, signer, guard)
    with pytest.raises(ReplayedEvent):
        _read(signed, signer, guard)
    guard.release(first.replay_key)  # processing failed: let SNS's retry through
    assert _read(signed, signer, guard).report is not None


def test_refused_messages_use_up_nothing(signer: SnsSigner, guard: MemoryReplayGuard) -> None:
    genuine = signer.sign(sns_notification(ses_bounce()))
    forged = genuine | {"Message": genuine["Message"].replace("Permanent", "Transient")}
    stale = signer.sign(sns_notification(ses_bounce(), Timestamp="2024-04-10T09:00:00.000Z"))
    for refused in (forged, stale):
        with pytest.raises((BadSignature, StaleEvent)):
            _read(refused, signer, guard)
    assert _read(genuine, signer, guard).report is not None  # same MessageId, still accepted


def test_an_unreachable_certificate_is_a_passing_failure(
    guard: MemoryReplayGuard, signer: SnsSigner
) -> None:
    def down(url: str) -> bytes:
        raise ConnectionError("sns.eu-central-1.amazonaws.com unreachable")

    with pytest.raises(CertificateUnavailable, match="unreachable"):
        _read(signer.sign(sns_notification(ses_bounce())), signer, guard, fetch_certificate=down)


def test_an_expired_certificate_is_refused(guard: MemoryReplayGuard) -> None:
    old = new_signer(expired=True)
    with pytest.raises(BadSignature, match="not valid now"):
        _read(old.sign(sns_notification(ses_bounce())), old, guard)


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"Type": "Notification"}', b'{"Type": "Other"}']
)
def test_a_body_that_is_no_sns_message_is_malformed(
    body: bytes, signer: SnsSigner, guard: MemoryReplayGuard
) -> None:
    with pytest.raises(MalformedEvent):
        _read(body, signer, guard)


@pytest.mark.parametrize(
    ("bounce_type", "subtype", "status", "kind"),
    [
        ("Permanent", "General", "5.1.1", BounceKind.HARD),
        ("Permanent", "NoEmail", None, BounceKind.HARD),
        ("Permanent", "Suppressed", None, BounceKind.HARD),
        ("Permanent", "OnAccountSuppressionList", None, BounceKind.HARD),
        ("Permanent", "MailboxFull", "5.2.2", BounceKind.SOFT),
        ("Permanent", "General", "5.2.2", BounceKind.SOFT),  # the server's code says full
        ("Permanent", "General", "5.7.1", BounceKind.POLICY),  # never suppress for a block
        ("Permanent", "ContentRejected", "5.6.0", BounceKind.POLICY),
        ("Transient", "MessageTooLarge", "5.3.4", BounceKind.POLICY),
        ("Transient", "General", "4.4.7", BounceKind.SOFT),
        ("Transient", "MailboxFull", None, BounceKind.SOFT),
        ("Undetermined", "Undetermined", None, BounceKind.UNKNOWN),
    ],
)
def test_ses_bounce_types_map_to_our_kinds(
    bounce_type: str,
    subtype: str,
    status: str | None,
    kind: BounceKind,
    signer: SnsSigner,
    guard: MemoryReplayGuard,
) -> None:
    event = _read(
        signer.sign(sns_notification(ses_bounce(bounce_type, subtype, status=status))),
        signer,
        guard,
    )
    assert event.report is not None and event.report.kind == kind


def _signed_ses(signer: SnsSigner, ses: dict[str, Any]) -> dict[str, Any]:
    return signer.sign(sns_notification(ses))


def test_a_complaint_is_read_with_its_feedback_type(
    signer: SnsSigner, guard: MemoryReplayGuard
) -> None:
    ses = {
        "notificationType": "Complaint",
        "complaint": {
            "userAgent": "AnyCompany Feedback Loop (V0.01)",
            "complainedRecipients": [{"emailAddress": "Richard@Kunde.example"}],
            "complaintFeedbackType": "abuse",
            "arrivalDate": "2024-04-11T08:58:00.000Z",
            "timestamp": "2024-04-11T08:59:00.000Z",
            "feedbackId": "000001378603177f-18c07c78-fa81-4a58-9dd1-fedc3cb8f49a-000000",
        },
        "mail": ses_bounce()["mail"],
    }
    report = _read(_signed_ses(signer, ses), signer, guard).report
    assert report is not None and report.feedback is not None
    assert (report.kind, report.addresses, report.feedback.feedback_type) == (
        BounceKind.COMPLAINT,
        ("richard@kunde.example",),
        "abuse",
    )


def test_a_not_spam_report_and_a_delivery_change_nothing(
    signer: SnsSigner, guard: MemoryReplayGuard
) -> None:
    not_spam = {
        "notificationType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": "a@b.example"}],
            "complaintFeedbackType": "not-spam",
        },
        "mail": {},
    }
    report = _read(signer.sign(sns_notification(not_spam, message_id="0001")), signer, guard).report
    assert report is not None and report.kind == BounceKind.UNKNOWN
    delivery = {
        "notificationType": "Delivery",
        "delivery": {"recipients": ["a@b.example"]},
        "mail": {},
    }
    assert (
        _read(signer.sign(sns_notification(delivery, message_id="0002")), signer, guard).report
        is None
    )


def test_a_delivery_delay_is_a_soft_warning(signer: SnsSigner, guard: MemoryReplayGuard) -> None:
    ses = {
        "eventType": "DeliveryDelay",
        "deliveryDelay": {
            "delayType": "MailboxFull",
            "delayedRecipients": [
                {"emailAddress": "a@b.example", "status": "4.2.2", "diagnosticCode": "452 full"}
            ],
        },
        "mail": {},
    }
    report = _read(_signed_ses(signer, ses), signer, guard).report
    assert report is not None
    assert [(r.kind, r.delayed) for r in report.recipients] == [(BounceKind.SOFT, True)]


def test_a_signed_bounce_without_recipients_is_malformed_and_uses_up_nothing(
    signer: SnsSigner, guard: MemoryReplayGuard
) -> None:
    empty = ses_bounce()
    empty["bounce"]["bouncedRecipients"] = []
    signed = _signed_ses(signer, empty)
    with pytest.raises(MalformedEvent, match="bouncedRecipients"):
        _read(signed, signer, guard)
    assert guard.claim(f"sns:{signed['MessageId']}", ttl=60)
