"""Helpers for the client-rights tests (constants, clients, the CLI in-process)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from db.models import Client, Salon

PEPPER = "test-pepper"
SECRET = "test-secret-key"
PIN = "4711"
UTC = dt.UTC


def add_client(session: Session, salon: Salon, ref: str, n: int, **extra: object) -> Client:
    values: dict[str, Any] = {
        "first_name": f"Vorname{n}",
        "last_name": f"Nachname{n}",
        "phone": f"0176 1000000{n}",
        "phone_e164": f"+49176100000{n:02d}",
        "email": f"kundin{n}@example.com",
        "email_normalized": f"kundin{n}@example.com",
        "birth_date": dt.date(1980, 1, n),
        "notes": f"Allergie {n}",
        "created_at": dt.datetime(2022, 1, 1, tzinfo=UTC),
    }
    client = Client(salon_id=salon.id, ref=ref, **{**values, **extra})
    session.add(client)
    session.flush()
    return client


def run(runner: CliRunner, *args: str, ok: bool = True) -> Any:
    import cli

    result = runner.invoke(cli.app, list(args), catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, f"{args}: {result.output} {result.stderr}"
    return result
