"""Export (G3): every row about the client, from every table, and nothing about anyone else."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from rights_support import PIN, run
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from db.access import Actor, log_access
from db.models import AccessLog, Client, Salon, Staff
from services.errors import NotFound
from services.export import FORMAT, client_tables
from services.rights import export


def test_the_export_holds_every_tables_rows_about_the_client(
    session: Session, salon: Salon, history: dict[str, Client], mia: Actor
) -> None:
    anna, ben = history["anna"], history["ben"]
    log_access(session, salon.id, mia, "client.show", client_id=ben.id)
    document = export(session, mia, salon, anna)
    session.commit()
    assert document["format"] == FORMAT and document["client"]["ref"] == "K1"
    tables = client_tables()
    assert {t.name for t in tables} >= {"visit", "consent_event", "delivery", "access_log"}
    for table in tables:
        stored = session.execute(select(table.c.id).where(table.c.client_id == anna.id)).all()
        exported = document[table.name]
        assert sorted(r["id"] for r in exported) == sorted(i for (i,) in stored), table.name
        assert all(r["client_id"] == anna.id for r in exported), table.name
    assert [d["body"] for d in document["delivery"]] == ["Hallo Vorname1"]
    assert [s["address"] for s in document["suppression"]] == [anna.phone_e164]
    assert [a["action"] for a in document["access_log"]] == ["client.export"]
    text = json.dumps(document)
    for foreign in ("Vorname2", "Nachname2", "kundin2@example.com", ben.phone_e164 or "-"):
        assert foreign not in text


def test_another_salons_client_is_not_exported(
    session: Session, salon: Salon, history: dict[str, Client], mia: Actor
) -> None:
    other = Salon(slug="bea", name="Salon Bea", gate_on=dt.date(2024, 1, 1))
    session.add(other)
    session.commit()
    with pytest.raises(NotFound):
        export(session, mia, other, history["anna"])


def test_the_cli_exports_json_and_refuses_another_salons_client(
    cli: CliRunner, session: Session, salon: Salon, history: dict[str, Client], staff: Staff
) -> None:
    done = run(cli, "client", "export", "K1", "--salon", "anna", "--staff", "Mia", "--pin", PIN)
    assert json.loads(done.stdout)["client"]["ref"] == "K1"
    other = Salon(slug="bea", name="Salon Bea", gate_on=dt.date(2024, 1, 1))
    session.add(other)
    session.commit()
    session.add(Staff(salon_id=other.id, name="Mia", pin_hash=staff.pin_hash))
    session.commit()
    before = len(session.scalars(select(AccessLog)).all())
    refused = run(
        cli, "client", "export", "K1", "--salon", "bea", "--staff", "Mia", "--pin", PIN, ok=False
    )
    assert refused.exit_code == 1 and refused.stdout == ""
    assert "Not found" in refused.stderr
    session.expire_all()
    assert len(session.scalars(select(AccessLog)).all()) == before
