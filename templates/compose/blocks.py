"""The building blocks of a composed email, and the salon's look (colour, logo, booking link).

Staff write Markdown (:mod:`templates.compose.markdown`) or pick blocks in the editor
(:func:`blocks_from_list`); both end up as these blocks, from which the HTML and the text part
are made (:mod:`templates.compose.email`). Inline text is kept twice, as escaped HTML and as
plain text, so both parts say the same.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import TemplateError

_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_WEB_URL = re.compile(r"^https://[^\s<>\"']+$", re.IGNORECASE)

TEXTS: dict[str, tuple[str, str]] = {
    "book": ("Book an appointment", "Termin buchen"),
}


@dataclass(frozen=True)
class Inline:
    """A run of formatted text: ``html`` (escaped, with ``<strong>``, ``<a>``...) and ``text``."""

    html: str
    text: str

    @classmethod
    def plain(cls, value: str) -> Inline:
        return cls(html.escape(value, quote=False), value)


@dataclass(frozen=True)
class Heading:
    content: Inline
    level: int = 1


@dataclass(frozen=True)
class Paragraph:
    content: Inline


@dataclass(frozen=True)
class BulletList:
    items: tuple[Inline, ...]


@dataclass(frozen=True)
class Button:
    label: str
    url: str | None = None  # None: the salon's booking link


@dataclass(frozen=True)
class Image:
    src: str
    alt: str = ""


@dataclass(frozen=True)
class Divider:
    pass


Block = Heading | Paragraph | BulletList | Button | Image | Divider


@dataclass(frozen=True)
class Brand:
    """The salon's look and links. ``image_prefixes``: where the salon's own images live (its
    media path in Salonpost); an image from anywhere else is refused (tracking, privacy)."""

    colour: str = "#7a4b8c"
    logo_url: str | None = None
    booking_url: str | None = None
    image_prefixes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not _HEX_COLOUR.match(self.colour):
            raise TemplateError(
                f"the salon colour {self.colour!r} is not a colour like #7A4B8C", code="bad_brand"
            )
        if self.booking_url is not None and not _WEB_URL.match(self.booking_url):
            raise TemplateError(
                f"the booking link {self.booking_url!r} is not an https address", code="bad_brand"
            )
        if self.logo_url is not None:
            check_image(self.logo_url, self)


def check_image(src: str, brand: Brand) -> str:
    """``src`` if it is one of the salon's own https images, else a ``bad_block`` error."""
    if _WEB_URL.match(src) and any(src.startswith(p) for p in brand.image_prefixes):
        return src
    raise TemplateError(
        f"the image {src!r} is not one of the salon's own uploaded images; upload it first",
        code="bad_block",
    )


def blocks_from_list(items: Sequence[Mapping[str, Any]]) -> list[Block]:
    """Blocks from the editor's list: ``{"type": "heading", "text": ...}``, ``paragraph``,
    ``button`` (``label``, optional ``url``), ``image`` (``src``, ``alt``), ``divider``."""
    return [_block(index, item) for index, item in enumerate(items, start=1)]


def _block(index: int, item: Mapping[str, Any]) -> Block:
    kind = item.get("type")

    def value(name: str, required: bool = True) -> str:
        found = item.get(name)
        if found is None and not required:
            return ""
        if not isinstance(found, str) or (required and not found.strip()):
            raise TemplateError(f"block {index} ({kind}): '{name}' is missing", code="bad_block")
        return found

    if kind == "heading":
        return Heading(Inline.plain(value("text")))
    if kind == "paragraph":
        return Paragraph(Inline.plain(value("text")))
    if kind == "button":
        return Button(value("label"), value("url", required=False) or None)
    if kind == "image":
        return Image(value("src"), value("alt", required=False))
    if kind == "divider":
        return Divider()
    raise TemplateError(f"block {index}: unknown type {kind!r}", code="bad_block")
