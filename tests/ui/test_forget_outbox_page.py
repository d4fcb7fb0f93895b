"""Forgetting on the client card rewrites the client's outbox files too (G1, #14.16)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from ui_support import PEPPER, PIN, SECRET, sign_in

from db.models import Client, Delivery, Salon
from settings import Settings
from tests.support import send_to_outbox


def test_forget_on_the_card_rewrites_the_outbox_files(
    web: TestClient, settings: Settings, session: Session, anna: Salon, anna_clients: list[Client]
) -> None:
    env = {
        "SALONPOST_DATABASE_URL": settings.database_url,
        "SALONPOST_OUTBOX_DIR": settings.outbox_dir,
        "SALONPOST_SECRET_KEY": SECRET,
        "SALONPOST_PIN_PEPPER": PEPPER,
    }
    send_to_outbox(session, anna, env)
    client = anna_clients[0]
    names = set(
        session.scalars(select(Delivery.provider_id).where(Delivery.client_id == client.id))
    )
    outbox = Path(settings.outbox_dir)
    others = {p.name: p.read_bytes() for p in outbox.iterdir() if p.name not in names}
    assert len(names) == 2 and others
    assert all(
        client.phone_e164.encode() in (outbox / n).read_bytes()
        for n in names
        if n.endswith(".json")
    )
    csrf = sign_in(web, "anna", "Mara")
    answer = web.post(
        f"/staff/clients/{client.id}/forget", data={"csrf_token": csrf, "pin": PIN, "confirm": "1"}
    )
    assert answer.status_code == 200 and answer.url.query == b"done=forgotten"
    for name in names:
        content = (outbox / name).read_bytes()
        assert client.phone_e164.encode() not in content and client.email.encode() not in content
        assert client.first_name.encode() not in content
    assert {n: (outbox / n).read_bytes() for n in others} == others
