"""Rendering the staff and operator pages: Jinja2 templates in web/html, in de or en."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from db.states import MAX_WINDOW_MONTHS
from web.i18n import LANG_COOKIE, Translator, choose_language
from web.pages import PAGES

_env = Environment(
    loader=FileSystemLoader(PAGES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
# The pages' form limits are the rules' own (R3's window).
_env.globals["MAX_WINDOW_MONTHS"] = MAX_WINDOW_MONTHS

# Scripts and styles come from /static only; the email preview is a sandboxed srcdoc frame.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; frame-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
}


def translator(request: Request, timezone: str = "Europe/Berlin") -> Translator:
    lang = choose_language(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )
    return Translator(lang=lang, timezone=timezone)


def render_fragment(template: str, t: Translator, **values: Any) -> str:
    return _env.get_template(template).render(t=t, lang=t.lang, **values)


def render(
    request: Request, template: str, t: Translator, *, status_code: int = 200, **values: Any
) -> HTMLResponse:
    """A full page; remembers an explicit ``?lang=`` choice in a cookie."""
    body = render_fragment(template, t, path=request.url.path, **values)
    response = HTMLResponse(body, status_code=status_code, headers=SECURITY_HEADERS)
    if request.query_params.get("lang") == t.lang:
        response.set_cookie(
            LANG_COOKIE, t.lang, max_age=365 * 86400, httponly=True, samesite="strict"
        )
    return response
