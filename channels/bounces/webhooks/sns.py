"""Amazon SNS message signatures: proof that a POST to the SES webhook comes from our topic.

An SNS message (JSON) carries ``SignatureVersion`` (1: SHA1withRSA, 2: SHA256withRSA),
``Signature`` (base64) and ``SigningCertURL``. Checks, in order:

1. ``Type`` is Notification, SubscriptionConfirmation or UnsubscribeConfirmation.
2. ``TopicArn`` is one of ours (`topic_arns`): a valid SNS signature only proves the message
   came through SNS, and anyone with an AWS account can publish to our URL from their topic.
3. ``SigningCertURL`` is https on ``sns.<region>.amazonaws.com`` (no other host, port or user)
   and ends in ``.pem``; the certificate is fetched by `fetch_certificate`, which the caller
   injects: it must verify TLS and should cache by URL (SNS uses few certificates).
4. The certificate is valid now, holds an RSA key, and the signature matches the string to
   sign: ``name\\nvalue\\n`` for each signed field, in the order AWS documents::

       Notification:              Message, MessageId, Subject (if any), Timestamp, TopicArn, Type
       (Un)SubscriptionConfirmation: Message, MessageId, SubscribeURL, Timestamp, Token,
                                  TopicArn, Type

5. ``Timestamp`` is within `max_age` (1 hour by default: SNS retries an HTTP delivery with the
   original timestamp for up to an hour).

SubscriptionConfirmation: once it verifies, the caller GETs ``SubscribeURL`` (https on an SNS
host, checked here) to confirm; until then SNS sends nothing else. Nothing is confirmed here.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from channels.bounces.errors import (
    BadSignature,
    CertificateUnavailable,
    MalformedEvent,
    WebhookNotConfigured,
)
from channels.bounces.webhooks.common import check_fresh, load_object, now_utc, text_field

CertificateFetcher = Callable[[str], bytes]
SNS_MAX_AGE = dt.timedelta(hours=1)
_SNS_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com", re.ASCII)
_CONFIRMATION = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
SIGNED_FIELDS: dict[str, tuple[str, ...]] = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": _CONFIRMATION,
    "UnsubscribeConfirmation": _CONFIRMATION,
}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}


@dataclass(frozen=True)
class SnsMessage:
    """A verified SNS message."""

    type: str
    message_id: str
    topic_arn: str
    message: str
    timestamp: dt.datetime
    subject: str | None = None
    subscribe_url: str | None = None


def verify_sns_message(
    body: bytes | str | Mapping[str, Any],
    *,
    fetch_certificate: CertificateFetcher,
    topic_arns: Collection[str],
    now: dt.datetime | None = None,
    max_age: dt.timedelta = SNS_MAX_AGE,
) -> SnsMessage:
    """The SNS message in `body`, or a `WebhookError` naming why it is refused."""
    if not topic_arns:
        raise WebhookNotConfigured("no SNS topic ARN configured: every SNS message is refused")
    data = load_object(body, "SNS")
    kind = text_field(data, "Type", "SNS")
    if kind not in SIGNED_FIELDS:
        raise MalformedEvent(f"SNS message type {kind[:40]!r} is not handled")
    topic = text_field(data, "TopicArn", "SNS")
    if topic not in topic_arns:
        raise BadSignature(f"SNS topic {topic[:200]!r} is not one of ours")
    _check_signature(data, kind, fetch_certificate, now_utc(now))
    timestamp = _timestamp(text_field(data, "Timestamp", "SNS"))
    check_fresh(timestamp, now=now_utc(now), max_age=max_age, provider="SNS")
    return SnsMessage(
        type=kind,
        message_id=text_field(data, "MessageId", "SNS"),
        topic_arn=topic,
        message=text_field(data, "Message", "SNS"),
        timestamp=timestamp,
        subject=data.get("Subject") if isinstance(data.get("Subject"), str) else None,
        subscribe_url=_subscribe_url(data) if kind == "SubscriptionConfirmation" else None,
    )


def string_to_sign(data: Mapping[str, Any], kind: str) -> bytes:
    """The text SNS signed for a message of type `kind`."""
    lines = []
    for name in SIGNED_FIELDS[kind]:
        value = data.get(name)
        if value is None and name == "Subject":
            continue  # only signed when the message has a subject
        if not isinstance(value, str):
            raise MalformedEvent(f"SNS {kind} has no {name}")
        lines.append(f"{name}\n{value}\n")
    return "".join(lines).encode()


def is_sns_url(url: str) -> bool:
    """https on an SNS host of some region, port 443, no user name."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme == "https"
        and parts.username is None
        and port in (None, 443)
        and bool(_SNS_HOST.fullmatch(parts.hostname or ""))
    )


def _check_signature(
    data: Mapping[str, Any], kind: str, fetch: CertificateFetcher, now: dt.datetime
) -> None:
    version = data.get("SignatureVersion")
    if version not in _HASHES:
        raise BadSignature(f"SNS message is unsigned or of SignatureVersion {version!r}")
    try:
        signature = base64.b64decode(str(data.get("Signature", "")), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadSignature("SNS Signature is not base64") from exc
    url = str(data.get("SigningCertURL", ""))
    if not is_sns_url(url) or not urlsplit(url).path.endswith(".pem"):
        raise BadSignature(f"SNS SigningCertURL is not an https .pem on an SNS host: {url[:200]!r}")
    key = _public_key(_certificate(fetch, url), now)
    try:
        key.verify(signature, string_to_sign(data, kind), padding.PKCS1v15(), _HASHES[version]())
    except InvalidSignature as exc:
        raise BadSignature("SNS signature does not match the message") from exc


def _certificate(fetch: CertificateFetcher, url: str) -> x509.Certificate:
    try:
        pem = fetch(url)
    except Exception as exc:  # whatever the caller's HTTP client raises: SNS will retry
        raise CertificateUnavailable(f"SNS signing certificate {url} not fetched: {exc}") from exc
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise BadSignature(f"SNS signing certificate at {url} is not a PEM certificate") from exc


def _public_key(certificate: x509.Certificate, now: dt.datetime) -> rsa.RSAPublicKey:
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise BadSignature("SNS signing certificate is not valid now")
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise BadSignature("SNS signing certificate does not hold an RSA key")
    return key


def _timestamp(value: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise MalformedEvent(f"SNS Timestamp {value[:40]!r} is not ISO 8601") from exc
    if parsed.tzinfo is None:
        raise MalformedEvent(f"SNS Timestamp {value[:40]!r} has no time zone")
    return parsed


def _subscribe_url(data: Mapping[str, Any]) -> str:
    url = text_field(data, "SubscribeURL", "SNS")
    if not is_sns_url(url):
        raise MalformedEvent(f"SNS SubscribeURL is not https on an SNS host: {url[:200]!r}")
    return url
