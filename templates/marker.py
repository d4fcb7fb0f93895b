"""Is the unsubscribe link in a rendered message intact and delimited? (rule R1)

The static analysis proves that ``{{ unsubscribe_url }}`` is printed on every path; this module
looks at what a trial render really printed, with a marker URL in place of the link:

* **intact**: every trace of the marker is the whole marker. A filter, slice or encoding that
  changed it (``upper``, ``[:-1]``, ``urlencode``, ``replace``) leaves a trace that is not.
* **delimited**: before the marker comes the start of the text, whitespace or an opening
  bracket or quote; after it comes the end of the text or whitespace, optionally after a run
  of the punctuation a sentence puts after a link (``TRAILING``), which the link route
  (``web/unsubscribe.py``) strips again. ``{{ unsubscribe_url }}XYZ`` or ``x{{ unsubscribe_url }}``
  would be linked by a mail or SMS client with the extra text, and the link would not work.

In HTML, tag boundaries delimit too (a text node ends at ``<``), and an ``href`` attribute must
be exactly the link; :mod:`templates.visibility` decides what a reader can see.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

#: A marker that stands for the unsubscribe link in trial renders. Mixed case and the token
#: alphabet's ``-``, ``~`` and ``_`` make any change to it show.
MARKER = "https://unsubscribe.salonpost.invalid/u/2r-k1-s-9z~Qx_Tm7-Wv4"
#: The part that survives most changes (case, percent-encoding), to find altered copies.
_MARKER_CORE = "salonpost.invalid"
_CORE_OFFSET = MARKER.index(_MARKER_CORE)

#: Characters mail and SMS clients leave glued to a link at the end of a sentence or inside
#: brackets and quotes; no unsubscribe token contains any of them, so the link route strips
#: them and the token still verifies.
TRAILING = ".,)!?;:'\"’”“‘»«›‹>]"
#: What may stand right before the link: an opening bracket, quote or a colon ("Link:https://").
LEADING = "([<{\"'„“‚‘«»‹›:"

_FOLLOWER = re.compile(f"[{re.escape(TRAILING)}]*(?:\\s|$)")
# In HTML source a tag may follow, and an unquoted attribute value may precede (href=...).
_HTML_FOLLOWER = re.compile(f"[{re.escape(TRAILING)}]*(?:\\s|$|<)")


@dataclass(frozen=True)
class Occurrence:
    """Where the marker (or a trace of it) was found in one piece of text."""

    start: int
    intact: bool  # the whole marker, not a changed copy
    delimited: bool  # nothing glued before or after it


def occurrences(text: str) -> Iterator[Occurrence]:
    """Every trace of the marker in ``text``, intact or not, delimited or not."""
    lowered = text.lower()
    core = _MARKER_CORE.lower()
    position = lowered.find(core)
    while position != -1:
        start = position - _CORE_OFFSET
        intact = start >= 0 and text.startswith(MARKER, start)
        yield Occurrence(
            start=max(start, 0), intact=intact, delimited=intact and _delimited(text, start)
        )
        position = lowered.find(core, position + len(core))


def _delimited(text: str, start: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    if not (before.isspace() or before in LEADING):
        return False
    return _FOLLOWER.match(text, start + len(MARKER)) is not None


def delimits_before(text: str, *, html: bool) -> bool:
    """Whether ``text`` may stand right before the link (in a template's source)."""
    if not text:
        return True
    last = text[-1]
    return last.isspace() or last in LEADING or (html and last in ">=")


def delimits_after(text: str, *, html: bool) -> bool:
    """Whether ``text`` may follow the link (in a template's source).

    In HTML a quote or ``>`` may end an attribute value (``href="{{ unsubscribe_url }}"``);
    the trial render then checks that the ``href`` is exactly the link."""
    if html and text[:1] in ('"', "'", ">"):
        return True
    return (_HTML_FOLLOWER if html else _FOLLOWER).match(text) is not None


def strip_trailing(value: str) -> str:
    """``value`` without the punctuation clients glue to a link (see :data:`TRAILING`)."""
    return value.rstrip(TRAILING)
