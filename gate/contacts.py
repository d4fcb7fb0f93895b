"""Contact normalisation for R8: E.164 phone numbers and checked email addresses.

Addresses are normalised once, when a client is written, so that the audience query can compare
and de-duplicate them in SQL.
"""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email


def normalise_phone(raw: str | None, *, region: str) -> str | None:
    """E.164 form of a phone number that can receive SMS, or None when it is not valid."""
    if not raw or not raw.strip():
        return None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
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
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError:
        return None
    return str(checked.normalized).lower()
