"""The runtime wires channels from the settings, once per process."""

from __future__ import annotations

from channels.outbox import OutboxChannel
from channels.sms import TwilioSmsChannel
from dispatcher.runtime import Runtime
from settings import Settings


def test_twilio_reports_delivery_status_to_our_signed_webhook() -> None:
    settings = Settings(
        sms_backend="twilio",
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="token",
        twilio_messaging_service_sid="MG" + "0" * 32,
        base_url="https://post.salon.example/",
    )
    channel = Runtime.from_settings(settings).channel("sms")
    assert isinstance(channel, TwilioSmsChannel)
    assert channel.status_callback == "https://post.salon.example/webhooks/twilio/status"


def test_the_embedded_default_writes_to_the_outbox(tmp_path) -> None:
    runtime = Runtime.from_settings(Settings(outbox_dir=str(tmp_path)))
    assert isinstance(runtime.channel("sms"), OutboxChannel)
    assert runtime.channel("email") is runtime.channel("email")  # one per thread, reused
