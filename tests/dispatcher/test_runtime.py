"""The runtime wires channels from the settings, once per process."""

from __future__ import annotations

from channels.outbox import OutboxChannel
from channels.sms import TwilioSmsChannel
from db.models import Salon
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


def test_a_channel_that_cannot_be_asked_claims_small_chunks(tmp_path) -> None:
    """SMTP cannot say whether it took a message: a dead worker's claims need an operator's
    decision each, so fewer are claimed at once than for a channel the reconciler can ask."""
    from channels.email import SmtpChannel
    from dispatcher.batch_run import UNASKABLE_CHUNK, _chunk_size

    settings = Settings(
        outbox_dir=str(tmp_path),
        email_backend="smtp",
        smtp_url="smtp://127.0.0.1:1",
        claim_chunk=400,
    )
    runtime = Runtime.from_settings(settings)
    assert isinstance(runtime.channel("email"), SmtpChannel)
    assert not runtime.channel("email").can_look_up and runtime.channel("sms").can_look_up
    assert _chunk_size(runtime, ["sms"]) == 400
    assert _chunk_size(runtime, ["email"]) == UNASKABLE_CHUNK
    assert _chunk_size(runtime, ["sms", "email"]) == UNASKABLE_CHUNK


def test_a_paced_sender_sends_from_a_seconds_worth_of_threads_an_unpaced_one_from_all(
    tmp_path,
) -> None:
    """Slots per sender: a long code (1/s) one thread, a short code (100/s) up to 100; SMTP
    its connections; an explicit rate of 0 paces nothing (every thread sends)."""
    from dispatcher.batch_run import _chunk_size, sender_slots

    salon = Salon(id=1, slug="anna", name="Salon Anna", sms_sender="+4915100000000")
    twilio = dict(outbox_dir=str(tmp_path), sms_backend="twilio", twilio_account_sid="AC1",
                  twilio_auth_token="t", sms_from="+4915100000000")  # fmt: skip
    long_code = Runtime.from_settings(Settings(**twilio))
    assert sender_slots(long_code, salon, ["sms"]) == [("twilio:+4915100000000:senders", 1)]
    # One thread at 1/s: a chunk is what it sends in half a pass.
    assert _chunk_size(long_code, ["sms"], seconds=30) == 30
    short_code = Runtime.from_settings(Settings(**twilio, sms_sender_type="short_code"))
    assert sender_slots(short_code, salon, ["sms"]) == [("twilio:+4915100000000:senders", 100)]
    unpaced = Runtime.from_settings(Settings(**twilio, sms_messages_per_second=0))
    assert unpaced.rates == {} and sender_slots(unpaced, salon, ["sms"]) == []
    smtp = Runtime.from_settings(
        Settings(outbox_dir=str(tmp_path), email_backend="smtp", smtp_url="smtp://127.0.0.1:1")
    )
    assert sender_slots(smtp, salon, ["email", "sms"]) == [("smtp", smtp.concurrency["email"])]
