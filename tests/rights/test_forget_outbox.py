"""Forgetting (G1) reaches the outbox folder too (#14.16): by the command, the staff pages' use
case and the retention run, every file of the client's messages loses address, subject and body;
the files stay (counted, and known as written), other clients' files are untouched."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rights_support import PEPPER, PIN, SECRET
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from channels.base import Message
from channels.outbox import OutboxChannel
from db.access import Actor
from db.models import Client, Delivery, Salon, Staff, Visit, utcnow
from dispatcher.forgetting import outbox_forgetter
from dispatcher.retention import run_retention
from services.errors import Unavailable
from services.rights import forget
from tests.support import add_client, send_to_outbox

# What names the person in a message: number, address, name (in body and subject).
GRETA = ("+4917655555555", "greta.kundin@example.com", "Gretamarie")
BEN = ("+4917666666666", "ben.kunde@example.com", "Benedikt")


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "SALONPOST_DATABASE_URL": database_url,
        "SALONPOST_OUTBOX_DIR": str(tmp_path / "outbox"),
        "SALONPOST_SECRET_KEY": SECRET,
        "SALONPOST_PIN_PEPPER": PEPPER,
    }


@pytest.fixture
def sent(session: Session, salon: Salon, staff: Staff, env: dict[str, str]) -> dict[str, Client]:
    """Greta and Ben each got the campaign by SMS and email: four files in the outbox."""
    clients = {
        "greta": add_client(session, salon, "K1", phone=GRETA[0], first_name=GRETA[2],
                            email=GRETA[1], email_normalized=GRETA[1]),
        "ben": add_client(session, salon, "K2", phone=BEN[0], first_name=BEN[2],
                          email=BEN[1], email_normalized=BEN[1]),
    }  # fmt: skip
    send_to_outbox(session, salon, env)
    assert len(_files(env)) == 4
    return clients


def _files(env: dict[str, str]) -> dict[str, bytes]:
    outbox = Path(env["SALONPOST_OUTBOX_DIR"])
    return {p.name: p.read_bytes() for p in sorted(outbox.iterdir()) if p.is_file()}


def _mentions(content: bytes, person: tuple[str, str, str]) -> bool:
    return any(value.encode() in content for value in person)


def _of(session: Session, client: Client) -> set[str]:
    rows = session.scalars(select(Delivery.provider_id).where(Delivery.client_id == client.id))
    return {str(name) for name in rows}


def _assert_forgotten(env: dict[str, str], before: dict[str, bytes], greta: set[str]) -> None:
    after = _files(env)
    assert set(after) == set(before)  # rewritten in place, none deleted
    for name, content in after.items():
        if name in greta:
            assert not _mentions(content, GRETA), (name, content)
            assert b"/u/" not in content  # no unsubscribe link with her ids either
        else:
            assert content == before[name]  # Ben's messages are his as sent
    outbox = OutboxChannel(env["SALONPOST_OUTBOX_DIR"])
    for name in greta:  # still known as written: no reconciler sends them again
        assert (outbox.directory / name).is_file()


def test_the_forget_command_rewrites_the_clients_outbox_files(
    session: Session, sent: dict[str, Client], env: dict[str, str]
) -> None:
    greta = _of(session, sent["greta"])
    before = _files(env)
    assert all(_mentions(before[name], GRETA) for name in greta)
    command = [str(Path(sys.executable).parent / "salonpost"), "client", "forget", "K1",
               "--salon", "anna", "--staff", "Mia", "--pin", PIN]  # fmt: skip
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SALONPOST_")}
    subprocess.run(command, env={**clean, **env}, check=True, capture_output=True, timeout=60)
    _assert_forgotten(env, before, greta)
    # The SMS file is still JSON a reader can open, and says why it is empty.
    sms = json.loads(_files(env)[next(n for n in greta if n.endswith(".json"))])
    assert sms["forgotten"] == "G1" and {"to", "body"}.isdisjoint(sms)


def test_the_staff_use_case_rewrites_them_and_says_so_in_the_email(
    session: Session, salon: Salon, sent: dict[str, Client], env: dict[str, str], mia: Actor
) -> None:
    greta = _of(session, sent["greta"])
    before = _files(env)
    files = outbox_forgetter(env["SALONPOST_OUTBOX_DIR"])
    forget(session, mia, salon, sent["greta"], secret_key=SECRET, forget_messages=files)
    session.commit()
    _assert_forgotten(env, before, greta)
    email = _files(env)[next(n for n in greta if n.endswith(".eml"))].decode()
    assert "X-Salonpost-Forgotten: G1" in email and "Message-ID:" in email
    assert "To:" not in email and "Subject:" not in email


def test_the_retention_run_rewrites_the_files_of_whom_it_forgets(
    session: Session, salon: Salon, sent: dict[str, Client], env: dict[str, str]
) -> None:
    greta = _of(session, sent["greta"])
    before = _files(env)
    # Greta's last visit is two years ago; the salon keeps inactive clients for 12 months.
    long_ago = utcnow() - dt.timedelta(days=730)
    session.execute(
        update(Visit).where(Visit.client_id == sent["greta"].id).values(visited_at=long_ago)
    )
    session.execute(update(Salon).where(Salon.id == salon.id).values(retention_months=12))
    session.commit()
    report = run_retention(
        env["SALONPOST_DATABASE_URL"], salon.id, utcnow(), secret_key=SECRET,
        outbox_dir=env["SALONPOST_OUTBOX_DIR"],
    )  # fmt: skip
    assert report is not None and report.anonymised == 1
    _assert_forgotten(env, before, greta)


def test_a_message_written_but_not_recorded_is_found_by_its_key(
    session: Session, salon: Salon, sent: dict[str, Client], env: dict[str, str], mia: Actor
) -> None:
    """A worker died between the hand-off and recording it: no provider id, the key's file."""
    greta = sent["greta"]
    delivery = session.scalars(
        select(Delivery).where(Delivery.client_id == greta.id, Delivery.channel == "sms")
    ).one()
    delivery.status, delivery.provider_id = "sending", None
    session.commit()
    files = outbox_forgetter(env["SALONPOST_OUTBOX_DIR"])
    forget(session, mia, salon, greta, secret_key=SECRET, forget_messages=files)
    session.commit()
    content = _files(env)[f"c{delivery.campaign_id}-d{delivery.id}.json"]
    assert not _mentions(content, GRETA)


