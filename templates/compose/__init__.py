"""Composing like a salon: Markdown or blocks into a responsive email with the R10 footer,
raw expert HTML sanitised, and ready-made copy (:mod:`templates.gallery`).

Every result is an ordinary campaign template (Jinja source): R1, R2 and R10 check it like any
other, and the text part comes from the same source as the HTML.
"""

from .blocks import (
    Block,
    Brand,
    BulletList,
    Button,
    Divider,
    Heading,
    Image,
    Inline,
    Paragraph,
    blocks_from_list,
)
from .email import ComposedEmail, book_label, compose_blocks, compose_markdown
from .markdown import parse_markdown
from .sanitize import SanitizedHtml, sanitize_html

__all__ = [
    "Block",
    "Brand",
    "BulletList",
    "Button",
    "ComposedEmail",
    "Divider",
    "Heading",
    "Image",
    "Inline",
    "Paragraph",
    "SanitizedHtml",
    "blocks_from_list",
    "book_label",
    "compose_blocks",
    "compose_markdown",
    "parse_markdown",
    "sanitize_html",
]
