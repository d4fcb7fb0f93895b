"""Every text Salonpost shows a person, in English (``en.py``) and German (``de.py``).

One catalogue per language, the same keys in both, namespaced by who reads them::

    rule.R4            what a rule means (the gate keeps only the ids R1..R11)
    reason.withdrawn   why the gate left a client out (the gate keeps only the codes)
    error.*            the use cases' errors (services.errors), for every edge
    cli.*              the ``salonpost`` command's messages to staff and operators
    staff.*            the staff pages;  ops.*  the operator pages
    page.*             the client's pages (unsubscribe)

``text(key, lang, **values)`` fills the ``{placeholders}`` (``{{`` is a literal brace). A key
missing in a language is a bug and raises ``KeyError``; a test checks that both catalogues have
the same keys with the same placeholders, and that the CLI and the HTML pages print no text of
their own.
"""

from __future__ import annotations

import string

from templates.texts import de, en

LANGUAGES = ("en", "de")
CATALOGUES: dict[str, dict[str, str]] = {"en": en.TEXTS, "de": de.TEXTS}


def text(key: str, lang: str = "en", /, **values: object) -> str:
    """The text of ``key`` in ``lang`` (English for any other language), filled in."""
    return CATALOGUES.get(lang, en.TEXTS)[key].format(**values)


def has(key: str) -> bool:
    return key in en.TEXTS


def placeholders(template: str) -> set[str]:
    """The ``{names}`` a text expects (what a test compares between the languages)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def describe(rule: str, reason: str | None = None, *, language: str = "en") -> str:
    """``R4 opted out: client withdrew marketing consent`` (a gate decision for people)."""
    described = f"{rule} {text(f'rule.{rule}', language)}"
    if reason and has(f"reason.{reason}"):
        described += f": {text(f'reason.{reason}', language)}"
    return described
