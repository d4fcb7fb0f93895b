"""A client opens the unsubscribe link of a real email in headless Chromium and clicks the button.

Needs Debian's chromium at /usr/bin/chromium (``apt-get install -y chromium``) and the playwright
Python package; it never downloads a browser. Without the binary the test FAILS: CI must not go
green without having run it. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import datetime as dt
import email
import re
import socket
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
import uvicorn
from web_support import SECRET, add_client

from channels.base import Message
from channels.outbox import OutboxChannel
from db.consent import consent_history
from db.models import Client, Salon
from db.session import session_factory
from settings import Settings
from templates.links import UnsubscribeToken, unsubscribe_url
from web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(sqlite_url: str) -> Iterator[Settings]:
    """A real uvicorn server of the app on a free port, on a SQLite database."""
    port = _free_port()
    settings = Settings(
        database_url=sqlite_url, secret_key=SECRET, base_url=f"http://127.0.0.1:{port}"
    )
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield settings
    running.should_exit = True
    thread.join(timeout=10)


def _email_in_outbox(settings: Settings, tmp_path: Path, salon: Salon, client: Client) -> Path:
    """Write the email as the dispatcher does: HTML link and List-Unsubscribe headers."""
    token = UnsubscribeToken(salon.id, client.id, "email", None)
    link = unsubscribe_url(token, base_url=settings.base_url, secret_key=settings.secret_key)
    message = Message(
        "email",
        client.email_normalized or "",
        f"Hallo {client.first_name}\nAbmelden: {link}\n",
        "c1-d1",
        subject="Herbstaktion",
        html=f'<p>Hallo {client.first_name}</p><p><a href="{link}">Abmelden</a></p>',
        unsubscribe_url=link,
    )
    outbox = OutboxChannel(tmp_path / "outbox")
    return outbox.path_for(outbox.send(message))


def _link_from(eml: Path) -> str:
    parsed = email.message_from_bytes(eml.read_bytes(), policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    html = parsed.get_body(preferencelist=("html",))
    assert html is not None
    match = re.search(r'href="([^"]+)"', html.get_content())
    assert match, "no link in the HTML part"
    assert parsed["List-Unsubscribe"] == f"<{match.group(1)}>"
    return match.group(1)


def _launch(playwright):  # type: ignore[no-untyped-def]
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); "
            "this test never downloads a browser"
        )
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def test_client_unsubscribes_from_the_link_in_an_email(server: Settings, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with session_factory(server.database_url)() as session:
        salon = Salon(slug="anna", name="Salon Anna", gate_on=dt.date(2024, 1, 1))
        session.add(salon)
        session.commit()
        client = add_client(session, salon, "K1")
    link = _link_from(_email_in_outbox(server, tmp_path, salon, client))
    ARTIFACTS.mkdir(exist_ok=True)

    with sync_playwright() as playwright:
        browser = _launch(playwright)
        page = browser.new_page(locale="de-DE", extra_http_headers={"Accept-Language": "de-DE"})
        page.goto(link)
        assert page.get_by_role("heading", level=1).inner_text() == "Von Salon Anna abmelden"
        page.screenshot(path=str(ARTIFACTS / "unsubscribe-confirm.png"), full_page=True)
        _assert_unchanged(server, client)  # opening the page changes nothing

        page.keyboard.press("Tab")  # the button is reachable by keyboard
        assert page.evaluate("document.activeElement.tagName") == "BUTTON"
        page.get_by_role("button", name="Von E-Mail abmelden").click()
        page.wait_for_load_state()
        assert page.get_by_role("status").inner_text().startswith("Salon Anna schickt Ihnen")
        page.screenshot(path=str(ARTIFACTS / "unsubscribe-done.png"), full_page=True)
        assert browser.contexts[0].cookies() == []
        browser.close()

    history = _history(server, client)
    assert [(e["channel"], e["action"], e["source"]) for e in history][-1] == (
        "email",
        "withdrawn",
        "link",
    )


def _history(settings: Settings, client: Client) -> list[dict]:
    with session_factory(settings.database_url)() as session:
        return consent_history(session, client.id)


def _assert_unchanged(settings: Settings, client: Client) -> None:
    assert all(e["action"] == "granted" for e in _history(settings, client))
