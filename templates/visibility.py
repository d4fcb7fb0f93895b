"""What a reader of an HTML email can see: visible text and links (rules R1 and R10).

A real parser (the standard library's ``html.parser``) reads a trial render, after the
``<style>`` blocks were applied to the elements (``css-inline``, each ``@media`` rule treated
as applying: a link hidden on phones only is hidden). Not visible, whatever the CSS says:

* comments (also Outlook's conditional comments), ``<head>``, ``<title>``, ``<style>``,
  ``<script>``, ``<template>``, ``<noscript>`` and the content of form controls and embedded
  objects (``<textarea>``, ``<select>``, ``<iframe>``, ``<object>``, ``<svg>``, ...);
* attribute values (``title``, ``alt``, ``data-*``); only an ``<a href>`` is a link;
* elements with the ``hidden`` attribute or ``aria-hidden="true"`` (hidden from screen
  readers is hidden from part of the clients, so it does not count);
* text whose style hides it (:mod:`templates.styles`).

A link counts as visible when it has visible text: zero-width characters, whitespace and
images alone are not text a client can recognise as the unsubscribe link.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import css_inline
import tinycss2

from .styles import Look, child_look

HIDDEN_ELEMENTS = frozenset(
    {
        "head", "title", "style", "script", "template", "noscript", "textarea", "select",
        "option", "iframe", "object", "embed", "svg", "math", "canvas", "audio", "video",
        "frameset", "noframes",
    }
)  # fmt: skip
VOID_ELEMENTS = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr",
    }
)  # fmt: skip
# Inline elements join their text to the neighbours' without a space; every other tag
# separates words (a paragraph, a cell, a line break).
INLINE_ELEMENTS = frozenset(
    {
        "a", "abbr", "b", "bdi", "bdo", "cite", "code", "em", "font", "i", "kbd", "mark", "q",
        "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var",
    }
)  # fmt: skip
# A start tag that closes an open element first, as HTML's parser does (``<p>a<p>b``).
_CLOSES = {
    "p": {"p"}, "li": {"li"}, "td": {"td", "th"}, "th": {"td", "th"}, "tr": {"tr", "td", "th"},
    "dt": {"dt", "dd"}, "dd": {"dt", "dd"}, "option": {"option"},
}  # fmt: skip
_BLOCKS_CLOSING_P = frozenset(
    {"address", "article", "aside", "blockquote", "div", "dl", "fieldset", "footer", "form",
     "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "main", "nav", "ol", "p", "pre",
     "section", "table", "ul"}
)  # fmt: skip
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u034f"))


@dataclass
class TextNode:
    """One run of text between two tags, as decoded (entities resolved)."""

    text: str
    hidden: bool
    start: int  # where it begins in :attr:`VisibleDocument.text` (visible nodes only)


@dataclass
class Link:
    """One ``<a href>``: its target, its visible text and where that text is."""

    href: str
    hidden: bool
    text: str = ""
    start: int = 0
    end: int = 0

    @property
    def has_visible_text(self) -> bool:
        return bool(self.text.translate(_ZERO_WIDTH).strip())


@dataclass
class VisibleDocument:
    """The visible text of an email (tags as word breaks where a reader sees one) and its
    links; ``nodes`` also holds the hidden text and ``attributes`` every attribute value."""

    text: str = ""
    nodes: list[TextNode] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    attributes: list[tuple[str, str, str]] = field(default_factory=list)  # tag, name, value


@dataclass
class _Open:
    tag: str
    look: Look
    hidden: bool
    link: Link | None = None


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.document = VisibleDocument()
        self.stack: list[_Open] = [_Open("#root", Look(), hidden=False)]
        self.parts: list[str] = []
        self.length = 0
        self.pending: list[str] = []

    @property
    def top(self) -> _Open:
        return self.stack[-1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._flush()
        self._close_implied(tag)
        values = {name: value or "" for name, value in attrs}
        self.document.attributes += [(tag, name, value) for name, value in values.items()]
        if tag not in INLINE_ELEMENTS:
            self._break()
        if tag in VOID_ELEMENTS:
            return
        self.stack.append(self._element(tag, values))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID_ELEMENTS:
            self.handle_endtag(tag)

    def _element(self, tag: str, values: dict[str, str]) -> _Open:
        parent = self.top
        look = child_look(parent.look, values.get("style", ""), bgcolor=values.get("bgcolor"))
        hidden = (
            parent.hidden
            or tag in HIDDEN_ELEMENTS
            or "hidden" in values
            or values.get("aria-hidden", "").strip().lower() == "true"
            or look.gone
        )
        link = parent.link
        if tag == "a" and "href" in values:
            link = Link(href=values["href"].strip(), hidden=hidden, start=self.length)
            self.document.links.append(link)
        return _Open(tag, look, hidden, link)

    def _close_implied(self, tag: str) -> None:
        closes = set(_CLOSES.get(tag, ()))
        if tag in _BLOCKS_CLOSING_P:
            closes.add("p")
        while len(self.stack) > 1 and self.top.tag in closes:
            self._pop()

    def handle_endtag(self, tag: str) -> None:
        self._flush()
        if tag not in INLINE_ELEMENTS:
            self._break()
        if not any(item.tag == tag for item in self.stack[1:]):
            return  # a stray end tag: browsers ignore it too
        while self.top.tag != tag:
            self._pop()
        self._pop()

    def _pop(self) -> None:
        closed = self.stack.pop()
        if closed.link is not None and closed.link is not self.top.link:
            closed.link.end = self.length

    def handle_data(self, data: str) -> None:
        self.pending.append(data)

    def _flush(self) -> None:
        if not self.pending:
            return
        text, self.pending = "".join(self.pending), []
        element = self.top
        hidden = element.hidden or element.look.hides_text
        self.document.nodes.append(TextNode(text, hidden, self.length))
        if hidden:
            return
        self._append(text)
        if element.link is not None:
            element.link.text += text

    def _break(self) -> None:
        if self.parts and not self.parts[-1].endswith(" "):
            self._append(" ")

    def _append(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text)

    def finish(self) -> VisibleDocument:
        self.close()
        self._flush()
        while len(self.stack) > 1:
            self._pop()
        self.document.text = "".join(self.parts)
        return self.document


def read_html(html: str) -> VisibleDocument:
    """The visible text and links of ``html`` after its style blocks are applied."""
    reader = _Reader()
    reader.feed(inline_styles(html))
    return reader.finish()


def inline_styles(html: str) -> str:
    """``html`` with its ``<style>`` rules copied into the ``style`` attributes they match.

    ``@media`` and ``@supports`` rules are unwrapped first, so they count as always applying;
    nothing remote is loaded.
    """
    if "<style" not in html.lower():
        return html
    sheets = _StyleBlocks.collect(html)
    try:
        return str(
            css_inline.inline(
                html,
                extra_css=_unwrapped_at_rules(sheets),
                load_remote_stylesheets=False,
                keep_style_tags=True,  # the reader ignores their text anyway
            )
        )
    except ValueError:
        return html  # CSS the inliner cannot read: judge the inline styles alone


class _StyleBlocks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.inside = False
        self.sheets: list[str] = []

    @classmethod
    def collect(cls, html: str) -> list[str]:
        reader = cls()
        reader.feed(html)
        reader.close()
        return reader.sheets

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "style":
            self.inside = True
            self.sheets.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self.inside = False

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.sheets[-1] += data


def _unwrapped_at_rules(sheets: list[str]) -> str:
    """The rules inside every ``@media``/``@supports`` block (nested too), as plain rules."""
    rules: list[str] = []
    for sheet in sheets:
        _unwrap(tinycss2.parse_stylesheet(sheet, skip_comments=True, skip_whitespace=True), rules)
    return "\n".join(rules)


def _unwrap(nodes: list[Any], rules: list[str], *, inside: bool = False) -> None:
    for rule in nodes:
        if rule.type == "qualified-rule" and inside:
            rules.append(tinycss2.serialize([rule]))
        elif rule.type == "at-rule" and rule.lower_at_keyword in ("media", "supports"):
            content = tinycss2.parse_rule_list(rule.content or [], True, True)
            _unwrap(content, rules, inside=True)
