"""A staff member works through a campaign in headless Chromium, with axe-core on every page.

Sign in, write an SMS without the unsubscribe link (the live check and the queue refuse it with
R1), insert the link with the placeholder picker, preview the audience and drill into an
exclusion, queue it and watch it finish (the embedded default: the web process is the worker,
on SQLite); then the client card, the forget confirmation, the salon settings and the ops page.

Needs Debian's chromium at /usr/bin/chromium and npm (axe-core is installed by the test into
.cache/axe); it never downloads a browser and FAILS without them. Screenshots go to
test-artifacts/ui/.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from ui_browser import ARTIFACTS, Checked, launch
from ui_support import NO_LINK_SMS, OPS_TOKEN, PEPPER, PIN, SECRET, add_client, make_salon

from db.models import Client
from db.session import session_factory
from settings import Settings
from web.app import create_app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(sqlite_url: str, tmp_path: Path) -> Iterator[Settings]:
    """The app in a real uvicorn server on a free port; SQLite, embedded worker, outbox."""
    port = _free_port()
    settings = Settings(
        database_url=sqlite_url, secret_key=SECRET, pin_pepper=PEPPER, quiet_hours=False,
        base_url=f"http://127.0.0.1:{port}", outbox_dir=str(tmp_path / "outbox"),
    )  # fmt: skip
    app = create_app(settings, ops_token=OPS_TOKEN)
    running = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield settings
    running.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def clients(server: Settings) -> list[Client]:
    with session_factory(server.database_url)() as s:
        salon = make_salon(s, "anna", "Salon Anna", "Mara")
        return [
            add_client(s, salon, "K1", phone="+4917611111111"),
            add_client(s, salon, "K2", phone="+4917622222222"),
            add_client(s, salon, "K3", phone="+4917633333333", consent=False),
        ]


def test_staff_compose_check_fix_preview_queue_and_watch(
    server: Settings, clients: list[Client], axe_script: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base = server.base_url
    with sync_playwright() as playwright:
        browser = launch(playwright)
        # bypass_csp: axe is injected as an inline script, which the pages' CSP forbids.
        context = browser.new_context(locale="en-GB", bypass_csp=True)
        ui = Checked(context.new_page(), axe_script)
        page = ui.page
        page.set_default_timeout(15_000)

        page.goto(f"{base}/staff/login")
        ui.both("01-login")
        page.get_by_label("Salon (short name)").fill("anna")
        page.get_by_label("Your name").fill("Mara")
        page.get_by_label("PIN", exact=True).fill(PIN)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Campaigns")
        ui.a11y("campaigns-empty")

        page.get_by_role("link", name="New campaign").click()
        page.get_by_label("Campaign name (for you, not sent)").fill("Autumn offer")
        page.get_by_label("SMS text").fill(NO_LINK_SMS)
        # The live check answers while typing: R1, the SMS has no unsubscribe link.
        expect(page.locator('#check li[data-rule="R1"][data-field="sms"]')).to_be_visible()
        ui.both("02-editor-r1-live")
        page.get_by_role("button", name="Save draft").click()
        expect(page.get_by_role("status")).to_have_text("Draft saved.")
        expect(page.locator('#check li[data-rule="R1"]')).to_be_visible()

        page.get_by_role("link", name="Back to the campaign").click()
        page.get_by_role("button", name="Queue for sending").click()
        expect(page.get_by_role("alert")).to_contain_text("rules R1 are not met")
        ui.both("03-queue-refused-r1")

        page.get_by_role("link", name="Edit", exact=True).click()
        sms = page.get_by_label("SMS text")
        sms.click()
        page.keyboard.press("Control+End")
        page.keyboard.type(" Abmelden: ")
        page.get_by_role("button", name="Insert {{ unsubscribe_url }}").click()
        assert sms.input_value().endswith("Abmelden: {{ unsubscribe_url }}")
        expect(page.locator("#check")).to_contain_text("Ready to send")
        expect(page.locator("#check")).to_contain_text("GSM-7")
        ui.both("04-editor-fixed")
        page.get_by_role("button", name="Save draft").click()
        expect(page.locator("#check")).to_contain_text("Ready to send")

        page.get_by_role("link", name="Back to the campaign").click()
        page.get_by_role("link", name="Audience preview").click()
        expect(page.locator('[data-recipients="sms"]')).to_have_text("2")
        page.get_by_role("link", name="1 left out by R4 on SMS: show them").click()
        expect(page.get_by_role("heading", name="Left out by R4 (SMS)")).to_be_visible()
        expect(page.get_by_role("link", name="K3")).to_be_visible()
        ui.both("05-audience-drill-down")

        page.get_by_role("link", name="Back to the campaign").click()
        page.get_by_role("button", name="Queue for sending").click()
        expect(page.get_by_role("status").first).to_have_text("Campaign queued for sending.")
        # Progress refreshes itself (fetch) until the in-process worker is done.
        expect(page.locator("#report")).to_contain_text("done", timeout=60_000)
        expect(page.locator('#report [data-state="sent"]')).to_have_text("2")
        expect(page.locator('#report [data-excluded="R4"]')).to_have_text("1")
        ui.both("06-campaign-done")

        page.get_by_role("link", name="Campaigns").click()
        expect(page.get_by_role("link", name="Autumn offer")).to_be_visible()
        ui.both("07-campaign-list")

        _client_pages(ui, base, clients)
        _german_and_ops(ui, base, context)
        browser.close()

    outbox = [p for p in Path(server.outbox_dir).rglob("*") if p.is_file()]
    assert len(outbox) == 2  # K1 and K2; K3 withdrew (R4)


def _client_pages(ui: Checked, base: str, clients: list[Client]) -> None:
    from playwright.sync_api import expect

    page = ui.page
    page.get_by_role("link", name="Clients").click()
    page.get_by_label("Search").fill("K1")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="K1").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Client K1")
    ui.both("08-client-card")
    page.get_by_role("link", name="Forget this client…").click()
    ui.both("09-forget-confirm")
    page.get_by_role("link", name="Clients").click()
    page.get_by_role("link", name="New client").click()
    page.get_by_label("Client no.").fill("K9")
    page.get_by_label("First name").fill("Greta")
    page.get_by_label("Phone").first.fill("0176 99999999")
    page.get_by_role("group", name="Marketing by SMS: what did the client answer?").get_by_label(
        "Agreed when asked in the salon"
    ).check()
    page.get_by_role("group", name="Marketing by email: what did the client answer?").get_by_label(
        "Not asked yet (no marketing)"
    ).check()
    ui.both("09b-new-client")
    page.get_by_role("button", name="Create client").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Client K9")
    expect(page.locator('[data-consent="sms"]')).to_have_attribute("data-state", "granted")
    page.goto(f"{base}/staff/salon")
    ui.both("10-salon-settings")


def _german_and_ops(ui: Checked, base: str, context: Any) -> None:
    from playwright.sync_api import expect

    page = ui.page
    page.goto(f"{base}/staff/campaigns/new?lang=de")
    expect(page.get_by_role("heading", level=1)).to_have_text("Neue Kampagne")
    ui.both("11-editor-de")
    page.goto(f"{base}/ops/login?lang=en")
    page.get_by_label("Operator token").fill(OPS_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Operations")
    expect(page.get_by_text("Embedded mode")).to_be_visible()
    ui.both("12-ops-embedded")
    assert len(ui.checked) >= 12
