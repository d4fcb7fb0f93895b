"""R1 on a trial render: the unsubscribe link is output intact, delimited and (HTML) visible.

Input is a render in which ``unsubscribe_url`` was :data:`templates.marker.MARKER`. Output is a
list of ``(code, message)`` findings; :mod:`templates.analysis` turns them into R1 problems.

Codes: ``unsubscribe_altered`` (a filter, slice or encoding changed the link),
``unsubscribe_glued`` (text glued to it, or an ``href`` that is more than the link),
``unsubscribe_misdirected`` (the link's text shows the unsubscribe URL but it goes elsewhere),
``unsubscribe_hidden`` (present, but nowhere a reader can see and click it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .marker import MARKER, occurrences
from .visibility import VisibleDocument, read_html

Finding = tuple[str, str]

MESSAGES: dict[str, tuple[str, str]] = {
    "unsubscribe_altered": (
        "the unsubscribe link is changed before it is output (a filter, slice, encoding or "
        "added text); output {{ unsubscribe_url }} as it is",
        "Der Abmeldelink wird vor der Ausgabe verändert (Filter, Ausschnitt, Kodierung oder "
        "angehängter Text); {{ unsubscribe_url }} bitte unverändert ausgeben",
    ),
    "unsubscribe_glued": (
        "text is glued to the unsubscribe link, so the link a client clicks would not work; "
        "put a space or a line break before and after it",
        "Am Abmeldelink hängt Text, dadurch funktioniert der Link nicht; bitte ein Leerzeichen "
        "oder einen Zeilenumbruch davor und danach setzen",
    ),
    "unsubscribe_misdirected": (
        "a link shows the unsubscribe URL as its text but leads somewhere else",
        "Ein Link zeigt die Abmelde-Adresse als Text, führt aber woanders hin",
    ),
    "unsubscribe_hidden": (
        "the unsubscribe link is not visible: it is only in a comment, a hidden element, an "
        "attribute other than href, or a link without visible text",
        "Der Abmeldelink ist nicht sichtbar: nur in einem Kommentar, einem versteckten Element, "
        "einem anderen Attribut als href oder einem Link ohne sichtbaren Text",
    ),
}


def _finding(code: str) -> Finding:
    return code, MESSAGES[code][0]


def _text_findings(texts: Iterable[str]) -> Iterator[Finding]:
    for text in texts:
        for found in occurrences(text):
            if not found.intact:
                yield _finding("unsubscribe_altered")
            elif not found.delimited:
                yield _finding("unsubscribe_glued")


def check_text(rendered: str) -> list[Finding]:
    """Findings for a plain-text part (SMS, email text, subject)."""
    return _unique(_text_findings([rendered]))


def check_html(rendered: str) -> list[Finding]:
    """Findings for an HTML part: every trace intact and delimited, one link really visible."""
    document = read_html(rendered)
    findings = list(_text_findings(node.text for node in document.nodes))
    findings += _attribute_findings(document)
    findings += _link_findings(document)
    if not findings and not _really_output(document):
        findings.append(_finding("unsubscribe_hidden"))
    return _unique(findings)


def _attribute_findings(document: VisibleDocument) -> Iterator[Finding]:
    for tag, name, value in document.attributes:
        is_href = tag == "a" and name == "href"
        for found in occurrences(value):
            if not found.intact:
                yield _finding("unsubscribe_altered")
            elif is_href and value.strip() != MARKER:
                yield _finding("unsubscribe_glued")


def _link_findings(document: VisibleDocument) -> Iterator[Finding]:
    for link in document.links:
        if link.href != MARKER and any(o.intact for o in occurrences(link.text)):
            yield _finding("unsubscribe_misdirected")


def _really_output(document: VisibleDocument) -> bool:
    """A visible link to the marker with visible text, or the marker as visible text."""
    if any(a.href == MARKER and not a.hidden and a.has_visible_text for a in document.links):
        return True
    visible = (node.text for node in document.nodes if not node.hidden)
    return any(o.intact and o.delimited for text in visible for o in occurrences(text))


def _unique(findings: Iterable[Finding]) -> list[Finding]:
    return list(dict.fromkeys(findings))
