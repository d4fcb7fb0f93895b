"""Markdown as salon staff write it, into blocks (markdown-it-py, CommonMark, no raw HTML).

What staff write, and what it becomes::

    # Frühlingsaktion              heading (## and ### too)
    Ein Absatz mit **fett**, *kursiv* und [Links](https://...).
    - Schnitt 29 €                 list
    ![Unser Team](https://...)     image (the salon's own uploads only), alone in its paragraph
    [[Termin buchen]]              button to the salon's booking link
    [[Gutschein holen]](https://...)  button to another https address
    ---                            divider

Raw HTML in Markdown is shown as text, never as markup. Placeholders (``{{ first_name }}``)
may stand anywhere in the text (the caller protects them with :class:`JinjaGuard`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

from markdown_it import MarkdownIt
from markdown_it.token import Token

from ..errors import TemplateError
from .blocks import Block, BulletList, Button, Divider, Heading, Image, Inline, Paragraph

_PARSER = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_BUTTON = re.compile(r"^\[\[(?P<label>[^\[\]]+)\]\]$")
_SAFE_LINK = re.compile(r"^(https://|http://|mailto:|tel:)", re.IGNORECASE)


def parse_markdown(source: str) -> list[Block]:
    """The blocks of ``source``; an image or link that cannot be sent is an error."""
    tokens = _PARSER.parse(source)
    return list(_blocks(tokens))


def _blocks(tokens: list[Token]) -> Iterator[Block]:
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type == "heading_open":
            yield Heading(_inline(tokens[index + 1]), level=min(int(token.tag[1]), 3))
            index += 3
        elif token.type == "paragraph_open" and tokens[index + 1].type == "inline":
            yield _paragraph(tokens[index + 1])
            index += 3
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            index, items = _list(tokens, index)
            yield BulletList(tuple(items))
        elif token.type == "hr":
            yield Divider()
            index += 1
        elif token.type in ("fence", "code_block"):
            yield Paragraph(Inline.plain(token.content.strip()))
            index += 1
        else:
            index += 1  # blockquote wrappers and the like: their paragraphs come through


def _list(tokens: list[Token], start: int) -> tuple[int, list[Inline]]:
    closing = tokens[start].type.replace("_open", "_close")
    items, depth, index = [], 0, start + 1
    while index < len(tokens) and not (tokens[index].type == closing and depth == 0):
        token = tokens[index]
        if token.type == tokens[start].type:
            depth += 1
        elif token.type == closing:
            depth -= 1
        elif token.type == "inline":
            items.append(_inline(token))
        index += 1
    return index + 1, items


def _paragraph(token: Token) -> Block:
    children = token.children or []
    button = _BUTTON.match(token.content.strip())
    if button:
        return Button(button.group("label").strip())
    if len(children) == 3 and children[0].type == "link_open" and children[1].type == "text":
        label = children[1].content
        if label.startswith("[") and label.endswith("]"):
            return Button(label[1:-1].strip(), _href(children[0]))
    if len(children) == 1 and children[0].type == "image":
        image = children[0]
        return Image(str(image.attrGet("src") or ""), _plain_text(image.children or []))
    return Paragraph(_inline(token))


def _href(token: Token) -> str:
    href = str(token.attrGet("href") or "")
    if not _SAFE_LINK.match(href) and not href.startswith("jx"):  # jx...: a guarded placeholder
        raise TemplateError(
            f"the link {href!r} is not a web, mail or phone address", code="bad_markdown"
        )
    return href


def _plain_text(children: list[Token]) -> str:
    return "".join(child.content for child in children if child.type in ("text", "code_inline"))


def _inline(token: Token) -> Inline:
    """Escaped HTML and plain text of an inline run, link targets written out in the text."""
    markup: list[str] = []
    text: list[str] = []
    href = ""
    for child in token.children or []:
        kind = child.type
        if kind in ("text", "code_inline"):
            markup.append(html.escape(child.content, quote=False))
            text.append(child.content)
        elif kind in ("strong_open", "strong_close", "em_open", "em_close"):
            tag = "strong" if kind.startswith("strong") else "em"
            markup.append(f"</{tag}>" if kind.endswith("close") else f"<{tag}>")
        elif kind == "link_open":
            href = _href(child)
            markup.append(f'<a href="{html.escape(href)}">')
        elif kind == "link_close":
            markup.append("</a>")
            text.append(f" ({href})")
        elif kind == "softbreak":
            markup.append("\n")
            text.append("\n")
        elif kind == "hardbreak":
            markup.append("<br>\n")
            text.append("\n")
        elif kind == "image":
            raise TemplateError(
                "an image must stand alone in its paragraph (an empty line before and after)",
                code="bad_markdown",
            )
    return Inline("".join(markup), "".join(text))
