"""What the actors need at run time, read from the settings once per process (the edge).

Channels are built lazily, one per thread: an SMTP connection must not be shared by threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from channels.base import Channel
from settings import Settings, get_settings


def _channel_factory(settings: Settings, kind: str) -> Callable[[], Channel]:
    backend = settings.sms_backend if kind == "sms" else settings.email_backend
    if backend == "outbox":
        from channels.outbox import OutboxChannel

        return lambda: OutboxChannel(
            settings.outbox_dir,
            default_sender=settings.email_from,
            default_sms_sender=settings.sms_from or "Salonpost",
        )
    if backend == "smtp":
        from channels.email import SmtpChannel

        assert settings.smtp_url, "SALONPOST_SMTP_URL is required with EMAIL_BACKEND=smtp"
        url = settings.smtp_url
        return lambda: SmtpChannel(url, default_sender=settings.email_from)
    from channels.sms import TwilioSmsChannel

    return lambda: TwilioSmsChannel(
        account_sid=settings.twilio_account_sid or "",
        auth_token=settings.twilio_auth_token or "",
        messaging_service_sid=settings.twilio_messaging_service_sid,
        from_=settings.sms_from,
        api_base=settings.twilio_api_base,
    )


@dataclass
class Runtime:
    database_url: str
    base_url: str
    secret_key: str
    batch_size: int = 500
    factories: dict[str, Callable[[], Channel]] = field(default_factory=dict)
    _local: threading.local = field(default_factory=threading.local)

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        return cls(
            database_url=settings.database_url,
            base_url=settings.base_url,
            secret_key=settings.secret_key,
            batch_size=settings.batch_size,
            factories={kind: _channel_factory(settings, kind) for kind in ("sms", "email")},
        )

    def channel(self, kind: str) -> Channel:
        channels: dict[str, Channel] = self._local.__dict__.setdefault("channels", {})
        if kind not in channels:
            channels[kind] = self.factories[kind]()
        return channels[kind]


_runtime: Runtime | None = None


def get_runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        _runtime = Runtime.from_settings(get_settings())
    return _runtime


def configure(runtime: Runtime | None) -> None:
    """Replace the process's runtime (CLI start-up, tests); None = read settings again."""
    global _runtime
    _runtime = runtime
