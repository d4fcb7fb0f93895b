"""VERP bounce addresses: round trip, refusal of every altered address, RFC 5321 length."""

from __future__ import annotations

import pytest
from bounce_support import SAMPLE_DOMAIN, SAMPLE_SECRET
from hypothesis import given
from hypothesis import strategies as st

from channels.bounces.errors import VerpError
from channels.bounces.verp import MAX_ID, DeliveryRef, Verp, read_verp, verp_return_path

VERP = Verp(secret_key=SAMPLE_SECRET, domain=SAMPLE_DOMAIN)
ids = st.integers(min_value=1, max_value=MAX_ID)
# Every character an address can plausibly carry, including look-alikes of the real ones.
characters = st.characters(min_codepoint=0x21, max_codepoint=0x7E) | st.sampled_from("äß٣０ \t")


def _case_only(a: str, b: str) -> bool:
    return a.lower() == b.lower()


@given(delivery=ids, salon=ids)
def test_an_address_reads_back_as_its_delivery_and_salon(delivery: int, salon: int) -> None:
    address = VERP.return_path(delivery, salon)
    assert VERP.read(address) == DeliveryRef(delivery_id=delivery, salon_id=salon)
    assert len(address.partition("@")[0]) <= 64


@given(delivery=ids, salon=ids, data=st.data())
def test_any_changed_character_is_refused(delivery: int, salon: int, data: st.DataObject) -> None:
    address = VERP.return_path(delivery, salon)
    at = data.draw(st.integers(min_value=0, max_value=len(address) - 1))
    new = data.draw(characters.filter(lambda c: not _case_only(c, address[at])))
    altered = address[:at] + new + address[at + 1 :]
    assert VERP.read(altered) is None
    with pytest.raises(VerpError):
        VERP.verify(altered)


@given(delivery=ids, salon=ids, data=st.data())
def test_a_removed_or_added_character_is_refused(
    delivery: int, salon: int, data: st.DataObject
) -> None:
    address = VERP.return_path(delivery, salon)
    at = data.draw(st.integers(min_value=0, max_value=len(address)))
    if data.draw(st.booleans()) and at < len(address):
        altered = address[:at] + address[at + 1 :]
    else:
        altered = address[:at] + data.draw(characters) + address[at:]
    assert VERP.read(altered) is None


def test_the_largest_references_fit_in_an_rfc_5321_local_part() -> None:
    local = VERP.return_path(MAX_ID, MAX_ID).partition("@")[0]
    assert len(local) == 63


def test_the_address_of_a_delivery_is_stable_across_releases() -> None:
    # Bounces of messages sent before an upgrade must still be read after it.
    assert VERP.return_path(4711, 3) == "bounce+4711.3.mlcgbqfo7i4dlgzo@bounces.salonpost.example"


def test_a_mail_server_changing_the_case_still_reads() -> None:
    address = VERP.return_path(4711, 3)
    assert VERP.read(address.upper()) == DeliveryRef(4711, 3)


def test_another_secret_key_or_domain_reads_nothing() -> None:
    address = VERP.return_path(4711, 3)
    assert Verp(secret_key="another-secret", domain=SAMPLE_DOMAIN).read(address) is None
    assert Verp(secret_key=SAMPLE_SECRET, domain="bounces.other.example").read(address) is None


def test_the_derived_key_is_not_the_secret_itself() -> None:
    # Why it matters: a MAC made with the raw secret would be an oracle for other signatures.
    import base64
    import hashlib
    import hmac

    raw = hmac.new(SAMPLE_SECRET.encode(), b"4711.3", hashlib.sha256).digest()[:10]
    assert base64.b32encode(raw).decode().lower() not in VERP.return_path(4711, 3)


@pytest.mark.parametrize("bad", [0, -1, MAX_ID + 1, True, 4.0, "12"])
def test_an_id_that_is_not_a_positive_64_bit_integer_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="delivery id"):
        VERP.return_path(bad, 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="salon id"):
        VERP.return_path(3, bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"secret_key": ""}, "secret key"),
        ({"domain": "localhost"}, "not a domain name"),
        ({"domain": "bounces.bücher.example"}, "not a domain name"),
        ({"prefix": "bounce+x"}, "letters, digits"),
        ({"prefix": "salonpost-bounces"}, "too long"),
    ],
)
def test_a_set_up_that_cannot_work_is_refused_with_its_problem(
    kwargs: dict[str, str], problem: str
) -> None:
    settings = {"secret_key": SAMPLE_SECRET, "domain": SAMPLE_DOMAIN} | kwargs
    with pytest.raises(ValueError, match=problem):
        Verp(**settings)


@pytest.mark.parametrize(
    "address",
    [
        "",
        "hallo@salon-anna.example",
        "bounce@bounces.salonpost.example",
        "bounce+4711.3@bounces.salonpost.example",
        "bounce+04711.3.mlcgbqfo7i4dlgzo@bounces.salonpost.example",
        "<bounce+4711.3.mlcgbqfo7i4dlgzo@bounces.salonpost.example>",
        " bounce+4711.3.mlcgbqfo7i4dlgzo@bounces.salonpost.example",
    ],
)
def test_what_is_not_exactly_a_bounce_address_reads_nothing(address: str) -> None:
    assert VERP.read(address) is None


def test_the_module_functions_use_the_same_addresses() -> None:
    address = verp_return_path(4711, 3, secret_key=SAMPLE_SECRET, domain=SAMPLE_DOMAIN)
    assert address == VERP.return_path(4711, 3)
    assert read_verp(address, secret_key=SAMPLE_SECRET, domain=SAMPLE_DOMAIN) == DeliveryRef(
        4711, 3
    )
