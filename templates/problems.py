"""The validation result type shared by the sandbox (trial render) and the analysis."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TemplateProblem:
    """One reason a template is refused; ``rule`` is the compliance rule id it breaks."""

    rule: str  # "R1", "R2" or "R10"
    field: str  # "sms", "email_subject", "email_html", "email_text" ("salon" for R10)
    line: int | None
    code: str  # short reason code, e.g. "unsubscribe_missing"
    message: str  # English; names the problem and, when known, the line
