"""R2: complete, sandboxed templates; problems carry a reason code and the line."""

import time

import pytest

from templates.analysis import check_template

FOOTER = "\n{{ unsubscribe_url }}"


def codes(source: str, **kwargs) -> list[str]:
    return [p.code for p in check_template(source, field="sms", **kwargs)]


def test_unknown_placeholder_is_reported_with_its_line():
    [problem] = check_template("Hallo\n\n{{ frist_name }}" + FOOTER, field="sms")
    assert (problem.rule, problem.code, problem.line) == ("R2", "unknown_placeholder", 3)
    assert problem.message == "line 3: unknown placeholder 'frist_name'"


def test_loop_set_and_macro_variables_are_not_unknown_placeholders():
    source = (
        "{% set greeting = 'Hi' %}{{ greeting }}"
        "{% for i in range(2) %}{{ i }}{{ loop.index }}{% endfor %}"
        "{% macro m(name) %}{{ name }}{% endmacro %}{{ m(first_name) }}"
    )
    assert codes(source + FOOTER) == []


def test_syntax_error_is_reported_with_its_line():
    [problem] = check_template("Hallo\nzweite Zeile\n{{ first_name + }}", field="sms")
    assert (problem.rule, problem.code, problem.line) == ("R2", "syntax_error", 3)
    assert problem.message.startswith("line 3:")


def test_unknown_filter_is_refused():
    assert codes("{{ first_name|frobnicate }}" + FOOTER) == ["syntax_error"]


@pytest.mark.parametrize(
    "source",
    [
        "{% extends 'base.html' %}",
        "{% include 'footer.txt' %}",
        "{% import 'macros.txt' as m %}",
        "{% from 'macros.txt' import footer %}",
    ],
)
def test_loading_other_templates_is_refused(source):
    assert "forbidden_tag" in codes(source + FOOTER)


def test_assigning_a_placeholder_is_refused():
    problems = check_template("{% set first_name = 'X' %}{{ first_name }}" + FOOTER, field="sms")
    assert [(p.code, p.line) for p in problems] == [("shadowed_placeholder", 1)]


def test_shadowing_the_unsubscribe_link_breaks_both_rules():
    problems = check_template("{% set unsubscribe_url = '' %}{{ unsubscribe_url }}", field="sms")
    assert {(p.rule, p.code) for p in problems} == {
        ("R2", "shadowed_placeholder"),
        ("R1", "unsubscribe_missing"),
    }


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ first_name.__class__ }}",
        "{{ first_name.format }}",
        "{{ '{0.__class__}'.format(first_name) }}",
    ],
)
def test_sandbox_escape_attempt_is_refused(source):
    problems = check_template(source + FOOTER, field="sms")
    assert [(p.rule, p.code, p.line) for p in problems] == [("R2", "unsafe", 1)]


def test_huge_repetition_fails_cleanly_and_fast():
    started = time.monotonic()
    problems = check_template("{{ 'a' * 10**9 }}" + FOOTER, field="sms")
    assert [(p.rule, p.code, p.line) for p in problems] == [("R2", "too_large", 1)]
    assert time.monotonic() - started < 1.0


def test_nested_huge_loops_time_out_without_hanging():
    source = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    started = time.monotonic()
    problems = check_template(source + FOOTER, field="sms")
    assert [p.code for p in problems] == ["too_slow"]
    assert time.monotonic() - started < 4.0


def test_a_normal_template_validates_quickly():
    started = time.monotonic()
    assert codes("Hallo {{ first_name }} von {{ salon_name }}" + FOOTER) == []
    assert time.monotonic() - started < 0.3
