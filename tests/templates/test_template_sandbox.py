"""The render environment: escaping per channel, strictness, and resource limits."""

import time

import pytest

from templates.catalogue import PLACEHOLDERS, UNSUBSCRIBE_PLACEHOLDER, sample_context
from templates.errors import TemplateError, TemplateRenderError
from templates.problems import TemplateProblem
from templates.sandbox import environment, render, trial_render

CONTEXT = {"first_name": "<b>Anna & Co</b>", "unsubscribe_url": "https://x.test/u?a=1&b=2"}


def test_html_bodies_are_autoescaped():
    assert render("{{ first_name }}", CONTEXT, html=True) == "&lt;b&gt;Anna &amp; Co&lt;/b&gt;"


def test_sms_and_text_are_not_escaped():
    assert render("{{ first_name }}", CONTEXT, html=False) == "<b>Anna & Co</b>"


def test_environments_are_shared_per_mode():
    assert environment(html=True) is environment(html=True)
    assert environment(html=True) is not environment(html=False)


def test_missing_placeholder_raises_instead_of_rendering_empty():
    with pytest.raises(TemplateRenderError) as caught:
        render("Hi\n{{ last_name }}", CONTEXT, html=False)
    assert (caught.value.code, caught.value.line) == ("unknown_placeholder", 2)


def test_render_errors_share_one_root():
    assert issubclass(TemplateRenderError, TemplateError)
    with pytest.raises(TemplateError):
        render("{% if %}", CONTEXT, html=False)


@pytest.mark.parametrize(
    "source",
    [
        "{{ 'a' * 10**9 }}",
        "{{ 10**10**10 }}",
        "{{ [1] * 10**7 }}",
        "{{ 'a'|center(999999999) }}",
        "{{ ('a' * 99999)|replace('a', 'b' * 9999) }}",
        "{% macro f(s, n) %}{% if n %}{{ f(s ~ s, n - 1) }}{% else %}{{ s }}{% endif %}"
        "{% endmacro %}{{ f('a', 40) }}",
    ],
)
def test_oversized_values_fail_before_allocating(source):
    started = time.monotonic()
    with pytest.raises(TemplateRenderError) as caught:
        render(source, CONTEXT, html=False)
    assert caught.value.code == "too_large"
    assert time.monotonic() - started < 0.5


def test_printf_formatting_is_refused():
    with pytest.raises(TemplateRenderError) as caught:
        render("{{ '%0999999999d' % 1 }}", CONTEXT, html=False)
    assert caught.value.code == "unsafe"


def test_output_is_capped():
    source = "{% for i in range(1000) %}{{ 'x' * 100 }}{% endfor %}"
    with pytest.raises(TemplateRenderError) as caught:
        render(source, CONTEXT, html=False, max_chars=10_000)
    assert caught.value.code == "too_large"


def test_deadline_stops_a_loop_that_prints_nothing():
    source = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    started = time.monotonic()
    with pytest.raises(TemplateRenderError) as caught:
        render(source, CONTEXT, html=False, deadline_s=0.2)
    assert caught.value.code == "too_slow"
    assert time.monotonic() - started < 1.0


def test_ordinary_template_features_still_work():
    source = (
        "{{ first_name|striptags|upper }} {{ [1, 2]|join(', ') }} {{ 'a-b'.split('-')|length }}"
        "{% for i in range(3) %}{{ loop.index }}{% endfor %} {{ 19.5 * 2 }}"
    )
    assert render(source, CONTEXT, html=False) == "ANNA & CO 1, 2 2123 39.0"


def test_trial_render_returns_the_sample_text():
    result = trial_render("Hallo {{ first_name }} {{ unsubscribe_url }}", html=False)
    assert result == f"Hallo {sample_context()['first_name']} {sample_context()['unsubscribe_url']}"


def test_trial_render_kills_a_template_that_ignores_the_deadline():
    source = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    started = time.monotonic()
    result = trial_render(source, html=False, timeout_s=0.3, field="sms")
    assert isinstance(result, TemplateProblem)
    assert (result.rule, result.field, result.code) == ("R2", "sms", "too_slow")
    assert time.monotonic() - started < 1.5


def test_catalogue_has_an_example_for_every_placeholder():
    assert set(sample_context()) == set(PLACEHOLDERS)
    assert UNSUBSCRIBE_PLACEHOLDER in PLACEHOLDERS
    assert (
        sample_context(unsubscribe_url="https://u.test/1")["unsubscribe_url"] == "https://u.test/1"
    )
