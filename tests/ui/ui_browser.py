"""Chromium and axe-core for the UI tests (importable: tests/ui is on sys.path)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "ui"
AXE_DIR = ROOT / ".cache" / "axe"
AXE = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def install_axe() -> Path:
    """axe-core 4 from npm into .cache/axe (installed once, then reused)."""
    if not AXE.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is not installed: cannot install axe-core for the accessibility check")
        result = subprocess.run(
            [npm, "install", "--prefix", str(AXE_DIR), "axe-core@4"],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if result.returncode != 0 or not AXE.exists():
            pytest.fail(f"npm install axe-core failed: {result.stderr[-2000:]}")
    return AXE


class Checked:
    """A page wrapper: axe after every page, screenshots by name."""

    def __init__(self, page: Any, axe: Path) -> None:
        self.page = page
        self.axe = axe
        self.checked: list[str] = []

    def a11y(self, name: str) -> None:
        self.page.add_script_tag(path=str(self.axe))
        violations = self.page.evaluate(
            """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
                 .map(v => ({id: v.id, impact: v.impact, help: v.help,
                             nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))"""
        )
        serious = [v for v in violations if v["impact"] in ("serious", "critical")]
        assert serious == [], f"{name}: {serious}"
        self.checked.append(name)

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def both(self, name: str) -> None:
        self.a11y(name)
        self.shot(name)


def launch(playwright: Any) -> Any:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def check_rendered(html: str, name: str, axe: Path) -> None:
    """axe and a screenshot of a page rendered elsewhere (a TestClient answer), with its CSS."""
    from playwright.sync_api import Route, sync_playwright

    static = ROOT / "web" / "html" / "static"

    def serve(route: Route) -> None:
        path = route.request.url.split("salonpost.test", 1)[1]
        if path.startswith("/static/"):
            route.fulfill(path=str(static / path.removeprefix("/static/")))
        else:
            route.fulfill(body=html, content_type="text/html; charset=utf-8")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_context(bypass_csp=True).new_page()
        page.route("http://salonpost.test/**", serve)
        page.goto(f"http://salonpost.test/{name}")
        Checked(page, axe).both(name)
        browser.close()
