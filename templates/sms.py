"""SMS encoding and segment count, as carriers bill them.

* GSM-7 when every character is in the GSM 03.38 basic set or its extension table; extension
  characters (``€ [ ] { } \\ ~ ^ |``) take an escape septet, so they count 2.
* Otherwise UCS-2, counted in UTF-16 code units (an emoji outside the BMP counts 2).
* One segment holds 160 septets / 70 units; concatenated messages lose room to the UDH, so
  each part holds 153 septets / 67 units.

Empty text counts as 0 segments: nothing is sent, so nothing is billed. Gateways avoid
splitting an escape pair or a surrogate pair across parts, which can add a segment in rare
edge cases; the counts here are the standard formula used for previews and cost estimates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gsm0338 import Codec

GSM7 = "GSM-7"
UCS2 = "UCS-2"
_SINGLE = {GSM7: 160, UCS2: 70}
_PART = {GSM7: 153, UCS2: 67}

_codec = Codec()  # building the maps is the expensive part; the codec is stateless


@dataclass(frozen=True)
class SmsSize:
    """Encoding, length in billing units (septets or UTF-16 units) and segment count."""

    encoding: str  # "GSM-7" or "UCS-2"
    units: int
    segments: int


def _gsm7_septets(text: str) -> int | None:
    """Septets needed in GSM-7, or None when the text needs UCS-2."""
    try:
        encoded, _ = _codec.encode(text)
    except UnicodeEncodeError:
        return None
    return len(encoded)  # one byte per septet; extension characters carry an escape byte


def _segments(units: int, encoding: str) -> int:
    if units == 0:
        return 0
    if units <= _SINGLE[encoding]:
        return 1
    return math.ceil(units / _PART[encoding])


def sms_size(text: str) -> SmsSize:
    """How ``text`` will be encoded and into how many segments it is split."""
    septets = _gsm7_septets(text)
    if septets is not None:
        return SmsSize(GSM7, septets, _segments(septets, GSM7))
    units = len(text.encode("utf-16-le")) // 2
    return SmsSize(UCS2, units, _segments(units, UCS2))
