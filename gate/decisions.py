"""Rule ids, reason codes and the decision every rule returns.

Every refusal or exclusion Salonpost makes names one of these rules, so that staff, reports and
logs can say why a client got no message.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

# What each rule and reason means is said in the text catalogue (``rule.R4``,
# ``reason.withdrawn`` in templates/texts), in German and English; the gate keeps the ids only.
RULES = ("R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9")
REASONS = frozenset(
    {
        "forgotten",
        "withdrawn",
        "minor_without_guardian_contact",
        "minor_without_guardian_consent",
        "no_purchase_in_window",
        "new_client_without_consent",
        "no_phone",
        "invalid_phone",
        "no_email",
        "invalid_email",
        "suppressed",
        "address_changed",
        "duplicate_address",
    }
)


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
    if rule not in RULES or reason not in REASONS:
        raise ValueError(f"unknown rule or reason {rule}:{reason}")
    return Decision(rule=rule, reason=reason)
