"""``salonpost demo`` says how to sign in (#14.15): its own staff member, on the port served."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from db.models import Staff
from db.session import session_factory
from settings import get_settings
from web.app import create_app


def _demo(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path, base_url: str) -> str:
    import cli
    from dispatcher.runtime import configure

    for name in ("SALONPOST_SECRET_KEY", "SALONPOST_PIN_PEPPER", "SALONPOST_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SALONPOST_DATABASE_URL", database_url)
    monkeypatch.setenv("SALONPOST_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("SALONPOST_BASE_URL", base_url)
    get_settings.cache_clear()
    configure(None)
    try:
        result = CliRunner().invoke(cli.app, ["demo", "--clients", "40"], catch_exceptions=False)
    finally:
        configure(None)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_demo_prints_a_sign_in_that_works(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path
) -> None:
    try:
        output = _demo(monkeypatch, database_url, tmp_path, "http://127.0.0.1:8765")
        found = re.search(
            r"start 'salonpost serve --port 8765', open (\S+) and sign in with "
            r"salon (\S+), name (\S+), PIN (\d{6})\.",
            output,
        )
        assert found, output
        login, slug, name, pin = found.groups()
        assert login == "http://127.0.0.1:8765/staff/login"
        assert "salonpost serve --port 8765'): http://127.0.0.1:8765/u/" in output
        with session_factory(database_url)() as s:
            staff = s.scalars(select(Staff).where(Staff.name == name)).one()
            assert staff.role == "owner" and pin not in (staff.pin_hash or "")
        web = TestClient(create_app(get_settings()), base_url="http://127.0.0.1:8765")
        page = web.get(login)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, page.text
        signed_in = web.post(
            "/staff/login",
            data={"salon": slug, "name": name, "pin": pin, "csrf_token": token.group(1)},
            follow_redirects=False,
        )
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == "/staff/campaigns"
    finally:
        get_settings.cache_clear()


def test_a_second_demo_gets_its_own_salon_and_pin(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path
) -> None:
    try:
        pattern = r"salon (\S+), name \S+, PIN (\d{6})"
        first = re.search(
            pattern, _demo(monkeypatch, database_url, tmp_path, "http://127.0.0.1:8000")
        )
        second = re.search(
            pattern, _demo(monkeypatch, database_url, tmp_path, "http://127.0.0.1:8000")
        )
        assert first and second
        assert first.group(1) != second.group(1)
    finally:
        get_settings.cache_clear()