def test_an_outbox_that_cannot_be_written_forgets_nothing(
    session: Session, salon: Salon, sent: dict[str, Client], env: dict[str, str],
    mia: Actor, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    import channels.outbox

    def disk_full(path: Path, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(channels.outbox, "write_atomically", disk_full)
    files = outbox_forgetter(env["SALONPOST_OUTBOX_DIR"])
    with pytest.raises(Unavailable):
        forget(session, mia, salon, sent["greta"], secret_key=SECRET, forget_messages=files)
    session.rollback()
    session.expire_all()
    row = session.get_one(Client, sent["greta"].id)
    assert row.anonymised_at is None and row.first_name == GRETA[2]


def test_only_the_outboxs_own_files_are_touched(tmp_path: Path) -> None:
    outbox = OutboxChannel(tmp_path / "outbox")
    outbox.send(Message("sms", GRETA[0], f"Hallo {GRETA[2]}", "c1-d1"))
    outside = tmp_path / "secret.json"
    outside.write_text('{"to": "+49170"}')
    (outbox.directory / ".tmp-x.json").write_text('{"to": "+49171"}')
    names = ["../secret.json", str(outside), ".tmp-x.json", "SM0123", "", "<id@host>", "c1-d1"]
    assert outbox.forget(names) == ["c1-d1.json"]
    assert outside.read_text() == '{"to": "+49170"}'
    assert (outbox.directory / ".tmp-x.json").read_text() == '{"to": "+49171"}'
    assert outbox.forget(["c1-d1.json"]) == ["c1-d1.json"]  # again: still nothing of her
    assert not _mentions((outbox.directory / "c1-d1.json").read_bytes(), GRETA)
    assert outbox.lookup(Message("sms", "", "", "c1-d1"), since=utcnow()) is not None
