"""Ready-made copy per occasion (Advent, Valentine's Day, Mother's Day, a new treatment,
last-minute free slots, price change, summer break), in German and English.

Each occasion is one TOML file beside this module with a ``[de]`` and an ``[en]`` table:
``title`` (for the gallery), ``subject``, ``sms`` and ``markdown`` (the email, composed with
:func:`templates.compose.compose_markdown`). Every one passes R1, R2 and R10 as shipped (the
SMS names the salon and ends with the free unsubscribe notice; the composed email carries the
footer); ``tests/templates/test_gallery.py`` renders them all.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources

from ..errors import TemplateError
from ..footer import Language

_FIELDS = ("title", "subject", "sms", "markdown")


@dataclass(frozen=True)
class GalleryTemplate:
    """One occasion's copy in one language."""

    name: str  # the file's name: "advent", "price_change", ...
    occasion: str
    language: Language
    title: str
    subject: str
    sms: str
    markdown: str


@functools.cache
def gallery() -> tuple[GalleryTemplate, ...]:
    """Every ready-made template, by name and then language."""
    found = []
    for entry in sorted(resources.files(__package__).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            found += _read(entry.name.removesuffix(".toml"), entry.read_text(encoding="utf-8"))
    return tuple(found)


def _read(name: str, content: str) -> list[GalleryTemplate]:
    data = tomllib.loads(content)
    templates = []
    for language in Language:
        copy = data.get(str(language), {})
        missing = [field for field in _FIELDS if not isinstance(copy.get(field), str)]
        if missing:
            raise TemplateError(f"gallery {name} [{language}] lacks {missing}", code="bad_gallery")
        values = {field: copy[field].strip() for field in _FIELDS}
        templates.append(GalleryTemplate(name, str(data["occasion"]), language, **values))
    return templates


def gallery_template(name: str, language: Language | str) -> GalleryTemplate:
    """The template ``name`` in ``language``; a ``not_found`` error names the known ones."""
    for template in gallery():
        if template.name == name and template.language == language:
            return template
    known = sorted({t.name for t in gallery()})
    raise TemplateError(
        f"no ready-made template {name!r}; known: {', '.join(known)}", code="not_found"
    )
