"""SMS encoding and segment counts at the billing boundaries."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from templates.sms import SmsSize, sms_size

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "^{}\\[~]|€"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", SmsSize("GSM-7", 0, 0)),
        ("a" * 160, SmsSize("GSM-7", 160, 1)),
        ("a" * 161, SmsSize("GSM-7", 161, 2)),
        ("a" * 306, SmsSize("GSM-7", 306, 2)),
        ("a" * 307, SmsSize("GSM-7", 307, 3)),
        ("ä" * 70, SmsSize("GSM-7", 70, 1)),
        ("Ж" * 70, SmsSize("UCS-2", 70, 1)),
        ("Ж" * 71, SmsSize("UCS-2", 71, 2)),
        ("Ж" * 134, SmsSize("UCS-2", 134, 2)),
        ("Ж" * 135, SmsSize("UCS-2", 135, 3)),
    ],
)
def test_segment_boundaries(text, expected):
    assert sms_size(text) == expected


def test_extension_character_counts_two_septets():
    assert sms_size("€") == SmsSize("GSM-7", 2, 1)
    assert sms_size("a" * 158 + "€") == SmsSize("GSM-7", 160, 1)
    assert sms_size("a" * 159 + "€") == SmsSize("GSM-7", 161, 2)


def test_emoji_forces_ucs2_and_counts_two_units():
    assert sms_size("Hallo 💇") == SmsSize("UCS-2", 8, 1)
    assert sms_size("a" * 68 + "💇") == SmsSize("UCS-2", 70, 1)
    assert sms_size("a" * 69 + "💇") == SmsSize("UCS-2", 71, 2)


def expected_gsm_segments(septets: int) -> int:
    if septets == 0:
        return 0
    return 1 if septets <= 160 else math.ceil(septets / 153)


@given(st.text(alphabet=GSM_BASIC + GSM_EXTENSION, max_size=1000))
def test_gsm_texts_follow_the_segment_formula(text):
    septets = len(text) + sum(ch in GSM_EXTENSION for ch in text)
    size = sms_size(text)
    assert size == SmsSize("GSM-7", septets, expected_gsm_segments(septets))
