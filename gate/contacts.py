"""Contact normalisation for R8: E.164 phone numbers and checked email addresses.

Addresses are normalised once, when a client is written, so that the audience query can compare
and de-duplicate them in SQL.
"""

from __future__ import annotations

import re

import phonenumbers
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

# The everyday address (ASCII letters, digits, ._+- before the @; plain host labels and a
# letters-only top-level domain after it) that email_validator accepts as it is: its full
# check (IDNA, Unicode) costs 80 us an address, most of a 20,000-client import. Everything
# else still goes through it; tests/gate/test_contacts.py holds the two to the same answers.
_PLAIN_EMAIL = re.compile(
    r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)


def normalise_phone(raw: str | None, *, region: str) -> str | None:
    """E.164 form of a phone number that can receive SMS, or None when it is not valid."""
    if not raw or not raw.strip():
        return None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    # number_type is UNKNOWN for every number is_valid_number refuses (both match the number
    # against its region's patterns): asking it alone halves the cost.
    kind = phonenumbers.number_type(number)
    if kind not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        return None  # a landline cannot receive SMS
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str | None) -> str | None:
    """The normalised address (domain lower-cased), or None when it is not valid."""
    if not raw or not raw.strip():
        return None
    address = raw.strip()
    if _plain(address):
        return address.lower()
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return None
    return str(checked.normalized).lower()


def _plain(address: str) -> bool:
    if len(address) > 254 or not _PLAIN_EMAIL.fullmatch(address):
        return False
    local, _, domain = address.rpartition("@")
    domain = domain.lower()
    special = any(
        domain == name or domain.endswith(f".{name}") for name in SPECIAL_USE_DOMAIN_NAMES
    )
    return len(local) <= 64 and len(domain) <= 253 and "--" not in domain and not special
