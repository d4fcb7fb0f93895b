"""R10 analysis: does a message name its sender and carry the objection notice? If not, add it.

A template carries R10 when a render of it (with the salon's real name, a marker link and
the sample clients, once with empty names) shows, where a reader sees it (as R1 decides for
the link, :mod:`templates.visibility`):

* email (HTML and text part): the salon's name, its postal address, and the objection notice
  (:func:`templates.footer.notices`) within :data:`NEAR` characters of an unsubscribe link;
* SMS: the salon's name, and either "Abmelden kostenlos:" / "Unsubscribe free:" right before
  the link, or the STOP wording of :func:`templates.footer.sms_notice`.

Otherwise :func:`with_compliance_footer` adds the footer (HTML before ``</body>``, text and SMS
at the end) and checks that the result carries R10; a template whose end would hide the
footer (an unclosed comment or hidden element) is refused with R10 instead of sent.

Typical use, once per campaign and part, in the sender and the previews::

    source = with_compliance_footer(campaign.email_html, Part.EMAIL_HTML, sender)
    problems = sender_problems(sender, channels=("email",))   # at validate and queue
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from enum import StrEnum

from .analysis import trial_contexts
from .errors import TemplateError
from .footer import (
    Sender,
    SmsNotice,
    email_footer_html,
    email_footer_text,
    notices,
    sms_notice,
    text,
)
from .marker import MARKER, occurrences
from .problems import TemplateProblem
from .sandbox import render
from .visibility import read_html

#: How far (in visible characters) the objection notice may be from an unsubscribe link.
NEAR = 300
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)

TEXTS: dict[str, tuple[str, str]] = {
    "no_postal_address": (
        "the salon has no postal address; email marketing must name the salon and its address "
        "(R10): set it in the salon settings",
        "Für den Salon ist keine Postanschrift hinterlegt; Werbe-E-Mails müssen Salon und "
        "Anschrift nennen (R10): bitte in den Salon-Einstellungen eintragen",
    ),
    "footer_hidden": (
        "the compliance footer added at the end would be hidden (an unclosed comment or "
        "hidden element at the end of the template); close it",
        "Der angefügte Pflicht-Hinweis wäre unsichtbar (ein nicht geschlossener Kommentar oder "
        "ein verstecktes Element am Ende der Vorlage); bitte schließen",
    ),
}


class Part(StrEnum):
    """A message part that must carry R10 (the subject need not)."""

    SMS = "sms"
    EMAIL_HTML = "email_html"
    EMAIL_TEXT = "email_text"


def _words(value: str) -> str:
    """Case, commas and line breaks do not matter when we look for a name or address."""
    return " ".join(re.sub(r"[,;|·]", " ", value).casefold().split())


def _pattern(phrase: str) -> re.Pattern[str]:
    return re.compile(r"\s+".join(map(re.escape, phrase.split())), re.IGNORECASE)


def _spans(pattern: re.Pattern[str], value: str) -> list[tuple[int, int]]:
    return [match.span() for match in pattern.finditer(value)]


def _near(notice: list[tuple[int, int]], links: list[tuple[int, int]]) -> bool:
    return any(
        link_start <= end + NEAR and link_end >= start - NEAR
        for start, end in notice
        for link_start, link_end in links
    )


def _visible(rendered: str, part: Part) -> tuple[str, list[tuple[int, int]]]:
    """What a reader sees, and where in it an unsubscribe link is."""
    if part != Part.EMAIL_HTML:
        links = [(o.start, o.start + len(MARKER)) for o in occurrences(rendered) if o.delimited]
        return rendered, links
    document = read_html(rendered)
    links = [
        (link.start, link.end)
        for link in document.links
        if link.href == MARKER and not link.hidden and link.has_visible_text
    ]
    links += [(o.start, o.start + len(MARKER)) for o in occurrences(document.text) if o.delimited]
    return document.text, links


def missing(rendered: str, part: Part, sender: Sender) -> list[str]:
    """What of R10 a rendered part lacks: ``sender``, ``address`` and/or ``notice``."""
    seen, links = _visible(rendered, part)
    lacking = []
    if _words(sender.name) not in _words(seen):
        lacking.append("sender")
    if part == Part.SMS:
        if not _sms_notice_shown(seen, links, sender):
            lacking.append("notice")
        return lacking
    if _words(sender.postal_address or "") not in _words(seen) or not sender.postal_address:
        lacking.append("address")
    spans = [span for notice in notices() for span in _spans(_pattern(notice), seen)]
    if not _near(spans, links):
        lacking.append("notice")
    return lacking


def _sms_notice_shown(seen: str, links: list[tuple[int, int]], sender: Sender) -> bool:
    for key in ("sms_link_notice",):
        for phrase in (text(key, "de"), text(key, "en")):
            ends = [end for _, end in _spans(_pattern(phrase), seen)]
            if any(start - end <= 2 and start >= end for end in ends for start, _ in links):
                return True
    stops = (text("sms_stop_notice", "de"), text("sms_stop_notice", "en"))
    return any(_spans(_pattern(phrase), seen) for phrase in stops)


def _renders(source: str, part: Part, sender: Sender) -> Iterator[str]:
    for context in trial_contexts():
        yield render(source, {**context, "salon_name": sender.name}, html=part == Part.EMAIL_HTML)


def carries_r10(source: str, part: Part, sender: Sender) -> bool:
    """Whether every trial render of ``source`` names the sender and shows the notice."""
    try:
        return all(
            not missing(rendered, part, sender) for rendered in _renders(source, part, sender)
        )
    except TemplateError:
        return False  # R2 reports why it does not render; the footer cannot make it worse


@functools.lru_cache(maxsize=256)
def with_compliance_footer(
    source: str, part: Part, sender: Sender, *, sms_style: SmsNotice = SmsNotice.LINK
) -> str:
    """``source`` as sent: unchanged if it carries R10, else with the footer added.

    Raises :class:`TemplateError` (``no_postal_address``, ``footer_hidden``, ``bad_sender``)
    when no lawful message can be made; :func:`compliance_problems` says so at validation.
    """
    if carries_r10(source, part, sender):
        return source
    result = _add_footer(source, part, sender, sms_style)
    try:
        lacking = [
            item
            for rendered in _renders(result, part, sender)
            for item in missing(rendered, part, sender)
        ]
    except TemplateError:
        return result  # it did not render before either: R2 refuses it at validation
    if lacking:
        raise TemplateError(TEXTS["footer_hidden"][0], code="footer_hidden")
    return result


def _add_footer(source: str, part: Part, sender: Sender, sms_style: SmsNotice) -> str:
    if part == Part.SMS:
        return source.rstrip() + sms_notice(sender, sms_style)
    if part == Part.EMAIL_TEXT:
        return source.rstrip() + "\n\n" + email_footer_text(sender) + "\n"
    footer = email_footer_html(sender)
    ends = list(_BODY_END.finditer(source))
    if not ends:
        return source.rstrip() + "\n" + footer + "\n"
    cut = ends[-1].start()
    return source[:cut] + footer + "\n" + source[cut:]


def sender_problems(sender: Sender, channels: Iterable[str]) -> list[TemplateProblem]:
    """R10 problems of the salon itself: email marketing needs its postal address."""
    if "email" in channels and not (sender.postal_address or "").strip():
        message = TEXTS["no_postal_address"][0]
        return [TemplateProblem("R10", "salon", None, "no_postal_address", message)]
    return []


def compliance_problems(source: str, part: Part, sender: Sender) -> list[TemplateProblem]:
    """R10 problems of one part: none when :func:`with_compliance_footer` can make it lawful."""
    try:
        with_compliance_footer(source, part, sender)
    except TemplateError as exc:
        return [TemplateProblem("R10", str(part), None, exc.code, exc.message)]
    return []
