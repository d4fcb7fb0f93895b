"""What the actors need at run time, read from the settings once per process (the edge).

:func:`channel_factory` is the one place a channel is built from the settings (the workers, the
test message, service messages); channels are built lazily, one per thread: an SMTP connection
must not be shared by threads. With :func:`get_runtime` this module and :mod:`dispatcher.actors`
are the worker's entry, the only modules below the edges that read the settings.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from channels.base import Channel
from channels.errors import ConfigurationError
from db import states
from dispatcher.pacing import SENDER_MPS, NoPacing, Pacer, RedisPacer
from settings import DEVELOPMENT_SECRET, GENERATE_SECRET, Settings, StartRefused, get_settings
from templates.links import url_is_loopback
from templates.texts import text


def channel_factory(settings: Settings, kind: str) -> Callable[[], Channel]:
    """A builder of the channel ``kind`` ("sms", "email") as the settings configure it."""
    backend = settings.sms_backend if kind == states.Channel.SMS else settings.email_backend
    if backend == "outbox":
        from channels.outbox import OutboxChannel

        return lambda: OutboxChannel(
            settings.outbox_dir,
            default_sender=settings.email_from,
            default_sms_sender=settings.sms_from or "Salonpost",
        )
    if backend == "fake":
        from channels.fake import FakeProviderChannel, Faults

        faults = Faults.parse(settings.fake_provider_faults)
        return lambda: FakeProviderChannel(log_path=settings.fake_provider_log, faults=faults)
    if backend == "smtp":
        from channels.email import SmtpChannel

        if not settings.smtp_url:
            raise ConfigurationError("SALONPOST_SMTP_URL is required with EMAIL_BACKEND=smtp")
        url = settings.smtp_url
        return lambda: SmtpChannel(url, default_sender=settings.email_from)
    from channels.sms import TwilioSmsChannel

    return lambda: TwilioSmsChannel(
        account_sid=settings.twilio_account_sid or "",
        auth_token=settings.twilio_auth_token or "",
        messaging_service_sid=settings.twilio_messaging_service_sid,
        from_=settings.sms_from,
        api_base=settings.twilio_api_base,
        # Delivery reports come back to web/twilio.py, signed, and move deliveries forward.
        status_callback=f"{settings.base_url.rstrip('/')}/webhooks/twilio/status",
    )


def _limits(settings: Settings) -> tuple[dict[str, float], dict[str, int]]:
    """(messages per second per sender, connections per host) by channel kind."""
    rates: dict[str, float] = {}
    if settings.sms_messages_per_second is not None:
        # 0: Salonpost does not pace (a Messaging Service with its own queue and throughput).
        if settings.sms_messages_per_second > 0:
            rates[states.Channel.SMS] = settings.sms_messages_per_second
    elif settings.sms_backend == "twilio":
        rates[states.Channel.SMS] = SENDER_MPS[settings.sms_sender_type]
    concurrency: dict[str, int] = (
        {states.Channel.EMAIL: settings.smtp_concurrency}
        if settings.email_backend == "smtp"
        else {}
    )
    return rates, concurrency


@dataclass(frozen=True)
class RetryPolicy:
    """Per-delivery backoff for transient failures: min * 2**(attempts-1), capped."""

    min_backoff_ms: int = 2_000
    max_backoff_ms: int = 300_000
    max_attempts: int = 10

    def delay_ms(self, attempts: int) -> int:
        return int(min(self.max_backoff_ms, self.min_backoff_ms * 2 ** max(0, attempts - 1)))


@dataclass
class Runtime:
    database_url: str
    base_url: str
    secret_key: str
    batch_size: int = 500
    factories: dict[str, Callable[[], Channel]] = field(default_factory=dict)
    claim_chunk: int = 500
    claim_timeout: float = 300.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # channel kind -> messages per second per sender / connections at once per provider host
    rates: dict[str, float] = field(default_factory=dict)
    concurrency: dict[str, int] = field(default_factory=dict)
    provider: dict[str, str] = field(default_factory=dict)  # kind -> backend, for limiter keys
    redis_url: str | None = None
    quiet_hours: bool = True
    _pacer: Pacer | None = None
    _local: threading.local = field(default_factory=threading.local)

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        rates, concurrency = _limits(settings)
        return cls(
            database_url=settings.database_url,
            base_url=settings.base_url,
            secret_key=settings.secret_key,
            batch_size=settings.batch_size,
            factories={kind: channel_factory(settings, kind) for kind in states.Channel},
            claim_chunk=settings.claim_chunk,
            claim_timeout=settings.claim_timeout,
            retry=RetryPolicy(
                settings.retry_min_backoff_ms, settings.retry_max_backoff_ms, settings.max_attempts
            ),
            rates=rates,
            concurrency=concurrency,
            provider={
                states.Channel.SMS: settings.sms_backend,
                states.Channel.EMAIL: settings.email_backend,
            },
            redis_url=settings.redis_url,
            quiet_hours=settings.quiet_hours,
        )

    def channel(self, kind: str) -> Channel:
        channels: dict[str, Channel] = self._local.__dict__.setdefault("channels", {})
        if kind not in channels:
            channels[kind] = self.factories[kind]()
        return channels[kind]

    @property
    def pacer(self) -> Pacer:
        """Rate and concurrency limits shared by every worker (Redis), or none at all."""
        if self._pacer is None:
            limited = self.rates or self.concurrency
            self._pacer = (
                RedisPacer.from_url(self.redis_url, lease=self.claim_timeout)
                if (limited and self.redis_url)
                else NoPacing()
            )
        return self._pacer


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


def refuse_public_links(*, secret_key: str, base_url: str, language: str = "en") -> None:
    """Raise :class:`StartRefused` before links to a public ``base_url`` are signed with the
    development secret, which is in the public source (a worker, or a command that queues)."""
    if secret_key != DEVELOPMENT_SECRET or url_is_loopback(base_url):
        return
    names, where = "SALONPOST_SECRET_KEY", f"SALONPOST_BASE_URL={base_url}"
    raise StartRefused(
        text("cli.dev_secret_links", language, names=names, where=where)
        + " "
        + text("cli.generate_secret", language, command=GENERATE_SECRET)
    )


def refuse_runtime_links() -> None:
    """:func:`refuse_public_links` for this process's runtime (a worker at boot)."""
    runtime = get_runtime()
    refuse_public_links(
        secret_key=runtime.secret_key,
        base_url=runtime.base_url,
        language=get_settings().language,
    )
