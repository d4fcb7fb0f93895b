"""VERP: a bounce address per message that says which delivery bounced, and cannot be forged.

The email channel sends every marketing email with its own Return-Path (envelope sender)::

    bounce+4711.3.mfrggzdfmztwq2lk@bounces.salon.example
    └────┘ └──┘ └┘ └──────────────┘
    prefix  │   │   MAC: 16 lower-case base32 characters (80 bits)
            │   salon id
            delivery id

A bounce or auto-reply comes back to that address, so the intake finds the delivery without
guessing from the bounce's text. The MAC is HMAC-SHA256 over ``"<delivery>.<salon>"`` with a key
derived from the secret key (``HMAC-SHA256(secret_key, "salonpost.verp.v1")``, so the key used
here is never the one that signs unsubscribe links), cut to 10 bytes. Anyone can send mail to a
bounce address; only a valid MAC makes it count, so nobody can suppress a client's address by
mailing a made-up bounce.

Why lower-case base32 and decimal ids without leading zeros: some mail servers change the case
of a local part, so an address is read case-insensitively, and every reference has exactly one
spelling, so a changed character never verifies. Why the salon id: the intake loads the delivery
by id AND salon, so a reference can never reach another salon's delivery. The local part stays
within RFC 5321's 64 characters even for the largest 64-bit ids with the default prefix
(6 + 1 + 19 + 1 + 19 + 1 + 16 = 63).

Changing the secret key or the bounce domain makes the bounce addresses of messages still in
flight unreadable: their bounces are then reported without a reference.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import lru_cache

from channels.bounces.errors import VerpError

LOCAL_PART_LIMIT = 64  # RFC 5321 4.5.3.1.1
MAX_ID = 2**63 - 1  # PostgreSQL bigint
_KEY_LABEL = b"salonpost.verp.v1"
_MAC_BYTES = 10  # 80 bits: 16 base32 characters
_MAC_CHARS = 16
_LONGEST_REFERENCE = len(f"+{MAX_ID}.{MAX_ID}.") + _MAC_CHARS
_PREFIX = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?", re.ASCII)
_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", re.ASCII)
_ID = r"[1-9][0-9]{0,18}"


@dataclass(frozen=True)
class DeliveryRef:
    """Which delivery a bounce is about. Load it by BOTH ids: a delivery of another salon is
    "not found"."""

    delivery_id: int
    salon_id: int


class Verp:
    """Builds and reads the bounce addresses of one deployment (keyed once, reused)."""

    def __init__(self, *, secret_key: str, domain: str, prefix: str = "bounce") -> None:
        if not secret_key:
            raise ValueError("VERP needs the secret key; it is empty")
        self.domain = domain.strip().lower()
        self.prefix = prefix.strip().lower()
        if not _DOMAIN.fullmatch(self.domain):
            raise ValueError(f"bounce domain {domain!r} is not a domain name (ASCII, with a dot)")
        if not _PREFIX.fullmatch(self.prefix):
            raise ValueError(f"bounce prefix {prefix!r}: use letters, digits and inner dashes")
        if len(self.prefix) + _LONGEST_REFERENCE > LOCAL_PART_LIMIT:
            raise ValueError(
                f"bounce prefix {prefix!r} is too long: the largest references would not fit "
                f"in the {LOCAL_PART_LIMIT} characters of an address's local part (RFC 5321)"
            )
        key = hmac.new(secret_key.encode(), _KEY_LABEL, hashlib.sha256).digest()
        self._mac = hmac.new(key, digestmod=hashlib.sha256)
        self._address = re.compile(
            rf"{re.escape(self.prefix)}\+({_ID})\.({_ID})\.([a-z2-7]{{{_MAC_CHARS}}})"
            rf"@{re.escape(self.domain)}",
            re.ASCII | re.IGNORECASE,
        )

    def return_path(self, delivery_id: int, salon_id: int) -> str:
        """The bounce address (Return-Path) for one delivery of one salon."""
        for name, value in (("delivery id", delivery_id), ("salon id", salon_id)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
                raise ValueError(f"VERP {name} must be a positive 64-bit integer, not {value!r}")
        reference = f"{delivery_id}.{salon_id}"
        return f"{self.prefix}+{reference}.{self._sign(reference)}@{self.domain}"

    def verify(self, address: str) -> DeliveryRef:
        """The reference in `address`; VerpError when it is not one of our bounce addresses or
        its MAC does not match (a forged or altered address)."""
        match = self._address.fullmatch(address)
        if match is None:
            raise VerpError(f"not a bounce address of {self.domain}: {address[:100]!r}")
        delivery, salon, mac = match.groups()
        if not hmac.compare_digest(self._sign(f"{delivery}.{salon}"), mac.lower()):
            raise VerpError(f"bounce address signature does not match: {address[:100]!r}")
        return DeliveryRef(delivery_id=int(delivery), salon_id=int(salon))

    def read(self, address: str) -> DeliveryRef | None:
        """The reference in `address`, or None when it carries no valid one."""
        try:
            return self.verify(address)
        except VerpError:
            return None

    def _sign(self, reference: str) -> str:
        mac = self._mac.copy()
        mac.update(reference.encode())
        return base64.b32encode(mac.digest()[:_MAC_BYTES]).decode().lower()


@lru_cache(maxsize=8)
def _verp(secret_key: str, domain: str, prefix: str) -> Verp:
    return Verp(secret_key=secret_key, domain=domain, prefix=prefix)


def verp_return_path(
    delivery_id: int, salon_id: int, *, secret_key: str, domain: str, prefix: str = "bounce"
) -> str:
    """The Return-Path for one delivery: what the email channel puts in MAIL FROM."""
    return _verp(secret_key, domain, prefix).return_path(delivery_id, salon_id)


def read_verp(
    address: str, *, secret_key: str, domain: str, prefix: str = "bounce"
) -> DeliveryRef | None:
    """The delivery reference of a bounce address, or None when it carries no valid one."""
    return _verp(secret_key, domain, prefix).read(address)
