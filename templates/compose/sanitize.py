"""Raw HTML from experts, made safe to send (nh3, the Ammonia sanitiser).

Kept: the elements and attributes of an ordinary email (text, links, images, tables, inline
styles). Removed, with their content where it is code: ``<script>``, ``<style>`` (its rules are
inlined first, so the look stays), ``<form>`` and every form control, ``<iframe>``, ``<object>``,
``<embed>``, ``<link>``, ``<meta>``, event handlers (``onclick``...), ``javascript:`` and
``data:`` URLs, and CSS that loads anything (``url()``, ``@import``, ``@font-face``: only the
style properties below survive). Jinja tags are carried through unharmed (:class:`JinjaGuard`);
one that stood inside a removed part goes with it and is listed in ``dropped_tags`` for staff
(an ``{% if %}`` left without its ``{% endif %}`` is then an R2 syntax error). R1 and R10 read
the sanitised result like any template.
"""

from __future__ import annotations

from dataclasses import dataclass

import css_inline
import nh3

from .guard import JinjaGuard

TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "center", "div", "em", "font", "h1", "h2", "h3",
        "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "s", "small", "span", "strong",
        "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
        "html", "head", "body", "title",
    }
)  # fmt: skip
_COMMON = {"style", "align", "dir", "lang", "class", "role", "width", "height"}
ATTRIBUTES: dict[str, set[str]] = {
    "*": _COMMON,
    "a": {"href", "title"},
    "img": {"src", "alt", "border"},
    "table": {"cellpadding", "cellspacing", "border", "bgcolor"},
    "td": {"colspan", "rowspan", "valign", "bgcolor"},
    "th": {"colspan", "rowspan", "valign", "bgcolor"},
    "tr": {"valign", "bgcolor"},
    "font": {"color", "face", "size"},
}
STYLE_PROPERTIES = frozenset(
    {
        "background-color", "border", "border-bottom", "border-collapse", "border-color",
        "border-left", "border-radius", "border-right", "border-spacing", "border-style",
        "border-top", "border-width", "color", "display", "font-family", "font-size",
        "font-style", "font-weight", "height", "letter-spacing", "line-height", "margin",
        "margin-bottom", "margin-left", "margin-right", "margin-top", "max-height", "max-width",
        "min-width", "opacity", "overflow", "padding", "padding-bottom", "padding-left",
        "padding-right", "padding-top", "text-align", "text-decoration", "text-indent",
        "text-transform", "vertical-align", "visibility", "white-space", "width",
        "mso-hide", "font-variant",
    }
)  # fmt: skip
# Removed with everything inside: code, and what a reader never sees anyway.
REMOVED_WITH_CONTENT = frozenset(
    {"script", "style", "template", "noscript", "iframe", "object", "embed", "form", "textarea",
     "select", "button", "svg", "math"}
)  # fmt: skip
URL_SCHEMES = frozenset({"https", "http", "mailto", "tel"})


@dataclass(frozen=True)
class SanitizedHtml:
    """The sanitised template, and the Jinja tags that went with removed parts."""

    html: str
    dropped_tags: tuple[str, ...]


def sanitize_html(source: str) -> SanitizedHtml:
    """``source`` (an email HTML template) with everything unsafe removed."""
    guard = JinjaGuard()
    guarded = guard.protect(source)
    if "<style" in guarded.lower():
        # Keep the expert's look: copy the rules into style attributes before <style> goes.
        guarded = css_inline.inline(guarded, load_remote_stylesheets=False, keep_style_tags=False)
    cleaned = nh3.clean(
        guarded,
        tags=set(TAGS),
        clean_content_tags=set(REMOVED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        filter_style_properties=set(STYLE_PROPERTIES),
        strip_comments=True,
        link_rel="noopener noreferrer",
    )
    return SanitizedHtml(guard.restore(cleaned, required=False), tuple(guard.missing(cleaned)))
