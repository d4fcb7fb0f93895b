"""Rule ids, reason codes and the decision every rule returns.

Every refusal or exclusion Salonpost makes names one of these rules, so that staff, reports and
logs can say why a client got no message.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

RULES: dict[str, tuple[str, str]] = {
    # id: (English, German)
    "R1": ("unsubscribe link missing", "Abmeldelink fehlt"),
    "R2": ("template not safe or not complete", "Vorlage unsicher oder unvollständig"),
    "R3": ("no purchase within the window", "kein Kauf im Zeitraum"),
    "R4": ("opted out", "abgemeldet"),
    "R5": ("no lawful basis", "keine Rechtsgrundlage"),
    "R6": ("minor without guardian consent", "minderjährig ohne Einwilligung der Eltern"),
    "R7": ("forgotten", "vergessen"),
    "R8": ("not reachable or address shared", "nicht erreichbar oder Adresse doppelt"),
    "R9": ("address suppressed", "Adresse gesperrt"),
}

REASONS: dict[str, tuple[str, str]] = {
    "forgotten": ("client was forgotten (anonymised)", "Kunde wurde vergessen (anonymisiert)"),
    "withdrawn": ("client withdrew marketing consent", "Kunde hat die Einwilligung widerrufen"),
    "minor_without_guardian_contact": (
        "minor without a guardian contact for this channel",
        "minderjährig, keine Kontaktangabe der Eltern für diesen Kanal",
    ),
    "minor_without_guardian_consent": (
        "minor whose guardian has not consented",
        "minderjährig, Eltern haben nicht eingewilligt",
    ),
    "no_purchase_in_window": (
        "no purchase within the campaign window",
        "kein Kauf im Zeitraum der Kampagne",
    ),
    "new_client_without_consent": (
        "client created after the gate was switched on, without explicit consent",
        "Neukunde seit Einführung der Prüfung, ohne ausdrückliche Einwilligung",
    ),
    "no_phone": ("no phone number", "keine Telefonnummer"),
    "invalid_phone": ("phone number is not valid", "Telefonnummer ungültig"),
    "no_email": ("no email address", "keine E-Mail-Adresse"),
    "invalid_email": ("email address is not valid", "E-Mail-Adresse ungültig"),
    "suppressed": ("address is suppressed", "Adresse ist gesperrt"),
    "address_changed": (
        "the client's address changed after the campaign was planned",
        "die Adresse hat sich nach der Planung der Kampagne geändert",
    ),
    "duplicate_address": (
        "another client of this campaign has the same address",
        "gleiche Adresse wie ein anderer Kunde dieser Kampagne",
    ),
}


@dataclass(frozen=True, slots=True)
class Decision:
    """The gate's answer for one client on one channel.

    ``rule`` is None when the client may receive the message; ``address`` and ``recipient``
    then say where it goes ("client", or "guardian" for a minor).
    """

    rule: str | None
    reason: str | None
    address: str | None = None
    recipient: str = "client"

    @property
    def allowed(self) -> bool:
        return self.rule is None

    @property
    def code(self) -> str | None:
        """'R4:withdrawn' style, as stored and as the SQL selection computes it."""
        return None if self.rule is None else f"{self.rule}:{self.reason}"


def allow(address: str, recipient: str) -> Decision:
    return Decision(rule=None, reason=None, address=address, recipient=recipient)


@functools.cache
def refuse(rule: str, reason: str) -> Decision:
    # Made once per rule and reason and then shared (a Decision is immutable): a large
    # audience has hundreds of thousands of refusals and only a dozen different ones.
    assert rule in RULES and reason in REASONS, (rule, reason)
    return Decision(rule=rule, reason=reason)


def describe(rule: str, reason: str | None = None, *, language: str = "en") -> str:
    index = 1 if language == "de" else 0
    text = f"{rule} {RULES[rule][index]}"
    if reason and reason in REASONS:
        text += f": {REASONS[reason][index]}"
    return text
