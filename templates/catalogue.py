"""The placeholder catalogue: the only names a campaign template may use (rule R2).

Keeping the catalogue in one place means validation, the staff-facing help text and the
sample render used at validation time can never disagree about what exists.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Placeholder:
    """One documented placeholder, with help text for staff in German and English."""

    name: str
    description_de: str
    description_en: str
    example: str


UNSUBSCRIBE_PLACEHOLDER = "unsubscribe_url"

_ALL = (
    Placeholder("first_name", "Vorname der Kundin / des Kunden", "Client's first name", "Anna"),
    Placeholder("last_name", "Nachname der Kundin / des Kunden", "Client's last name", "Schmidt"),
    Placeholder("salon_name", "Name des Salons", "Name of the salon", "Salon Haarmonie"),
    Placeholder(
        UNSUBSCRIBE_PLACEHOLDER,
        "Persönlicher Abmeldelink (Pflicht in Werbenachrichten)",
        "Personal unsubscribe link (required in marketing messages)",
        "https://example.invalid/u/EXAMPLE",
    ),
)

PLACEHOLDERS: dict[str, Placeholder] = {p.name: p for p in _ALL}


def sample_context(unsubscribe_url: str = "<example>") -> dict[str, str]:
    """Example values for every placeholder, used for previews and trial renders.

    ``"<example>"`` means "use the catalogue's example link".
    """
    context = {name: p.example for name, p in PLACEHOLDERS.items()}
    if unsubscribe_url != "<example>":
        context[UNSUBSCRIBE_PLACEHOLDER] = unsubscribe_url
    return context
