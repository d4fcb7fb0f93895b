"""Whatever reaches the bounce address, the intake gets a report and never an exception."""

from __future__ import annotations

import pytest
from bounce_support import SAMPLES, sample
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.bounces.classify import classify_bounce
from channels.bounces.report import BounceKind, BounceReport

FILES = sorted(str(p.relative_to(SAMPLES)) for p in SAMPLES.rglob("*.eml"))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.binary(max_size=4000))
def test_any_bytes_give_a_report(raw: bytes) -> None:
    assert isinstance(classify_bounce(raw), BounceReport)


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(FILES), data=st.data())
def test_a_damaged_sample_still_gives_a_report(name: str, data: st.DataObject) -> None:
    raw = sample(name)
    cut = data.draw(st.integers(min_value=0, max_value=len(raw)))
    junk = data.draw(st.binary(max_size=40))
    report = classify_bounce(raw[:cut] + junk + raw[cut + len(junk) :])
    assert isinstance(report, BounceReport) and report.reason


def test_an_empty_message_is_unknown() -> None:
    report = classify_bounce(b"")
    assert report.kind == BounceKind.UNKNOWN and report.recipients == ()


def test_a_person_writing_to_the_bounce_address_is_unknown() -> None:
    raw = (
        b"From: Anna <anna@example.de>\r\nTo: bounce@bounces.salonpost.example\r\n"
        b"Subject: Frage\r\n\r\nHaben Sie Samstag offen?\r\n"
    )
    report = classify_bounce(raw)
    assert report.kind == BounceKind.UNKNOWN
    assert "neither" in report.reason


def test_crlf_line_ends_read_like_lf() -> None:
    lf = sample("dsn/postfix_user_unknown.eml")
    crlf = lf.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    assert classify_bounce(crlf).recipients == classify_bounce(lf).recipients


def test_text_is_refused_with_the_reason() -> None:
    with pytest.raises(TypeError, match="bytes"):
        classify_bounce("From: x")  # type: ignore[arg-type]
