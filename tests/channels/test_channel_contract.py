"""One behaviour suite run against every channel: the outbox, SMTP (aiosmtpd) and Twilio (Prism)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from channels import (
    Channel,
    ConfigurationError,
    Message,
    OutboxChannel,
    Receipt,
    SmtpChannel,
    TwilioSmsChannel,
)
from dispatcher.runtime import channel_factory
from settings import Settings

SMS = Message(
    channel="sms",
    to="+4915112345678",
    body="Salon Anna: 20 % auf Färben bis Samstag. Abmelden: STOP",
    key="c12-d3456",
    status_callback="https://salonpost.example/webhooks/twilio/status",
)
EMAIL = Message(
    channel="email",
    to="kundin@example.com",
    body="Hallo Anna,\nim Mai 20 % auf Färben.\nAbmelden: https://salonpost.example/u/abc\n",
    key="c12-d3457",
    subject="Frühlingsaktion im Salon Anna",
    html="<p>Hallo Anna,</p><p>im Mai 20 % auf Färben.</p>",
    unsubscribe_url="https://salonpost.example/u/abc",
)


@dataclass
class Case:
    channel: Channel
    message: Message


def _outbox_email(request: pytest.FixtureRequest, tmp_path: Path) -> Case:
    return Case(OutboxChannel(tmp_path, default_sender="Salon <a@salon.example>"), EMAIL)


def _outbox_sms(request: pytest.FixtureRequest, tmp_path: Path) -> Case:
    return Case(OutboxChannel(tmp_path), SMS)


def _smtp(request: pytest.FixtureRequest, tmp_path: Path) -> Case:
    server = request.getfixturevalue("smtp_server")
    return Case(SmtpChannel(server.url, default_sender="Salon <a@salon.example>"), EMAIL)


def _twilio(request: pytest.FixtureRequest, tmp_path: Path) -> Case:
    prism = request.getfixturevalue("prism")  # only Twilio cases start the mock
    channel = TwilioSmsChannel(
        account_sid="AC" + "0" * 32,
        auth_token="test-token",
        messaging_service_sid="MG" + "0" * 32,
        api_base=prism.base_url,
    )
    return Case(channel, SMS)


@pytest.fixture(params=[_outbox_email, _outbox_sms, _smtp, _twilio], ids=lambda f: f.__name__[1:])
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Case]:
    built = request.param(request, tmp_path)
    yield built
    built.channel.close()


def test_send_returns_a_receipt_with_a_provider_id(case: Case) -> None:
    receipt = case.channel.send(case.message)

    assert isinstance(receipt, Receipt)
    assert receipt.provider_id
    assert receipt.status


def test_a_channel_can_send_again_after_close(case: Case) -> None:
    case.channel.send(case.message)
    case.channel.close()

    assert case.channel.send(case.message).provider_id


def test_a_message_of_a_kind_the_channel_lacks_is_a_programming_error(case: Case) -> None:
    other = SMS if case.message.channel == "email" else EMAIL

    if other.channel in case.channel.kinds:  # the outbox takes both
        assert case.channel.send(other).provider_id
    else:
        with pytest.raises(ValueError, match="cannot send"):
            case.channel.send(other)


@pytest.mark.parametrize("message", [SMS, EMAIL], ids=["sms", "email"])
def test_outbox_resend_of_the_same_key_leaves_one_file(tmp_path: Path, message: Message) -> None:
    outbox = OutboxChannel(tmp_path)

    first = outbox.send(message)
    second = outbox.send(message)

    assert first.provider_id == second.provider_id
    assert [p.name for p in tmp_path.iterdir()] == [first.provider_id]


def test_the_one_channel_factory_builds_each_kind_from_the_settings(tmp_path: Path) -> None:
    outbox = Settings(outbox_dir=str(tmp_path))
    assert isinstance(channel_factory(outbox, "sms")(), OutboxChannel)
    smtp = Settings(email_backend="smtp", smtp_url="smtp://127.0.0.1:25")
    assert isinstance(channel_factory(smtp, "email")(), SmtpChannel)
    twilio = Settings(
        sms_backend="twilio",
        twilio_account_sid="AC1",
        twilio_auth_token="t",
        sms_from="+4930123456",
    )
    assert channel_factory(twilio, "sms")().name == "twilio"


def test_smtp_without_a_url_is_a_configuration_error_not_an_assert() -> None:
    with pytest.raises(ConfigurationError, match="SALONPOST_SMTP_URL"):
        channel_factory(Settings(email_backend="smtp"), "email")
