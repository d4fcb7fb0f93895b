"""Size limits of templates and SMS (rule R2): refuse early what no salon writes on purpose.

Template sources are capped *before* they are parsed, so a 625 KB paste is refused at once
instead of tying up a worker for seconds. The caps are far above any real message:

=================  ==============  ===========================================================
part               limit (chars)   why
=================  ==============  ===========================================================
``sms``            5,000           an SMS is sent as at most 1,600 characters
``email_subject``  1,000           mail clients show about 60
``email_html``     200,000         a rich newsletter is 20-60 KB; Gmail clips mails above 102 KB
``email_text``     100,000
``email_markdown`` 50,000          the composer's source (:mod:`templates.compose`)
=================  ==============  ===========================================================

A rendered SMS longer than 1,600 characters (counted in UTF-16 units, so an emoji counts 2,
which is never below what the provider counts) is refused: Twilio refuses it at send time
otherwise. Above a number of segments the salon chooses (default 3) staff get a warning, not a
refusal: the message costs that many SMS per client.
"""

from __future__ import annotations

from dataclasses import dataclass

from .problems import TemplateProblem
from .sms import SmsSize, sms_size

SOURCE_LIMITS: dict[str, int] = {
    "sms": 5_000,
    "email_subject": 1_000,
    "email_html": 200_000,
    "email_text": 100_000,
    "email_markdown": 50_000,
}
#: For a part not named above (a service message body, for example).
DEFAULT_SOURCE_LIMIT = 200_000
#: Twilio's limit for one message body.
SMS_MAX_CHARS = 1_600
#: Segments above which staff are warned about the cost, unless the salon sets another count.
DEFAULT_MAX_SEGMENTS = 3

TEXTS: dict[str, tuple[str, str]] = {
    "source_too_large": (
        "the template has {size:,} characters; at most {limit:,} are allowed here",
        "Die Vorlage hat {size:,} Zeichen; erlaubt sind hier höchstens {limit:,}",
    ),
    "sms_too_long": (
        "the SMS has {size:,} characters as sent; SMS providers accept at most {limit:,}",
        "Die SMS hat beim Versand {size:,} Zeichen; SMS-Anbieter nehmen höchstens {limit:,} an",
    ),
    "sms_many_segments": (
        "the SMS is sent as {segments} parts ({encoding}) and costs {segments} SMS per "
        "client; the salon's warning threshold is {limit}",
        "Die SMS wird in {segments} Teilen ({encoding}) versandt und kostet {segments} SMS "
        "pro Kunde; die Warnschwelle des Salons liegt bei {limit}",
    ),
}


def _text(key: str, language: str, **values: object) -> str:
    english, german = TEXTS[key]
    # German groups thousands with a dot.
    text = (german if language == "de" else english).format(**values)
    return text.replace(",", ".") if language == "de" and key != "sms_many_segments" else text


def source_limit(field: str) -> int:
    """The largest template source allowed for the message part ``field``."""
    return SOURCE_LIMITS.get(field, DEFAULT_SOURCE_LIMIT)


def source_size_problem(source: str, *, field: str) -> TemplateProblem | None:
    """An R2 ``too_large`` problem when ``source`` is above its part's cap, else None."""
    limit = source_limit(field)
    if len(source) <= limit:
        return None
    message = _text("source_too_large", "en", size=len(source), limit=limit)
    return TemplateProblem(rule="R2", field=field, line=None, code="too_large", message=message)


@dataclass(frozen=True)
class SizeWarning:
    """Not a refusal: something staff should know before they queue (cost, mostly)."""

    field: str
    code: str
    message: str


@dataclass(frozen=True)
class SmsCheck:
    """Size, refusals (R2) and warnings of one rendered SMS."""

    size: SmsSize
    characters: int
    problems: list[TemplateProblem]
    warnings: list[SizeWarning]


def check_sms(
    rendered: str, *, max_segments: int = DEFAULT_MAX_SEGMENTS, language: str = "en"
) -> SmsCheck:
    """Check a rendered SMS (footer and a real-length link included) against the limits.

    ``max_segments`` is the salon's warning threshold; ``language`` that of the messages.
    """
    size = sms_size(rendered)
    characters = len(rendered.encode("utf-16-le")) // 2
    problems = []
    if characters > SMS_MAX_CHARS:
        message = _text("sms_too_long", language, size=characters, limit=SMS_MAX_CHARS)
        problems.append(TemplateProblem("R2", "sms", None, "sms_too_long", message))
    warnings = []
    if size.segments > max_segments:
        message = _text(
            "sms_many_segments", language,
            segments=size.segments, encoding=size.encoding, limit=max_segments,
        )  # fmt: skip
        warnings.append(SizeWarning("sms", "sms_many_segments", message))
    return SmsCheck(size=size, characters=characters, problems=problems, warnings=warnings)
