"""Test doubles for the provider webhooks: an SNS signing certificate made here (offline), and
signers written from each provider's documentation, independent of the code under test."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

NOW = dt.datetime(2024, 4, 11, 9, 0, 30, tzinfo=dt.UTC)
TOPIC = "arn:aws:sns:eu-central-1:123456789012:salonpost-ses-events"
CERT_URL = (
    "https://sns.eu-central-1.amazonaws.com/"
    "SimpleNotificationService-60eadc530605d63b8e62a523676ef735.pem"
)


@dataclass
class SnsSigner:
    """An RSA key and a certificate for it, as SNS would serve at CERT_URL."""

    key: rsa.RSAPrivateKey
    pem: bytes
    fetched: list[str] = field(default_factory=list)

    def fetch(self, url: str) -> bytes:
        self.fetched.append(url)
        return self.pem

    def sign(self, message: dict[str, Any], *, version: str = "1") -> dict[str, Any]:
        """`message` with SignatureVersion, Signature and SigningCertURL, per the AWS docs."""
        digest = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = self.key.sign(aws_string_to_sign(message), padding.PKCS1v15(), digest)
        return message | {
            "SignatureVersion": version,
            "Signature": base64.b64encode(signature).decode(),
            "SigningCertURL": CERT_URL,
        }


def make_certificate(
    key: rsa.RSAPrivateKey, *, not_before: dt.datetime, not_after: dt.datetime
) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def new_signer(*, expired: bool = False) -> SnsSigner:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    start = NOW - dt.timedelta(days=400 if expired else 30)
    pem = make_certificate(key, not_before=start, not_after=start + dt.timedelta(days=365))
    return SnsSigner(key=key, pem=pem)


def aws_string_to_sign(message: dict[str, Any]) -> bytes:
    """Written from the SNS developer guide ("Verifying the signatures of Amazon SNS
    messages"), on purpose not shared with bounces.webhooks.sns."""
    if message["Type"] == "Notification":
        names = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    else:
        names = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    return "".join(f"{n}\n{message[n]}\n" for n in names if n in message).encode()


def sns_notification(
    ses: dict[str, Any], *, message_id: str = "b1f0", **extra: Any
) -> dict[str, Any]:
    return {
        "Type": "Notification",
        "MessageId": f"22b80b92-fdea-4c2c-8f9d-bdfb0c7b{message_id}",
        "TopicArn": TOPIC,
        "Message": json.dumps(ses),
        "Timestamp": "2024-04-11T09:00:00.000Z",
        "UnsubscribeURL": "https://sns.eu-central-1.amazonaws.com/?Action=Unsubscribe",
    } | extra


def ses_bounce(
    bounce_type: str = "Permanent",
    subtype: str = "General",
    *,
    status: str | None = "5.1.1",
    source: str = "hallo@salon-anna.example",
) -> dict[str, Any]:
    """An SES bounce notification, shaped like the SES developer guide's example."""
    recipient: dict[str, Any] = {"emailAddress": "Jana.Wolf@Kundin.example", "action": "failed"}
    if status:
        recipient |= {
            "status": status,
            "diagnosticCode": f"smtp; 550 {status} <jana.wolf@kundin.example>... User unknown",
        }
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": subtype,
            "bouncedRecipients": [recipient],
            "reportingMTA": "dns; a1-23.smtp-out.eu-central-1.amazonses.example",
            "timestamp": "2024-04-11T08:59:58.237Z",
            "feedbackId": "0107018ec7b0b3a1-7f0c2b4e-0000-0000-0000-000000000000-000000",
        },
        "mail": {
            "timestamp": "2024-04-11T08:59:57.000Z",
            "source": source,
            "messageId": "0107018ec7b0a000-aaaa-bbbb-cccc-dddd-000000",
            "destination": ["jana.wolf@kundin.example"],
            "commonHeaders": {"messageId": "<171282000000.3.4711.c22-d4711@salon-anna.example>"},
        },
    }


MAILGUN_KEY = "key-6f1c0b1e2d3a4f5e6d7c8b9a0f1e2d3c"


def mailgun_signed(
    event_data: dict[str, Any],
    *,
    key: str = MAILGUN_KEY,
    timestamp: int | None = None,
    token: str = "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0",
) -> dict[str, Any]:
    """A Mailgun webhook body signed as Mailgun's "Securing webhooks" page describes."""
    stamp = str(int(NOW.timestamp()) if timestamp is None else timestamp)
    signature = hmac.new(key.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()
    return {
        "signature": {"timestamp": stamp, "token": token, "signature": signature},
        "event-data": event_data,
    }


def mailgun_failed(
    severity: str = "permanent",
    reason: str = "bounce",
    *,
    code: int = 550,
    message: str = "5.1.1 The email account that you tried to reach does not exist.",
    sender: str = "hallo@salon-anna.example",
) -> dict[str, Any]:
    return {
        "event": "failed",
        "id": "G9Bn5sl1TC6nu79C8C0bwg",
        "timestamp": 1712826000.329574,
        "severity": severity,
        "reason": reason,
        "recipient": "Ole.Berg@kunde.example",
        "envelope": {"sender": sender, "targets": "ole.berg@kunde.example"},
        "message": {"headers": {"message-id": "171282000000.3.88.c22-d88@salon-anna.example"}},
        "delivery-status": {"code": code, "message": message, "description": "", "attempt-no": 1},
    }


def basic_auth(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def postmark_bounce(
    bounce_type: str = "HardBounce", details: str = "smtp;550 5.1.1 user unknown"
) -> dict[str, Any]:
    """A Postmark bounce webhook body, as in Postmark's webhook documentation."""
    return {
        "RecordType": "Bounce",
        "ID": 4323372036854775807,
        "Type": bounce_type,
        "TypeCode": 1,
        "Name": "Hard bounce",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "ServerID": 23,
        "MessageStream": "outbound",
        "Description": "The server was unable to deliver your message "
        "(ex: unknown user, mailbox not found).",
        "Details": details,
        "Email": "Rita.Lange@Kunde.example",
        "From": "hallo@salon-anna.example",
        "BouncedAt": "2024-04-11T09:00:00.9070259Z",
        "Inactive": True,
        "CanActivate": True,
        "Subject": "Ihr Termin",
    }
