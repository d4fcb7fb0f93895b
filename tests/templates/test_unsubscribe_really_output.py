"""R1: the unsubscribe link is output intact, delimited and, in HTML, where a reader sees it.

One test per family of inputs (#14 item 1); each case names the trick it stands for.
"""

import pytest

from templates.analysis import check_template


def r1_codes(source: str, *, html: bool) -> set[str]:
    field = "email_html" if html else "sms"
    return {p.code for p in check_template(source, field=field, html=html) if p.rule == "R1"}


GLUED = {
    "text_after": "Abmelden: {{ unsubscribe_url }}XYZ",
    "file_extension_after": "Abmelden: {{ unsubscribe_url }}.html",
    "text_before": "Abmelden: x{{ unsubscribe_url }}",
    "placeholder_after": "Abmelden: {{ unsubscribe_url }}{{ first_name }}",
    "placeholder_before": "{{ first_name }}{{ unsubscribe_url }}",
    "concatenated_after": "Abmelden: {{ unsubscribe_url ~ 'a' }}",
    "concatenated_before": "Abmelden: {{ 'a' ~ unsubscribe_url }}",
    "query_parameter": "Abmelden: https://tracker.example/?u={{ unsubscribe_url }}",
    "punctuation_then_text": "Abmelden: {{ unsubscribe_url }}.Danke",
    "glued_by_next_statement": "Abmelden: {{ unsubscribe_url }}{% if true %}X{% endif %}",
    "glued_in_empty_name_branch": (
        "Abmelden: {{ unsubscribe_url }}{% if not first_name %}X{% endif %}"
    ),
    "punctuation_then_placeholder": "Abmelden: {{ unsubscribe_url }}.{{ first_name }}",
    "glued_by_macro": (
        "{% macro sig() %}Salon{% endmacro %}Abmelden: {{ unsubscribe_url }}{{ sig() }}"
    ),
}


@pytest.mark.parametrize("source", GLUED.values(), ids=GLUED.keys())
@pytest.mark.parametrize("html", [False, True], ids=["text", "html"])
def test_text_glued_to_the_link_is_refused(source: str, html: bool) -> None:
    assert r1_codes(source, html=html) == {"unsubscribe_glued"}


ALTERED = {
    "upper": "{{ unsubscribe_url|upper }}",
    "lower": "{{ unsubscribe_url|lower }}",
    "title": "{{ unsubscribe_url|title }}",
    "replace": "{{ unsubscribe_url|replace('u', 'v') }}",
    "truncate": "{{ unsubscribe_url|truncate(30) }}",
    "slice_last_char": "{{ unsubscribe_url[:-1] }}",
    "slice_step": "{{ unsubscribe_url[::2] }}",
    "urlencode": "{{ unsubscribe_url|urlencode }}",
    "reverse": "{{ unsubscribe_url|reverse }}",
    "escape_then_upper": "{{ unsubscribe_url|e|upper }}",
    "string_method": "{{ unsubscribe_url.upper() }}",
    "changing_filter_block": "{% filter lower %}{{ unsubscribe_url }}{% endfilter %}",
    "changed_copy_beside_a_good_one": (
        "Abmelden: {{ unsubscribe_url }} oder {{ unsubscribe_url|upper }}"
    ),
}


@pytest.mark.parametrize("source", ALTERED.values(), ids=ALTERED.keys())
@pytest.mark.parametrize("html", [False, True], ids=["text", "html"])
def test_a_link_changed_before_output_is_refused(source: str, html: bool) -> None:
    assert r1_codes(f"Abmelden: {source}", html=html)


DELIMITED = {
    "end_of_text": "Abmelden: {{ unsubscribe_url }}",
    "line_break_after": "Abmelden: {{ unsubscribe_url }}\nDanke!",
    "period": "Abmelden unter {{ unsubscribe_url }}.",
    "comma": "Abmelden unter {{ unsubscribe_url }}, jederzeit",
    "exclamation": "Hier abmelden: {{ unsubscribe_url }}!",
    "question": "Keine Lust mehr? {{ unsubscribe_url }}?",
    "semicolon": "Abmelden: {{ unsubscribe_url }}; danke",
    "brackets": "Abmelden ({{ unsubscribe_url }}).",
    "angle_brackets": "Abmelden: <{{ unsubscribe_url }}>",
    "double_quotes": 'Abmelden: "{{ unsubscribe_url }}"',
    "german_quotes": "Abmelden: „{{ unsubscribe_url }}“",
    "colon_before": "Abmelden:{{ unsubscribe_url }}",
    "harmless_filter": "Abmelden: {{ unsubscribe_url|e }}",
    "concatenation_with_space": "{{ 'Abmelden: ' ~ unsubscribe_url }}",
}


@pytest.mark.parametrize("source", DELIMITED.values(), ids=DELIMITED.keys())
def test_a_delimited_link_followed_by_punctuation_the_route_tolerates_is_accepted(
    source: str,
) -> None:
    assert check_template(source, field="sms") == []


