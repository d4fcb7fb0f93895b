"""R2 size limits: oversized sources are refused unparsed; SMS above Twilio's 1,600 refused."""

import time

import pytest

from templates.analysis import check_template
from templates.sizes import DEFAULT_MAX_SEGMENTS, SMS_MAX_CHARS, SOURCE_LIMITS, check_sms

LINK = " {{ unsubscribe_url }}"


def test_a_625_kb_template_is_refused_at_once_naming_the_limit():
    source = "<p>Hallo {{ first_name }}</p>\n" * 22_000 + '<a href="{{ unsubscribe_url }}">x</a>'
    assert len(source) > 625_000
    started = time.monotonic()
    problems = check_template(source, field="email_html", html=True)
    assert time.monotonic() - started < 0.1
    [problem] = problems
    assert (problem.rule, problem.code, problem.field) == ("R2", "too_large", "email_html")
    assert "200,000" in problem.message and f"{len(source):,}" in problem.message


@pytest.mark.parametrize("field", sorted(SOURCE_LIMITS))
def test_each_part_is_refused_just_above_its_limit_and_not_at_it(field):
    limit = SOURCE_LIMITS[field]
    at_limit = LINK + "a" * (limit - len(LINK))
    html = field == "email_html"
    assert "too_large" not in {p.code for p in check_template(at_limit, field=field, html=html)}
    codes = [p.code for p in check_template(at_limit + "a", field=field, html=html)]
    assert codes == ["too_large"]


def test_a_large_but_allowed_email_renders_completely():
    row = '<tr><td style="padding:4px">Schnitt {{ first_name }} <b>29 €</b></td></tr>\n'
    body = row * (190_000 // len(row))
    source = f'<table>{body}</table><p><a href="{{{{ unsubscribe_url }}}}">Abmelden</a></p>'
    assert len(source) < SOURCE_LIMITS["email_html"]
    assert check_template(source, field="email_html", html=True) == []


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("a" * SMS_MAX_CHARS, False),
        ("a" * (SMS_MAX_CHARS + 1), True),
        ("ä" * SMS_MAX_CHARS, False),  # UCS-2, still 1,600 characters
        ("😀" * (SMS_MAX_CHARS // 2), False),  # an emoji counts 2
        ("😀" * (SMS_MAX_CHARS // 2) + "a", True),
        ("a" * 2_072, True),
    ],
)
def test_an_sms_above_1600_characters_as_sent_is_refused_naming_the_figure(text, refused):
    check = check_sms(text)
    assert bool(check.problems) is refused
    if refused:
        [problem] = check.problems
        assert (problem.rule, problem.code) == ("R2", "sms_too_long")
        assert "1,600" in problem.message and f"{check.characters:,}" in problem.message


def test_the_refusal_reads_in_german_too():
    [problem] = check_sms("a" * 2_072, language="de").problems
    assert "höchstens 1.600" in problem.message and "2.072" in problem.message


def test_many_segments_warn_and_do_not_refuse_with_the_salons_count():
    four_segments = "a" * (153 * 3 + 1)
    check = check_sms(four_segments)
    assert DEFAULT_MAX_SEGMENTS == 3 and check.problems == []
    assert [w.code for w in check.warnings] == ["sms_many_segments"]
    assert "4" in check.warnings[0].message
    assert check_sms(four_segments, max_segments=4).warnings == []
    assert check_sms("a" * 160, max_segments=1).warnings == []
    assert [w.code for w in check_sms("a" * 161, max_segments=1).warnings] == ["sms_many_segments"]
