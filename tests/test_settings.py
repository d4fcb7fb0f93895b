"""Settings: the embedded default needs nothing; unsafe defaults are refused outside development."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from settings import DEVELOPMENT_SECRET, Settings


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


def test_the_development_secret_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="SALONPOST_SECRET_KEY"):
        Settings(environment="production", secret_key=DEVELOPMENT_SECRET)
    assert Settings(environment="production", secret_key="x" * 40).secret_key == "x" * 40
