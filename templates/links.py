"""Signed unsubscribe tokens: short enough for an SMS, impossible to guess or alter.

A token names salon, client, channel and campaign, signed with the deployment's secret
(itsdangerous, HMAC). It carries no expiry: a client may click a link from an old message and
must still be able to unsubscribe (at least 12 months, we keep it forever).
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from itsdangerous import BadSignature, Signer
from itsdangerous.encoding import base64_encode

SALT = "salonpost.unsubscribe.v1"
_CHANNEL_CODES = {"sms": "s", "email": "e"}
_CHANNELS = {code: channel for channel, code in _CHANNEL_CODES.items()}
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


class InvalidToken(ValueError):
    """The token was not made by this deployment, was altered, or is malformed."""


@dataclass(frozen=True)
class UnsubscribeToken:
    salon_id: int
    client_id: int
    channel: str
    campaign_id: int | None = None


def _b36(number: int) -> str:
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = _DIGITS[rest] + digits
        if number == 0:
            return digits


@functools.lru_cache(maxsize=8)
def _signer(secret_key: str) -> Signer:
    return Signer(secret_key, salt=SALT, sep="~")


@functools.lru_cache(maxsize=8)
def _keyed_mac(secret_key: str) -> hmac.HMAC:
    """The signer's HMAC, keyed once: ``Signer.sign`` derives the key again for every token,
    which is most of its cost when a campaign signs one token per recipient."""
    signer = _signer(secret_key)
    return hmac.new(signer.derive_key(), digestmod=signer.digest_method)


def make_token(token: UnsubscribeToken, *, secret_key: str) -> str:
    campaign = _b36(token.campaign_id) if token.campaign_id is not None else ""
    payload = "-".join(
        [_b36(token.salon_id), _b36(token.client_id), _CHANNEL_CODES[token.channel], campaign]
    )
    # Byte for byte what Signer.sign makes (payload, separator, url-safe base64 of the HMAC),
    # so read_token and every link already sent keep working.
    mac = _keyed_mac(secret_key).copy()
    mac.update(payload.encode())
    return f"{payload}~{base64_encode(mac.digest()).decode()}"


def read_token(value: str, *, secret_key: str) -> UnsubscribeToken:
    try:
        payload = _signer(secret_key).unsign(value).decode()
        salon, client, channel, campaign = payload.split("-")
        return UnsubscribeToken(
            salon_id=int(salon, 36),
            client_id=int(client, 36),
            channel=_CHANNELS[channel],
            campaign_id=int(campaign, 36) if campaign else None,
        )
    except (BadSignature, ValueError, KeyError, UnicodeDecodeError) as exc:
        raise InvalidToken("unsubscribe token is not valid") from exc


def unsubscribe_url(token: UnsubscribeToken, *, base_url: str, secret_key: str) -> str:
    return f"{base_url.rstrip('/')}/u/{make_token(token, secret_key=secret_key)}"


def is_loopback_ip(value: str) -> bool:
    """True for 127.0.0.0/8, ::1 and their IPv4-mapped forms; False for anything else."""
    try:
        ip = ipaddress.ip_address(value.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # "::ffff:127.0.0.1": a dual-stack socket's view of IPv4 loopback
    return ip.is_loopback


def url_is_loopback(url: str) -> bool:
    """True if the URL names this machine only (a loopback address or ``localhost``).

    Not resolved: a URL is opened elsewhere, so only what it says counts.
    """
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return host == "localhost" or host.endswith(".localhost") or is_loopback_ip(host)
