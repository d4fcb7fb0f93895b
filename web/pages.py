"""Public pages (unsubscribe) rendered from web/html, in German or English."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

PAGES = Path(__file__).resolve().parent / "html"
_env = Environment(loader=FileSystemLoader(PAGES), autoescape=select_autoescape(["html"]))

CHANNEL_NAMES = {"sms": ("SMS", "SMS"), "email": ("email", "E-Mail")}

TEXTS: dict[str, dict[str, dict[str, str]]] = {
    "unsubscribe": {
        "en": {
            "title": "Unsubscribe",
            "heading": "Unsubscribe from {salon}",
            "explain": "You will no longer receive marketing by {channel} from {salon}.",
            "button": "Unsubscribe from {channel}",
            "note": "Appointment reminders are not affected.",
        },
        "de": {
            "title": "Abmelden",
            "heading": "Von {salon} abmelden",
            "explain": "Sie erhalten dann keine Werbung per {channel} mehr von {salon}.",
            "button": "Von {channel} abmelden",
            "note": "Terminerinnerungen sind davon nicht betroffen.",
        },
    },
    "unsubscribed": {
        "en": {
            "title": "Unsubscribed",
            "heading": "You are unsubscribed",
            "explain": "{salon} will send you no more marketing by {channel}.",
            "all_explain": "You may also stop marketing from {salon} on every channel.",
            "all_button": "Unsubscribe from all channels (SMS and email)",
            "note": "Appointment reminders are not affected.",
        },
        "de": {
            "title": "Abgemeldet",
            "heading": "Sie sind abgemeldet",
            "explain": "{salon} schickt Ihnen keine Werbung per {channel} mehr.",
            "all_explain": "Sie können Werbung von {salon} auch auf allen Kanälen abbestellen.",
            "all_button": "Von allen Kanälen abmelden (SMS und E-Mail)",
            "note": "Terminerinnerungen sind davon nicht betroffen.",
        },
    },
    "invalid": {
        "en": {
            "title": "Link not valid",
            "heading": "This link is not valid",
            "explain": "Please use the complete link from the message you received.",
            "note": "If it still does not work, please contact the salon directly.",
        },
        "de": {
            "title": "Link ungültig",
            "heading": "Dieser Link ist ungültig",
            "explain": "Bitte verwenden Sie den vollständigen Link aus der erhaltenen Nachricht.",
            "note": "Funktioniert er weiterhin nicht, wenden Sie sich bitte direkt an den Salon.",
        },
    },
}


def pick_language(accept_language: str | None) -> str:
    """German or English, by the first of them the browser prefers (English by default)."""
    ranked = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, index, tag.strip().lower()[:2]))
    for _, _, tag in sorted(ranked):
        if tag in ("de", "en"):
            return tag
    return "en"


def channel_name(channels: list[str], lang: str) -> str:
    index = 1 if lang == "de" else 0
    joiner = " und " if lang == "de" else " and "
    return joiner.join(CHANNEL_NAMES[c][index] for c in channels)


def render_page(page: str, lang: str, **values: Any) -> str:
    texts = {key: value.format(**values) for key, value in TEXTS[page][lang].items()}
    return _env.get_template(f"{page}.html").render(t=texts, lang=lang, **values)
