"""One text catalogue per language: the same keys and placeholders in both, every key in use
found, no text of its own in the CLI or the HTML pages, and a German CLI when asked for."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from settings import get_settings
from templates.texts import CATALOGUES, placeholders, text

ROOT = Path(__file__).resolve().parents[1]
# Names shown as they are in every language: the product, a format, the languages themselves
# (each in its own words), the unit of a rate.
PROPER_NAMES = {"Salonpost", "JSON", "English", "Deutsch", "/s"}
KEY = re.compile(r"""["']((?:error|cli|staff|ops|page|rule|reason|problem|field)\.[\w.\-]+)["']""")


def test_every_key_exists_in_both_languages() -> None:
    english, german = set(CATALOGUES["en"]), set(CATALOGUES["de"])
    assert sorted(english - german) == [] and sorted(german - english) == []


def test_each_key_has_the_same_placeholders_in_both_languages() -> None:
    differ = {
        key: (placeholders(CATALOGUES["en"][key]), placeholders(CATALOGUES["de"][key]))
        for key in CATALOGUES["en"]
        if placeholders(CATALOGUES["en"][key]) != placeholders(CATALOGUES["de"].get(key, ""))
    }
    assert differ == {}


def test_every_key_the_code_names_is_in_the_catalogue() -> None:
    access_log_actions = {"staff.add", "staff.unlock", "staff.pin_reset", "staff.sign_in"}
    used: dict[str, str] = {}
    for folder in ("cli", "services", "web", "dispatcher"):
        for path in (ROOT / folder).rglob("*.py"):
            if "texts" not in path.parts:
                used |= {k: str(path) for k in KEY.findall(path.read_text(encoding="utf-8"))}
    for path in (ROOT / "web" / "html").rglob("*.html"):
        found = re.findall(r"""\bt\(\s*["']([a-z]+\.[\w.\-]+)["']\s*[,)]""", path.read_text())
        used |= dict.fromkeys(found, str(path))
    missing = {
        key: where
        for key, where in used.items()
        if key not in CATALOGUES["en"] and key not in access_log_actions and not key.endswith(".")
    }
    assert missing == {}


def _literal_words(node: ast.expr) -> list[str]:
    """Text with letters written into an expression (a literal, or an f-string's fixed parts)."""
    parts = node.values if isinstance(node, ast.JoinedStr) else [node]
    return [
        p.value
        for p in parts
        if isinstance(p, ast.Constant)
        and isinstance(p.value, str)
        and re.search(r"[A-Za-zÄÖÜäöüß]{2,}", p.value)
    ]


def _cli_literals(path: Path) -> Iterator[str]:
    """Literal text the CLI prints (echo) or asks with (a prompt) without the catalogue."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", getattr(node.func, "id", ""))
        if name in ("echo", "secho", "print", "prompt", "confirm") and node.args:
            for words in _literal_words(node.args[0]):
                yield f"{path.name}:{node.lineno}: {words!r}"
        for keyword in node.keywords:
            if keyword.arg == "prompt" and not isinstance(keyword.value, ast.Name | ast.Call):
                for words in _literal_words(keyword.value):
                    yield f"{path.name}:{node.lineno}: prompt {words!r}"


def test_the_cli_prints_no_text_of_its_own() -> None:
    found = [hit for path in sorted((ROOT / "cli").glob("*.py")) for hit in _cli_literals(path)]
    assert found == []


def test_the_cli_scan_finds_a_literal(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('typer.echo(f"campaign {n} paused")\ntyper.echo(f"  {a}: {b}")\n')
    assert {hit.split(":")[1] for hit in _cli_literals(sample)} == {"1"}


def _page_words(html: str) -> list[str]:
    for pattern in (r"\{#.*?#\}", r"<(script|style)\b.*?</\1>", r"\{\{.*?\}\}", r"\{%.*?%\}"):
        html = re.sub(pattern, " ", html, flags=re.S)
    html = re.sub(r"<!--.*?-->", " ", html, flags=re.S)
    attributes = re.findall(r'\b(?:alt|title|aria-label|placeholder)="([^"]*)"', html)
    words = re.split(r"\s{2,}|\n|<[^>]*>", html) + attributes
    words = [w.strip(" \t–-·|:,.()") for w in words]
    return [w for w in words if re.search(r"[A-Za-zÄÖÜäöü]", w) and w not in PROPER_NAMES]


def test_the_html_pages_show_no_text_of_their_own() -> None:
    found = {
        str(path.relative_to(ROOT)): words
        for path in (ROOT / "web" / "html").rglob("*.html")
        if (words := _page_words(path.read_text(encoding="utf-8")))
    }
    assert found == {}


def test_the_page_scan_finds_literal_text() -> None:
    assert _page_words("<p>Abmelden</p>") == ["Abmelden"]
    assert _page_words('<p>{{ t("x") }}</p>') == []


# -- the command line in German --------------------------------------------------------------


@pytest.fixture
def german(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliRunner]:
    monkeypatch.setenv("SALONPOST_DATABASE_URL", database_url)
    monkeypatch.setenv("SALONPOST_LANGUAGE", "de")
    monkeypatch.setenv("SALONPOST_OUTBOX_DIR", str(tmp_path / "outbox"))
    for name in ("SALONPOST_REDIS_URL", "SALONPOST_STAFF", "SALONPOST_STAFF_PIN"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _run(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    import cli

    result = runner.invoke(cli.app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_the_cli_speaks_german_when_asked(german: CliRunner, tmp_path: Path) -> None:
    code, out, _ = _run(german, "salon", "create", "anna", "--name", "Salon Anna")
    assert code == 0 and out.startswith("Salon anna angelegt")
    code, _, err = _run(german, "salon", "create", "anna", "--name", "Salon Anna")
    assert code == 1 and err.strip() == text("error.salon_exists", "de", slug="anna")
    code, _, err = _run(german, "client", "show", "K9", "--salon", "anna")
    assert code == 1 and err.startswith("Nicht gefunden: client 'K9'")
    sms = tmp_path / "sms.txt"
    sms.write_text("Hallo {{ first_name }}", encoding="utf-8")
    code, out, _ = _run(
        german, "campaign", "create", "--salon", "anna", "--name", "H", "--sms", str(sms)
    )
    code, _, err = _run(german, "campaign", "queue", out.strip())
    assert code == 1 and "kann nicht versendet werden" in err and "neu erstellt" in err
    code, out, _ = _run(german, "campaign", "status", "1")
    assert code == 0 and out.startswith("Kampagne 1 (H): draft") and "Fortschritt" in out
    code, _, err = _run(german, "campaign", "pause", "1")
    assert code == 1 and "ist nicht möglich" in err
