"""Settings: the embedded default needs nothing; unsafe values are refused at start-up.

Outside development the development secret; in production (#15.6) also a BASE_URL that is not
https and the fake provider. Each problem is one line naming its variable, never a value.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from settings import DEVELOPMENT_SECRET, Settings, StartRefused, get_settings


def test_the_embedded_default_needs_no_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SALONPOST_REDIS_URL", "SALONPOST_DATABASE_URL", "SALONPOST_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.embedded
    assert settings.database_url == "sqlite:///salonpost.db"
    assert (settings.sms_backend, settings.email_backend) == ("outbox", "outbox")


def test_settings_are_read_from_salonpost_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALONPOST_REDIS_URL", "redis://127.0.0.1:6379/3")
    monkeypatch.setenv("SALONPOST_BASE_URL", "https://post.salon.example")
    settings = Settings()
    assert not settings.embedded
    assert settings.base_url == "https://post.salon.example"


PRODUCTION = {
    "environment": "production",
    "secret_key": "x" * 40,
    "base_url": "https://post.example",
}


def test_the_development_secret_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="SALONPOST_SECRET_KEY"):
        Settings(**{**PRODUCTION, "secret_key": DEVELOPMENT_SECRET})
    assert Settings(**PRODUCTION).secret_key == "x" * 40


@pytest.mark.parametrize(
    "base_url",
    ["http://post.salon.example", "http://127.0.0.1:8000", "post.salon.example", "https://",
     "ftp://post.salon.example", "HTTP://post.salon.example"],
)  # fmt: skip
def test_production_refuses_a_base_url_that_is_not_https(base_url: str) -> None:
    """RFC 8058: the one-click unsubscribe URI in List-Unsubscribe must be https."""
    with pytest.raises(ValidationError, match="SALONPOST_BASE_URL must be an https URL"):
        Settings(**{**PRODUCTION, "base_url": base_url})


@pytest.mark.parametrize("channel", ["sms_backend", "email_backend"])
def test_production_refuses_the_fake_provider(channel: str) -> None:
    with pytest.raises(ValidationError, match=f"SALONPOST_{channel.upper()}=fake"):
        Settings(**{**PRODUCTION, channel: "fake"})


@pytest.mark.parametrize("environment", ["development", "test"])
def test_outside_production_http_and_the_fake_provider_are_allowed(environment: str) -> None:
    settings = Settings(
        environment=environment, secret_key="x" * 40, sms_backend="fake", email_backend="fake"
    )
    assert settings.base_url.startswith("http://")


def _start(command: list[str], **values: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALONPOST_")}
    env.update(values)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "program",
    [["salonpost", "db", "upgrade"], ["uvicorn", "web.app:create_app", "--factory", "--port", "1"]],
    ids=["cli", "uvicorn"],
)
def test_a_production_start_names_every_problem_in_one_line_each(
    program: list[str], tmp_path: Path
) -> None:
    token = "twilio-token-that-must-not-be-printed"
    started = _start(
        [str(Path(sys.executable).parent / program[0]), *program[1:]],
        SALONPOST_ENVIRONMENT="production",
        SALONPOST_DATABASE_URL=f"sqlite:///{tmp_path / 'salonpost.db'}",
        SALONPOST_BASE_URL="http://post.salon.example",
        SALONPOST_SMS_BACKEND="fake",
        SALONPOST_EMAIL_BACKEND="fake",
        SALONPOST_TWILIO_AUTH_TOKEN=token,
    )
    assert started.returncode == 1
    lines = started.stderr.strip().splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == [
        "SALONPOST_SECRET_KEY",
        "SALONPOST_BASE_URL",
        "SALONPOST_SMS_BACKEND=fake",
        "SALONPOST_EMAIL_BACKEND=fake",
    ]
    assert "Traceback" not in started.stderr and token not in started.stderr


def test_an_invalid_value_names_its_variable_not_its_neighbours(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SALONPOST_ENVIRONMENT", "prod")
    monkeypatch.setenv("SALONPOST_SECRET_KEY", "secret-that-must-not-be-printed")
    get_settings.cache_clear()
    try:
        with pytest.raises(StartRefused) as refused:
            get_settings()
    finally:
        get_settings.cache_clear()
    assert str(refused.value).startswith("SALONPOST_ENVIRONMENT: Input should be")
    assert "secret-that-must-not-be-printed" not in str(refused.value)
