"""Contact normalisation: the fast paths give exactly the answers of the full checks."""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from gate.contacts import normalise_email, normalise_phone


def _full_email_check(raw: str) -> str | None:
    try:
        return str(validate_email(raw.strip(), check_deliverability=False).normalized).lower()
    except EmailNotValidError:
        return None


def _full_phone_check(raw: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    mobile = (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in mobile:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


LOCAL = st.text("aZ09._+-!%é", min_size=0, max_size=70)
LABEL = st.text("ab9-Zü_", min_size=0, max_size=66)
TLD = st.sampled_from(["de", "com", "test", "local", "invalid", "arpa", "x", "d3", "DE", "onion"])
DOMAIN = st.builds(lambda labels, tld: ".".join([*labels, tld]), st.lists(LABEL, max_size=4), TLD)
ADDRESS = st.builds(lambda local, at, domain: f"{local}{at}{domain}", LOCAL,
                    st.sampled_from(["@", "@@", ""]), DOMAIN)  # fmt: skip


@settings(max_examples=3000, deadline=None)
@given(ADDRESS)
def test_an_email_address_is_normalised_as_email_validator_decides(raw: str) -> None:
    assert normalise_email(raw) == _full_email_check(raw)


def test_everyday_and_edge_addresses_agree_with_email_validator() -> None:
    for raw in [
        "Kundin.1@Example.COM",
        "a@b.de",
        "a..b@c.de",
        ".a@c.de",
        "a.@c.de",
        "a@-b.de",
        "a@b-.de",
        "a@ab--cd.de",
        "a@b.test",
        "a@localhost",
        "a@b.c",
        "x" * 65 + "@b.de",
        "a@" + "b" * 64 + ".de",
        "a+tag@sub.b.de",
        " a@b.de ",
    ]:
        assert normalise_email(raw) == _full_email_check(raw), raw


@settings(max_examples=1500, deadline=None)
@given(
    st.text("0123456789 +-/()", min_size=1, max_size=18),
    st.sampled_from(["DE", "AT", "CH", "US", "GB"]),
)
def test_a_phone_number_is_normalised_as_the_full_check_decides(raw: str, region: str) -> None:
    assert normalise_phone(raw, region=region) == _full_phone_check(raw, region)


def test_mobile_landline_and_foreign_numbers_agree_with_the_full_check() -> None:
    for raw in [
        "0176 12345678",
        "+49 176 12345678",
        "030 1234567",
        "0151 1234567",
        "+43 664 1234567",
        "+1 202 555 0143",
        "0800 1234567",
        "0176",
        "+999 1234",
    ]:
        assert normalise_phone(raw, region="DE") == _full_phone_check(raw, "DE"), raw
