"""Salonpost settings: one class, read once at start-up from ``SALONPOST_*`` variables.

Library code never reads settings itself; the edges (CLI, web app, worker start-up) read them
and pass plain keyword arguments down.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "salonpost-development-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SALONPOST_", env_file=None, extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///salonpost.db"
    # Unset: the embedded default, an in-process broker and worker (no servers needed).
    redis_url: str | None = None
    outbox_dir: str = "./outbox"
    base_url: str = "http://127.0.0.1:8000"
    secret_key: str = DEVELOPMENT_SECRET
    sms_backend: Literal["outbox", "twilio"] = "outbox"
    email_backend: Literal["outbox", "smtp"] = "outbox"
    # Twilio (SMS_BACKEND=twilio).
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_base: str | None = None
    sms_from: str | None = None
    # SMTP (EMAIL_BACKEND=smtp): smtp://user:pass@host:587?tls=starttls, smtps://host:465, smtp://host:25
    smtp_url: str | None = None
    email_from: str = "Salonpost <no-reply@salonpost.invalid>"
    # Deliveries per batch message on the queue.
    batch_size: int = 500
    # Language of CLI messages for staff: "de" or "en".
    language: Literal["de", "en"] = "en"
    # Addresses of reverse proxies whose X-Forwarded-* headers are trusted.
    trusted_proxies: list[str] = []

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment != "development" and self.secret_key == DEVELOPMENT_SECRET:
            raise ValueError(
                "SALONPOST_SECRET_KEY is still the development default; set a long random value "
                "outside development"
            )
        return self

    @property
    def embedded(self) -> bool:
        """True when there is no Redis: broker and worker run inside this process."""
        return not self.redis_url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
