"""R1: a marketing body must really output {{ unsubscribe_url }} on every path."""

import pytest

from templates.analysis import check_template, outputs_unsubscribe
from templates.sandbox import environment


def outputs(source: str) -> bool:
    return outputs_unsubscribe(environment(html=False).parse(source))


ACCEPTED = {
    "plain": "Hallo {{ first_name }}! Abmelden: {{ unsubscribe_url }}",
    "if_else_both_branches": (
        "{% if first_name %}Hi {{ unsubscribe_url }}"
        "{% else %}Hallo {{ unsubscribe_url }}{% endif %}"
    ),
    "if_elif_else_all_branches": (
        "{% if first_name == 'A' %}{{ unsubscribe_url }}{% elif last_name %}{{ unsubscribe_url }}"
        "{% else %}{{ unsubscribe_url }}{% endif %}"
    ),
    "constant_true_if": "{% if true %}{{ unsubscribe_url }}{% endif %}",
    "called_macro": "{% macro footer() %}Stop: {{ unsubscribe_url }}{% endmacro %}{{ footer() }}",
    "call_block": (
        "{% macro footer() %}{{ unsubscribe_url }} {{ caller() }}{% endmacro %}"
        "{% call footer() %}x{% endcall %}"
    ),
    "block": "{% block footer %}{{ unsubscribe_url }}{% endblock %}",
    "escape_filter": "{{ unsubscribe_url|e }}",
    "filter_chain": "{{ unsubscribe_url|trim|escape }}",
    "concatenation": "{{ 'Abmelden: ' ~ unsubscribe_url }}",
    "with_scope": "{% with x = 1 %}{{ unsubscribe_url }}{% endwith %}",
    "harmless_filter_block": "{% filter trim %} {{ unsubscribe_url }} {% endfilter %}",
}

REFUSED = {
    "missing": "Hallo {{ first_name }}",
    "in_comment": "Hallo {# {{ unsubscribe_url }} #}",
    "if_false": "{% if false %}{{ unsubscribe_url }}{% endif %}",
    "if_false_with_empty_else": "{% if false %}{{ unsubscribe_url }}{% else %}x{% endif %}",
    "if_without_else": "{% if first_name %}{{ unsubscribe_url }}{% endif %}",
    "only_one_branch": "{% if first_name %}{{ unsubscribe_url }}{% else %}bye{% endif %}",
    "for_loop": "{% for i in range(1) %}{{ unsubscribe_url }}{% endfor %}",
    "never_called_macro": "{% macro footer() %}{{ unsubscribe_url }}{% endmacro %}Hallo",
    "raw_block": "{% raw %}{{ unsubscribe_url }}{% endraw %}",
    "longer_name": "{{ unsubscribe_url_x }}",
    "shadowed_by_set": "{% set unsubscribe_url = '' %}{{ unsubscribe_url }}",
    "shadowed_by_macro_argument": (
        "{% macro f(unsubscribe_url) %}{{ unsubscribe_url }}{% endmacro %}{{ f('') }}"
    ),
    "string_literal": "{{ 'unsubscribe_url' }}",
    "changing_filter": "{{ unsubscribe_url|upper }}",
    "filter_with_arguments": "{{ unsubscribe_url|urlize(5) }}",
    "conditional_expression_without_else": "{{ unsubscribe_url if first_name }}",
    "changing_filter_block": "{% filter upper %}{{ unsubscribe_url }}{% endfilter %}",
    "set_block_never_printed": "{% set x %}{{ unsubscribe_url }}{% endset %}",
}


@pytest.mark.parametrize("source", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_unsubscribe_output_on_every_path_is_accepted(source):
    assert outputs(source)
    assert check_template(source, field="sms") == []


@pytest.mark.parametrize("source", REFUSED.values(), ids=REFUSED.keys())
def test_unsubscribe_not_certainly_output_is_refused(source):
    assert not outputs(source)
    problems = check_template(source, field="sms")
    assert "R1" in {p.rule for p in problems}


def test_refusal_names_rule_field_and_reason():
    [problem] = check_template("Hallo {{ first_name }}", field="email_text")
    assert (problem.rule, problem.field, problem.code) == (
        "R1",
        "email_text",
        "unsubscribe_missing",
    )
    assert "unsubscribe_url" in problem.message


def test_transactional_body_needs_no_unsubscribe_link():
    assert (
        check_template("Termin morgen, {{ first_name }}", field="sms", requires_unsubscribe=False)
        == []
    )


def test_link_inside_html_comment_is_refused():
    problems = check_template(
        "<p>Hi</p><!-- {{ unsubscribe_url }} -->", field="email_html", html=True
    )
    assert [p.code for p in problems] == ["unsubscribe_hidden"]


def test_link_in_html_anchor_is_accepted():
    source = '<p>Hi {{ first_name }}</p><a href="{{ unsubscribe_url }}">Abmelden</a>'
    assert check_template(source, field="email_html", html=True) == []
