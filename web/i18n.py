"""German and English for the staff and operator pages: one text catalogue, Babel formatting.

Texts are the catalogue's (:mod:`templates.texts`, ``staff.*`` and ``ops.*`` keys); a missing key
is a bug and raises (the tests render every page in both languages). Numbers, percentages, times and
durations are formatted by Babel for the page's locale (``de_DE`` or ``en_GB``), in the
salon's time zone where a salon is known.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_timedelta
from babel.numbers import format_decimal, format_percent

from templates.texts import LANGUAGES, has, text
from web.pages import pick_language

LOCALES = {"en": "en_GB", "de": "de_DE"}
LANG_COOKIE = "salonpost_lang"


@dataclass(frozen=True)
class Translator:
    """``t(key, **values)`` plus Babel formatting for one language and time zone."""

    lang: str = "en"
    timezone: str = "Europe/Berlin"

    @property
    def locale(self) -> str:
        return LOCALES[self.lang]

    def __call__(self, key: str, **values: object) -> str:
        return text(key, self.lang, **values)

    def has(self, key: str) -> bool:
        return has(key)

    def number(self, value: float | int) -> str:
        return str(format_decimal(value, locale=self.locale))

    def percent(self, value: float) -> str:
        """``value`` in percent points (42.5 -> "42.5%" / "42,5 %")."""
        return str(format_percent(value / 100, format="#,##0.#%", locale=self.locale))

    def datetime(self, value: dt.datetime | str | None) -> str:
        if value is None:
            return "–"
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        local = value.astimezone(ZoneInfo(self.timezone))
        return str(format_datetime(local, format="short", locale=self.locale))

    def duration(self, seconds: float | None) -> str:
        if seconds is None:
            return "–"
        delta = dt.timedelta(seconds=seconds)
        return str(format_timedelta(delta, threshold=1.5, locale=self.locale))


def choose_language(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """``?lang=`` wins, then the remembered choice, then the browser's preference."""
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return str(candidate)
    return pick_language(accept_language)
