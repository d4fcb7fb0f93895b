"""Fixtures for the staff UI and operator tests: two salons with staff and clients, the app."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from ui_browser import install_axe
from ui_support import BASE_URL, OPS_TOKEN, PEPPER, SECRET, add_client, make_salon

from db.models import Client, Salon
from settings import Settings
from web.app import create_app


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        secret_key=SECRET,
        pin_pepper=PEPPER,
        base_url=BASE_URL,
        outbox_dir=str(tmp_path / "outbox"),
        quiet_hours=False,
    )


@pytest.fixture
def web(settings: Settings) -> TestClient:
    return TestClient(create_app(settings, ops_token=OPS_TOKEN), base_url=BASE_URL)


@pytest.fixture
def anna(session: Session) -> Salon:
    """Salon Anna (slug "anna") with staff member Mara (PIN 4711)."""
    return make_salon(session, "anna", "Salon Anna", "Mara")


@pytest.fixture
def bella(session: Session) -> Salon:
    """Studio Bella (slug "bella") with staff member Ben (PIN 4711)."""
    return make_salon(session, "bella", "Studio Bella", "Ben")


@pytest.fixture
def anna_clients(session: Session, anna: Salon) -> list[Client]:
    """Two clients who pass the gate and one who withdrew consent (R4)."""
    return [
        add_client(session, anna, "K1", phone="+4917611111111"),
        add_client(session, anna, "K2", phone="+4917622222222"),
        add_client(session, anna, "K3", phone="+4917633333333", consent=False),
    ]


@pytest.fixture
def bella_client(session: Session, bella: Salon) -> Client:
    return add_client(session, bella, "B1", phone="+4917644444444")


@pytest.fixture(scope="session")
def axe_script() -> Path:
    return install_axe()
