"""Salonpost settings: one class, read once at start-up from ``SALONPOST_*`` variables.

Library code never reads settings itself; the edges (CLI, web app, worker start-up) read them
and pass plain keyword arguments down. Unsafe values are refused here, at start-up, one line
each (:class:`StartRefused`): the development secret outside development, and in production a
``BASE_URL`` that is not https or a ``fake`` channel. Where the development secret and pepper
may still be used (loopback only, whatever ``ENVIRONMENT`` says) is :mod:`web.exposure`'s rule.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

from pydantic import ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "salonpost-development-secret-change-me"
DEVELOPMENT_PIN_PEPPER = "salonpost-development-pepper-change-me"
# How an operator makes a value for SALONPOST_SECRET_KEY or SALONPOST_PIN_PEPPER.
GENERATE_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


class StartRefused(SystemExit):
    """A process refuses to start: one line for the operator, exit status 1.

    Why a ``SystemExit``: whichever program loaded us (``salonpost``, uvicorn, dramatiq) must
    end with the message instead of a traceback (a settings traceback prints their values,
    secrets included), and no ``except Exception`` on the way may swallow the refusal.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SALONPOST_", env_file=None, extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///salonpost.db"
    # Unset: the embedded default, an in-process broker and worker (no servers needed).
    redis_url: str | None = None
    outbox_dir: str = "./outbox"
    base_url: str = "http://127.0.0.1:8000"
    secret_key: str = DEVELOPMENT_SECRET
    sms_backend: Literal["outbox", "twilio", "fake"] = "outbox"
    email_backend: Literal["outbox", "smtp", "fake"] = "outbox"
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
    # Dispatcher (see dispatcher/): deliveries claimed per database round trip (a worker killed
    # mid-chunk leaves at most these to the reconciler; one batch by default, as the per-chunk
    # statements cost more than the rows below a few hundred); seconds after which a claim is
    # presumed lost (its worker never hands off after half of it).
    claim_chunk: int = 500
    claim_timeout: float = 300.0
    # Transient failures: exponential backoff per delivery, then failed ("retry-failed").
    retry_min_backoff_ms: int = 2_000
    retry_max_backoff_ms: int = 300_000
    max_attempts: int = 10
    # SMS pacing per sender: Twilio's messages per second for the sender type; an explicit
    # rate overrides it (and paces the outbox and fake backends too); 0 switches pacing off.
    sms_sender_type: Literal["long_code", "toll_free", "short_code"] = "long_code"
    sms_messages_per_second: float | None = None
    # Marketing SMS wait out each salon's quiet hours (Salon.quiet_start/quiet_end).
    quiet_hours: bool = True
    # SMTP: connections at once per SMTP host, over every worker. Half the Procfile's 16 worker
    # threads: an email waits for three replies of its server (MAIL, RCPT, DATA) besides the
    # dispatcher's own work, and 4 connections left a loopback server idle most of the time
    # (1,170 emails/s against a 2,900/s ceiling); the other threads stay free for SMS batches.
    smtp_concurrency: int = 8
    # The fake provider (tests, benchmark): a log of accepted message keys, injected faults
    # like "5xx=0.5,429=0.02,retry_after=0.5,die_after_accept=0.001".
    fake_provider_log: str | None = None
    fake_provider_faults: str = ""
    # Language of CLI messages for staff: "de" or "en".
    language: Literal["de", "en"] = "en"
    # Operators' token for /ops and /metrics (Bearer header or sign-in); unset = both switched off.
    ops_token: str | None = None
    # Addresses of reverse proxies whose X-Forwarded-* headers are trusted.
    trusted_proxies: list[str] = []
    # Mixed into every staff PIN hash and kept outside the database, so a copy of the database
    # alone is not enough to guess 4-6 digit PINs (G4).
    pin_pepper: str = DEVELOPMENT_PIN_PEPPER

    @model_validator(mode="after")
    def _refuse_unsafe_values(self) -> Settings:
        """Every unsafe value at once, one line each, so one restart fixes them all."""
        problems = self._unsafe_outside_development() + self._unsafe_in_production()
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _unsafe_outside_development(self) -> list[str]:
        if self.environment == "development" or self.secret_key != DEVELOPMENT_SECRET:
            return []
        return [
            "SALONPOST_SECRET_KEY is still the development default; set a long random value "
            f"outside development ({GENERATE_SECRET})"
        ]

    def _unsafe_in_production(self) -> list[str]:
        if self.environment != "production":
            return []
        problems = []
        # RFC 8058: a one-click unsubscribe URI must be https, and so is every link we send.
        if urlsplit(self.base_url).scheme != "https" or not urlsplit(self.base_url).hostname:
            problems.append(
                f"SALONPOST_BASE_URL must be an https URL in production, not {self.base_url!r} "
                "(RFC 8058 one-click unsubscribe needs https)"
            )
        for name, backend in (("SMS", self.sms_backend), ("EMAIL", self.email_backend)):
            if backend == "fake":
                problems.append(
                    f"SALONPOST_{name}_BACKEND=fake is the test provider and sends nothing; "
                    "use a real channel in production"
                )
        return problems

    def checked_pin_pepper(self) -> str:
        """The pepper, refused at its default outside development (checked where PINs are used,
        so that settings without staff PINs, like the worker's, still start)."""
        if self.environment != "development" and self.pin_pepper == DEVELOPMENT_PIN_PEPPER:
            raise ValueError(
                "SALONPOST_PIN_PEPPER is still the development default; set a long random value "
                "outside development"
            )
        return self.pin_pepper

    @property
    def embedded(self) -> bool:
        """True when there is no Redis: broker and worker run inside this process."""
        return not self.redis_url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings; invalid ones end the process with one line per problem."""
    try:
        return Settings()
    except ValidationError as exc:
        raise StartRefused(settings_problems(exc)) from None


def settings_problems(exc: ValidationError) -> str:
    """The problems of ``exc``, one line each, naming the variable, never its value."""
    lines = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        message = str(error["msg"]).removeprefix("Value error, ")
        field = "_".join(str(part) for part in error["loc"]).upper()
        lines.append(f"SALONPOST_{field}: {message}" if field else message)
    return "\n".join(lines)
