"""Fixtures for the web app: settings, the ASGI app, two salons with clients, Twilio signing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator
from web_support import AUTH_TOKEN, BASE_URL, PEPPER, SECRET, add_client

from db.models import Client, Salon
from settings import Settings
from templates.links import UnsubscribeToken, make_token
from web.app import create_app


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        secret_key=SECRET,
        pin_pepper=PEPPER,
        twilio_auth_token=AUTH_TOKEN,
        base_url=BASE_URL,
    )


@pytest.fixture
def web(settings: Settings) -> TestClient:
    """The real ASGI app; base_url as Twilio and mail clients would see it."""
    return TestClient(create_app(settings), base_url=BASE_URL)


@pytest.fixture
def anna(session: Session, salon: Salon) -> Client:
    """A client of Salon Anna (slug "anna")."""
    return add_client(session, salon, "K1")


@pytest.fixture
def other_salon(session: Session) -> Salon:
    row = Salon(slug="bella", name="Studio Bella", gate_on=dt.date(2024, 1, 1))
    session.add(row)
    session.commit()
    return row


@pytest.fixture
def bella_client(session: Session, other_salon: Salon) -> Client:
    """A client of the other salon, with the same phone number as Anna's client."""
    return add_client(session, other_salon, "B1")


@pytest.fixture
def token_for() -> Callable[..., str]:
    def make(
        salon_id: int, client_id: int, channel: str = "email", campaign_id: int | None = None
    ) -> str:
        return make_token(
            UnsubscribeToken(salon_id, client_id, channel, campaign_id), secret_key=SECRET
        )

    return make


@pytest.fixture
def twilio_post(web: TestClient) -> Callable[..., object]:
    """POST a form to a webhook path, signed like Twilio signs it (or with `signature`)."""

    def post(path: str, params: dict[str, str], signature: str | None = None, **kwargs: object):
        url = BASE_URL + path
        if signature is None:
            signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
        headers = {"X-Twilio-Signature": signature, **kwargs.pop("headers", {})}  # type: ignore[dict-item]
        return web.post(
            path,
            content=urlencode(params),
            headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
            **kwargs,
        )

    return post
