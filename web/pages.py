"""The client's pages (unsubscribe) rendered from web/html, in German or English.

Their texts are the catalogue's ``page.*`` keys (templates.texts).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from templates.texts import CATALOGUES, LANGUAGES, text

PAGES = Path(__file__).resolve().parent / "html"
_env = Environment(loader=FileSystemLoader(PAGES), autoescape=select_autoescape(["html"]))


def pick_language(accept_language: str | None) -> str:
    """German or English, by the first of them the browser prefers (English by default)."""
    ranked = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, index, tag.strip().lower()[:2]))
    for _, _, tag in sorted(ranked):
        if tag in LANGUAGES:
            return tag
    return "en"


def channel_name(channels: list[str], lang: str) -> str:
    return text("page.channel.and", lang).join(text(f"page.channel.{c}", lang) for c in channels)


def render_page(page: str, lang: str, **values: Any) -> str:
    prefix = f"page.{page}."
    keys = [key for key in CATALOGUES["en"] if key.startswith(prefix)]
    texts = {key[len(prefix) :]: text(key, lang, **values) for key in keys}
    return _env.get_template(f"{page}.html").render(t=texts, lang=lang, **values)