LINK = '<a href="{{ unsubscribe_url }}">Abmelden</a>'
HIDDEN = {
    "display_none": f'<div style="display:none">{LINK}</div>',
    "display_none_important": f'<div style="DISPLAY: none !important">{LINK}</div>',
    "visibility_hidden": f'<p style="visibility:hidden">{LINK}</p>',
    "font_size_zero": f'<p style="font-size:0">{LINK}</p>',
    "font_size_one_px": f'<p style="font-size:1px">{LINK}</p>',
    "opacity_zero": f'<p style="opacity:0">{LINK}</p>',
    "max_height_zero": f'<div style="max-height:0;overflow:hidden">{LINK}</div>',
    "off_screen": f'<p style="text-indent:-9999px">{LINK}</p>',
    "outlook_hidden": f'<p style="mso-hide:all">{LINK}</p>',
    "white_on_white": f'<p style="color:#ffffff">{LINK}</p>',
    "transparent_text": '<p><a style="color:transparent" href="{{ unsubscribe_url }}">x</a></p>',
    "hidden_attribute": f"<p hidden>{LINK}</p>",
    "aria_hidden": f'<p aria-hidden="true">{LINK}</p>',
    "class_hidden_by_style_block": f'<style>.f {{ display: none }}</style><p class="f">{LINK}</p>',
    "hidden_on_phones_only": (
        "<style>@media (max-width: 600px) { .f { display: none } }</style>"
        f'<p class="f">{LINK}</p>'
    ),
    "template_element": f"<template>{LINK}</template>",
    "style_element": "<style>/* {{ unsubscribe_url }} */</style>",
    "script_element": "<script>var u = '{{ unsubscribe_url }}';</script>",
    "title_element": "<title>{{ unsubscribe_url }}</title>",
    "noscript_element": f"<noscript>{LINK}</noscript>",
    "textarea_element": "<textarea>{{ unsubscribe_url }}</textarea>",
    "html_comment": "<!-- {{ unsubscribe_url }} -->",
    "outlook_only_comment": f"<!--[if mso]>{LINK}<![endif]-->",
    "data_attribute": '<p data-x="{{ unsubscribe_url }}">Abmelden</p>',
    "title_attribute": '<p title="{{ unsubscribe_url }}">Abmelden</p>',
    "alt_attribute": '<img alt="{{ unsubscribe_url }}" src="https://salon.example/a.png">',
    "empty_link": '<a href="{{ unsubscribe_url }}"></a>',
    "whitespace_link": '<a href="{{ unsubscribe_url }}">  &nbsp; </a>',
    "zero_width_link": '<a href="{{ unsubscribe_url }}">&#8203;</a>',
    "image_only_link": '<a href="{{ unsubscribe_url }}"><img src="https://salon.example/x.png"></a>',
    "hidden_text_inside_link": (
        '<a href="{{ unsubscribe_url }}"><span style="display:none">Abmelden</span></a>'
    ),
}


@pytest.mark.parametrize("body", HIDDEN.values(), ids=HIDDEN.keys())
def test_a_link_no_reader_can_see_is_not_really_output(body: str) -> None:
    source = f"<html><body><p>Hallo {{{{ first_name }}}}</p>{body}</body></html>"
    assert r1_codes(source, html=True) == {"unsubscribe_hidden"}


BROKEN_HTML_LINKS = {
    "href_glued": '<a href="{{ unsubscribe_url }}XYZ">Abmelden</a>',
    "href_extension": '<a href="{{ unsubscribe_url }}.html">Abmelden</a>',
    "href_in_query": '<a href="https://tracker.example/?u={{ unsubscribe_url }}">Abmelden</a>',
    "text_shows_link_goes_elsewhere": '<a href="https://other.example/">{{ unsubscribe_url }}</a>',
    "visible_text_glued": "<p>Abmelden: {{ unsubscribe_url }}XYZ</p>",
}


@pytest.mark.parametrize("body", BROKEN_HTML_LINKS.values(), ids=BROKEN_HTML_LINKS.keys())
def test_an_html_link_that_would_not_work_is_refused(body: str) -> None:
    assert r1_codes(f"<p>Hallo</p>{body}", html=True) & {
        "unsubscribe_glued",
        "unsubscribe_misdirected",
    }


VISIBLE = {
    "anchor": '<p>Abmelden: <a href="{{ unsubscribe_url }}">hier</a></p>',
    "single_quotes": "<p><a href='{{ unsubscribe_url }}'>Abmelden</a></p>",
    "unquoted_attribute": "<p><a href={{ unsubscribe_url }}>Abmelden</a></p>",
    "url_as_text": "<p>Abmelden: {{ unsubscribe_url }}</p>",
    "url_as_text_with_period": "<p>Abmelden: {{ unsubscribe_url }}.</p>",
    "urlize": "<p>{{ unsubscribe_url|urlize }}</p>",
    "font_size_reset_below_zero_size_cell": (
        '<table><tr><td style="font-size:0px"><div style="font-size:13px">'
        f"{LINK}</div></td></tr></table>"
    ),
    "visibility_restored": (
        f'<div style="visibility:hidden"><p style="visibility:visible">{LINK}</p></div>'
    ),
    "grey_footer": f'<p style="color:#888888;font-size:11px">{LINK}</p>',
    "white_on_dark": (
        f'<div style="background-color:#222222"><p style="color:#ffffff">{LINK}</p></div>'
    ),
    "hidden_preheader_elsewhere": f'<div style="display:none">Vorschau</div><p>{LINK}</p>',
    "link_in_bold": '<p><a href="{{ unsubscribe_url }}"><b>Abmelden</b></a></p>',
}


@pytest.mark.parametrize("body", VISIBLE.values(), ids=VISIBLE.keys())
def test_a_visible_working_link_is_accepted(body: str) -> None:
    source = f"<html><body><p>Hallo {{{{ first_name }}}}</p>{body}</body></html>"
    assert check_template(source, field="email_html", html=True) == []
