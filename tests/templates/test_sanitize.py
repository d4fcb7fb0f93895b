"""Raw HTML from experts is sanitised (nh3); R1 and R10 read the result."""

import pytest
from compose_support import external_resources

from templates.analysis import check_template
from templates.compose import sanitize_html

LINK = '<p><a href="{{ unsubscribe_url }}">Abmelden</a></p>'

UNSAFE = {
    "script": ("<script>alert(1)</script>", "alert"),
    "event_handler": ('<p onclick="alert(1)">x</p>', "onclick"),
    "javascript_url": ('<a href="javascript:alert(1)">x</a>', "javascript:"),
    "data_url_image": ('<img src="data:image/png;base64,AAAA">', "data:"),
    "form": (
        '<form action="https://x.example"><input name="pin"><button>Go</button></form>',
        "<form",
    ),
    "iframe": ('<iframe src="https://x.example"></iframe>', "iframe"),
    "object": ('<object data="https://x.example/a.swf"></object>', "object"),
    "remote_stylesheet": (
        '<link rel="stylesheet" href="https://fonts.example/a.css">',
        "fonts.example",
    ),
    "css_import": (
        "<style>@import url(https://fonts.example/a.css); p{color:red}</style>",
        "@import",
    ),
    "font_face": (
        "<style>@font-face{font-family:X;src:url(https://f.example/x.woff)}</style>",
        "f.example",
    ),
    "background_image": ('<p style="background:url(https://t.example/p.gif)">x</p>', "t.example"),
    "svg": ("<svg><script>alert(1)</script></svg>", "svg"),
    "meta_refresh": ('<meta http-equiv="refresh" content="0;url=https://x.example">', "refresh"),
    "base": ('<base href="https://x.example/">', "<base"),
}


@pytest.mark.parametrize(("html", "trace"), UNSAFE.values(), ids=UNSAFE.keys())
def test_unsafe_html_is_removed_and_the_link_stays(html, trace):
    result = sanitize_html(
        f"<html><body><p>Hallo {{{{ first_name }}}}</p>{html}{LINK}</body></html>"
    )
    assert trace not in result.html
    assert external_resources(result.html) == []
    assert "Hallo {{ first_name }}" in result.html
    assert check_template(result.html, field="email_html", html=True) == []


def test_an_experts_look_is_kept_inline():
    source = (
        '<style>.price { color: #7a4b8c; font-weight: bold }</style><p class="price">29 €</p>'
        + LINK
    )
    result = sanitize_html(source).html
    assert "<style" not in result
    assert "color:#7a4b8c" in result.replace(" ", "") and "font-weight:bold" in result.replace(
        " ", ""
    )


def test_template_tags_in_removed_parts_are_reported_not_silently_lost():
    result = sanitize_html("<script>var x = '{{ first_name }}';</script><p>Hi</p>" + LINK)
    assert result.dropped_tags == ("{{ first_name }}",)
    assert "{{ unsubscribe_url }}" in result.html


def test_a_hidden_link_is_still_refused_after_sanitising():
    result = sanitize_html('<div style="display:none">' + LINK + "</div>")
    assert {p.code for p in check_template(result.html, field="email_html", html=True)} == {
        "unsubscribe_hidden"
    }
