"""Auto-replies (RFC 3834): out-of-office, vacation and challenge-response mails. Ignored.

An out-of-office reply is no unsubscribe and no bounce: the client is on holiday. Evidence, in
the order it is looked for (the first one found is the `reason`)::

    challenge-response   X-Boxtrapper, X-Spam-Arrest, X-TMDA-Fingerprint, X-Challenge headers,
                         or "please verify / bestätigen Sie" subjects: never answered
    Auto-Submitted       any value but "no" (auto-replied, auto-generated, auto-notified)
    X-Autoreply, X-Autorespond, X-Autoresponder, X-Vacation
    Precedence           auto_reply, bulk or junk
    Subject              "Out of Office", "Automatic reply", "Abwesenheitsnotiz",
                         "Automatische Antwort", "Urlaub", "Vacation", ...

Why bounces are told apart first (see `bounces.classify`): mail servers mark their bounces
"Auto-Submitted: auto-replied" too, and a bounce must not be ignored as a holiday note.
"""

from __future__ import annotations

import re
from email.message import Message

from channels.bounces.message import address_of, header
from channels.bounces.report import BounceKind, BounceReport, Recipient, normalise_address

_CHALLENGE_HEADERS = ("X-Boxtrapper", "X-Spam-Arrest", "X-TMDA-Fingerprint", "X-Challenge")
_CHALLENGE_SUBJECT = re.compile(
    r"verify your (?:e-?mail|message|address)|requires verification|please confirm your"
    r"|confirmation required|bestätigen sie|bitte bestätigen|bestätigung erforderlich"
    r"|verifizierung erforderlich",
    re.IGNORECASE,
)
_AUTO_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Vacation")
_AUTO_PRECEDENCE = ("auto_reply", "bulk", "junk")
_AUTO_SUBJECT = re.compile(
    r"out of (?:the )?office|out-of-office|automatic reply|auto(?:matic)?[- ]?re(?:ply|sponse)"
    r"|\bvacation\b|\bholiday\b|away from (?:my|the) (?:desk|office)|abwesenheit|\babwesend\b"
    r"|automatische antwort|\burlaub\b|nicht im büro|außer haus|r[ée]ponse automatique"
    r"|absence|risposta automatica|respuesta autom[áa]tica|automatisch antwoord|afwezig",
    re.IGNORECASE,
)


def auto_reply_report(msg: Message) -> BounceReport | None:
    """The report of an auto-reply, or None when `msg` shows none of the evidence."""
    reason = auto_reply_evidence(msg)
    if reason is None:
        return None
    sender = normalise_address(address_of(header(msg, "From")))
    return BounceReport(
        kind=BounceKind.AUTO_REPLY,
        reason=reason,
        recipients=(Recipient(sender, BounceKind.AUTO_REPLY),),
    )


def auto_reply_evidence(msg: Message) -> str | None:
    """Why `msg` is an auto-reply, or None."""
    subject = header(msg, "Subject")
    present = next((name for name in _CHALLENGE_HEADERS if msg.get(name) is not None), None)
    if present or _CHALLENGE_SUBJECT.search(subject):
        return f"challenge-response request ({present or 'subject'}): never answered"
    submitted = header(msg, "Auto-Submitted").split(";")[0].strip().lower()
    if submitted and submitted != "no":
        return f"Auto-Submitted: {submitted} (RFC 3834)"
    present = next((name for name in _AUTO_HEADERS if msg.get(name) is not None), None)
    if present:
        return f"{present} header: an autoresponder"
    precedence = header(msg, "Precedence").lower()
    if precedence in _AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    if _AUTO_SUBJECT.search(subject):
        return f"subject {subject[:80]!r} reads as an out-of-office reply"
    return None
