"""The compliance footer (rule R10): who sends, and that the client may object at no cost.

UWG §7(3) Nr. 4 and GDPR Art. 21(4) want the objection notice in every marketing message,
next to the unsubscribe link; UWG §7(2) Nr. 3 (and §5 DDG for email) want the sender named.
So every footer names the salon (email: with its postal address) and puts the notice beside
the link. The footer is template source: salon data go in as Jinja string literals (never
read as template syntax, escaped in HTML by the sandbox's autoescape) and the link as the
``{{ unsubscribe_url }}`` placeholder, so the footer renders per client like the rest.

Typical use (the sender and the previews go through
:func:`templates.compliance.with_compliance_footer`, which adds it only when missing)::

    salon = Sender("Salon Anna", "Hauptstr. 1, 10115 Berlin", language="de")
    email_footer_html(salon)   # <div ...>Salon Anna · Hauptstr. 1 ... <a href=...>Abmelden</a>
    sms_notice(salon)          # "\\nSalon Anna: Abmelden kostenlos: {{ unsubscribe_url }}"
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum

from .catalogue import UNSUBSCRIBE_PLACEHOLDER
from .errors import TemplateError

LINK = f"{{{{ {UNSUBSCRIBE_PLACEHOLDER} }}}}"

#: ``key -> (English, German)``; the notice is the wording of UWG §7(3) Nr. 4.
TEXTS: dict[str, tuple[str, str]] = {
    "objection_notice": (
        "You can object to the use of your data for advertising at any time, without any "
        "costs other than the transmission costs at the basic rates.",
        "Sie können der Verwendung Ihrer Daten für Werbung jederzeit widersprechen, ohne dass "
        "Ihnen andere als die Übermittlungskosten nach den Basistarifen entstehen.",
    ),
    "unsubscribe": ("Unsubscribe", "Abmelden"),
    "sent_by": ("Sent by", "Absender:"),
    "contact": ("Contact:", "Kontakt:"),
    "imprint": ("Imprint", "Impressum"),
    "sms_link_notice": ("Unsubscribe free:", "Abmelden kostenlos:"),
    "sms_stop_notice": (
        "Reply STOP to opt out (basic rate only)",
        "Abmelden: STOP antworten (nur Basistarif)",
    ),
}

_EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+$")
_WEB_URL = re.compile(r"^https?://[^\s<>\"']+$", re.IGNORECASE)


class Language(StrEnum):
    """The language of a salon's messages."""

    DE = "de"
    EN = "en"


class SmsNotice(StrEnum):
    """How an SMS tells the client how to stop: the free link, or a STOP reply."""

    LINK = "link"
    STOP = "stop"


@dataclass(frozen=True)
class Sender:
    """The salon as R10 names it. ``postal_address`` is required for email marketing."""

    name: str
    postal_address: str | None = None
    contact_email: str | None = None
    imprint_url: str | None = None
    language: Language = Language.DE


def text(key: str, language: Language | str) -> str:
    """One footer text in ``language`` (German for ``de``, English otherwise)."""
    english, german = TEXTS[key]
    return german if language == Language.DE else english


def notices() -> tuple[str, ...]:
    """The objection notice in every language; a template that prints one carries it."""
    return TEXTS["objection_notice"]


def literal(value: str) -> str:
    """``value`` as a Jinja expression printing exactly it (never parsed as template code)."""
    return "{{ " + json.dumps(value, ensure_ascii=False) + " }}"


def _checked(sender: Sender) -> Sender:
    if not sender.name.strip():
        raise TemplateError("the salon has no name to sign its messages with", code="bad_sender")
    if sender.contact_email and not _EMAIL.match(sender.contact_email):
        raise TemplateError(
            f"the salon's contact email {sender.contact_email!r} is not an address",
            code="bad_sender",
        )
    if sender.imprint_url and not _WEB_URL.match(sender.imprint_url):
        raise TemplateError(
            f"the salon's imprint URL {sender.imprint_url!r} is not an http(s) address",
            code="bad_sender",
        )
    return sender


def _needs_address(sender: Sender) -> str:
    if not (sender.postal_address or "").strip():
        raise TemplateError(
            "an email must name the salon's postal address (R10); set the salon's address",
            code="no_postal_address",
        )
    return " ".join((sender.postal_address or "").split())


_FOOTER_STYLE = (
    "margin:24px 0 0 0;padding:12px 16px;border-top:1px solid #dddddd;"
    "background-color:#ffffff;color:#555555;font-family:Arial,Helvetica,sans-serif;"
    "font-size:12px;line-height:1.5"
)
_LINK_STYLE = "color:#555555;text-decoration:underline"


def email_footer_html(sender: Sender) -> str:
    """The email footer as HTML template source: salon, address, notice beside the link."""
    sender = _checked(sender)
    address = _needs_address(sender)
    lang = sender.language
    lines = [
        f'<div role="contentinfo" style="{_FOOTER_STYLE}">',
        f'<p style="margin:0 0 6px 0">{literal(sender.name)} · {literal(address)}</p>',
    ]
    extras = _extras_html(sender)
    if extras:
        lines.append(f'<p style="margin:0 0 6px 0">{extras}</p>')
    lines += [
        f'<p style="margin:0">{literal(text("objection_notice", lang))} '
        f'<a href="{LINK}" style="{_LINK_STYLE}">{literal(text("unsubscribe", lang))}</a></p>',
        "</div>",
    ]
    return "\n".join(lines)


def _extras_html(sender: Sender) -> str:
    parts = []
    if sender.contact_email:
        mail = literal(sender.contact_email)
        parts.append(
            f"{literal(text('contact', sender.language))} "
            f'<a href="mailto:{mail}" style="{_LINK_STYLE}">{mail}</a>'
        )
    if sender.imprint_url:
        parts.append(
            f'<a href="{literal(sender.imprint_url)}" style="{_LINK_STYLE}">'
            f"{literal(text('imprint', sender.language))}</a>"
        )
    return " · ".join(parts)


def email_footer_text(sender: Sender) -> str:
    """The email footer for the plain-text part (the link on a line of its own)."""
    sender = _checked(sender)
    address = _needs_address(sender)
    lang = sender.language
    lines = ["-- ", f"{literal(sender.name)}, {literal(address)}"]
    if sender.contact_email:
        lines.append(f"{literal(text('contact', lang))} {literal(sender.contact_email)}")
    if sender.imprint_url:
        lines.append(f"{literal(text('imprint', lang))}: {literal(sender.imprint_url)}")
    lines += [
        literal(text("objection_notice", lang)),
        f"{literal(text('unsubscribe', lang))}: {LINK}",
    ]
    return "\n".join(lines)


def sms_notice(sender: Sender, style: SmsNotice = SmsNotice.LINK) -> str:
    """The SMS notice, on a line of its own: the salon's name and how to stop for free.

    ``LINK`` repeats the unsubscribe link after "Abmelden kostenlos:"; ``STOP`` asks for a STOP
    reply, which is shorter (the template prints the link already, R1)."""
    sender = _checked(sender)
    lang = sender.language
    if style == SmsNotice.STOP:
        return f"\n{literal(sender.name)}: {literal(text('sms_stop_notice', lang))}"
    return f"\n{literal(sender.name)}: {literal(text('sms_link_notice', lang))} {LINK}"
