"""Blocks into a responsive email: MJML (mjml-python) to HTML, CSS inlined (css-inline).

The result is a campaign template like any other (Jinja source, placeholders intact), with the
R10 footer built in, so R1/R2/R10 check it and :func:`with_compliance_footer` leaves it as it
is. The text part is made from the same blocks; staff write the message once.

Typical use::

    email = compose_markdown(markdown, subject="Frühling bei {{ salon_name }}",
                             brand=Brand(colour="#7A4B8C", booking_url="https://..."),
                             sender=Sender("Salon Anna", "Hauptstr. 1, 10115 Berlin"))
    email.html, email.text     # store as the campaign's email_html / email_text
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

import css_inline
from mjml import mjml2html

from ..errors import TemplateError
from ..footer import Sender, email_footer_html, email_footer_text
from ..sizes import source_limit
from ..styles import BLACK, WHITE, contrast
from .blocks import (
    TEXTS,
    Block,
    Brand,
    BulletList,
    Button,
    Divider,
    Heading,
    Image,
    Paragraph,
    check_image,
)
from .guard import JinjaGuard
from .markdown import parse_markdown

FONT = "Arial, Helvetica, sans-serif"  # system fonts only: no remote font is ever loaded
_HEADING_PX = {1: 26, 2: 21, 3: 18}


@dataclass(frozen=True)
class ComposedEmail:
    """A composed email as campaign templates (Jinja source)."""

    subject: str
    html: str
    text: str


def compose_markdown(source: str, *, subject: str, brand: Brand, sender: Sender) -> ComposedEmail:
    """Compose from Markdown (see :mod:`templates.compose.markdown`)."""
    limit = source_limit("email_markdown")
    if len(source) > limit:
        raise TemplateError(
            f"the text has {len(source):,} characters; at most {limit:,} are allowed",
            code="too_large",
        )
    guard = JinjaGuard()
    blocks = parse_markdown(guard.protect(source))
    return _compose(blocks, guard, subject=subject, brand=brand, sender=sender)


def compose_blocks(
    blocks: Sequence[Block], *, subject: str, brand: Brand, sender: Sender
) -> ComposedEmail:
    """Compose from blocks (the editor's list, :func:`templates.compose.blocks_from_list`)."""
    guard = JinjaGuard()
    guarded = parse_markdown("")  # an empty list, typed
    guarded += [_guard_block(block, guard) for block in blocks]
    return _compose(guarded, guard, subject=subject, brand=brand, sender=sender)


def _guard_block(block: Block, guard: JinjaGuard) -> Block:
    # Blocks from the editor carry placeholders in plain strings: guard them like Markdown.
    if isinstance(block, Heading | Paragraph):
        content = type(block.content)(
            guard.protect(block.content.html), guard.protect(block.content.text)
        )
        return Heading(content, block.level) if isinstance(block, Heading) else Paragraph(content)
    if isinstance(block, Button):
        return Button(guard.protect(block.label), block.url)
    return block


def _compose(
    blocks: Sequence[Block], guard: JinjaGuard, *, subject: str, brand: Brand, sender: Sender
) -> ComposedEmail:
    if not blocks:
        raise TemplateError("the email has no content", code="bad_markdown")
    mjml = _mjml(blocks, guard, subject=guard.protect(subject), brand=brand, sender=sender)
    rendered = mjml2html(mjml, disable_comments=True, fonts={})
    inlined = css_inline.inline(
        rendered, keep_style_tags=True, keep_at_rules=True, load_remote_stylesheets=False
    )
    # MJML keeps every text it is given; a tag may be missing from one part only because the
    # other part alone shows it (an image's alt text, say).
    page = guard.restore(inlined, required=False)
    text = guard.restore(_text(blocks, brand), required=False)
    return ComposedEmail(
        subject=subject, html=page, text=f"{text}\n\n{email_footer_text(sender)}\n"
    )


def _mjml(
    blocks: Sequence[Block], guard: JinjaGuard, *, subject: str, brand: Brand, sender: Sender
) -> str:
    body = "".join(_mj_block(block, brand) for block in blocks)
    logo = ""
    if brand.logo_url:
        logo = (
            f'<mj-image src="{_attr(brand.logo_url)}" alt="{_attr(sender.name)}" width="160px" '
            'padding-bottom="8px" />'
        )
    footer = guard.protect(email_footer_html(sender))
    return (
        "<mjml><mj-head>"
        f"<mj-title>{_text_node(subject)}</mj-title>"
        f'<mj-attributes><mj-all font-family="{FONT}" />'
        '<mj-text font-size="16px" line-height="1.5" color="#222222" padding="4px 24px" />'
        "</mj-attributes></mj-head>"
        f'<mj-body background-color="#f4f4f4" width="600px">'
        f'<mj-section background-color="#ffffff" border-top="6px solid {brand.colour}" '
        'padding="16px 0"><mj-column>'
        f"{logo}{body}</mj-column></mj-section>"
        f'<mj-section padding="0"><mj-column><mj-raw>{footer}</mj-raw></mj-column></mj-section>'
        "</mj-body></mjml>"
    )


def _mj_block(block: Block, brand: Brand) -> str:
    if isinstance(block, Heading):
        size = _HEADING_PX[block.level]
        return (
            f'<mj-text font-size="{size}px" font-weight="bold" color="{brand.colour}" '
            f'padding="12px 24px 4px 24px"><h{block.level} style="margin:0;font-size:{size}px">'
            f"{block.content.html}</h{block.level}></mj-text>"
        )
    if isinstance(block, Paragraph):
        content = block.content.html.replace("\n", " ")
        return f'<mj-text><p style="margin:0 0 12px 0">{content}</p></mj-text>'
    if isinstance(block, BulletList):
        items = "".join(f"<li>{item.html}</li>" for item in block.items)
        return f'<mj-text><ul style="margin:0 0 12px 0;padding-left:20px">{items}</ul></mj-text>'
    if isinstance(block, Button):
        href = _attr(_button_url(block, brand))
        return (
            f'<mj-button href="{href}" background-color="{brand.colour}" '
            f'color="{_on(brand.colour)}" font-size="16px" border-radius="6px" '
            f'inner-padding="12px 24px">{_text_node(block.label)}</mj-button>'
        )
    if isinstance(block, Image):
        src = check_image(block.src, brand)
        return f'<mj-image src="{_attr(src)}" alt="{_attr(block.alt)}" padding="8px 24px" />'
    return '<mj-divider border-color="#dddddd" border-width="1px" padding="12px 24px" />'


def _button_url(button: Button, brand: Brand) -> str:
    url = button.url or brand.booking_url
    if not url:
        raise TemplateError(
            f"the button {button.label!r} needs a link: set the salon's booking link or write "
            "[[Text]](https://...)",
            code="bad_block",
        )
    return url


def _on(colour: str) -> str:
    """White or black text, whichever reads better on the salon colour."""
    rgb = tuple(int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    background = (rgb[0], rgb[1], rgb[2], 1.0)
    return "#ffffff" if contrast(WHITE, background) >= contrast(BLACK, background) else "#000000"


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


def _text_node(value: str) -> str:
    return html.escape(value, quote=False)


def _text(blocks: Sequence[Block], brand: Brand) -> str:
    """The plain-text part: headings underlined, buttons and links written out."""
    parts = []
    for block in blocks:
        if isinstance(block, Heading):
            line = block.content.text.strip()
            parts.append(f"{line}\n{('=' if block.level == 1 else '-') * min(len(line), 60)}")
        elif isinstance(block, Paragraph):
            parts.append(block.content.text.strip())
        elif isinstance(block, BulletList):
            parts.append("\n".join(f"- {item.text.strip()}" for item in block.items))
        elif isinstance(block, Button):
            parts.append(f"{block.label}: {_button_url(block, brand)}")
        elif isinstance(block, Image):
            if block.alt:
                parts.append(f"[{block.alt}]")
        elif isinstance(block, Divider):
            parts.append("-" * 20)
    return "\n\n".join(parts)


def book_label(language: str) -> str:
    """The default label of the booking button."""
    english, german = TEXTS["book"]
    return german if language == "de" else english
