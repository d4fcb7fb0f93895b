"""TwilioSmsChannel: a contract test against Twilio's own API description (Prism), and error
mapping with a fake HTTP client injected into the twilio SDK (no network)."""

from __future__ import annotations

import json
import logging

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.rest import Client

from channels import (
    ConfigurationError,
    Message,
    PermanentDeliveryError,
    TransientDeliveryError,
    TwilioSmsChannel,
)
from channels.sms import parse_retry_after

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
SERVICE_SID = "MG" + "fedcba9876543210" * 2
CALLBACK = "https://salonpost.example/webhooks/twilio/status"
SMS = Message(
    channel="sms",
    to="+4915112345678",
    body="Salon Anna: 20 % auf Färben bis Samstag. Abmelden: STOP",
    key="c12-d3456",
)


# --- contract: the real SDK against Prism -------------------------------------------------------


def validator_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if "[VALIDATOR]" in line]


@pytest.mark.parametrize(
    "sender",
    [{"messaging_service_sid": SERVICE_SID}, {"from_": "+4930123456"}],
    ids=["messaging_service", "from_number"],
)
def test_twilio_accepts_our_create_message_request(prism, sender):
    channel = TwilioSmsChannel(
        account_sid=ACCOUNT_SID, auth_token="token", api_base=prism.base_url,
        status_callback=CALLBACK, **sender,
    )  # fmt: skip
    offset = prism.log_offset()

    receipt = channel.send(SMS)

    assert receipt.provider_id.startswith("SM")
    assert receipt.status
    log = prism.log_since(offset)
    assert f"post /2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json" in log  # really hit the mock
    assert validator_lines(log), log
    assert all("success" in line for line in validator_lines(log)), log
    assert "UNPROCESSABLE_ENTITY" not in log and "422" not in log


def test_prism_rejects_a_request_without_to(prism):
    # Proves the contract check can fail: the same SDK call without the required To.
    client = Client(ACCOUNT_SID, "token")
    client.api.base_url = prism.base_url
    offset = prism.log_offset()

    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=None, body="Hallo", from_="+4930123456")

    assert caught.value.status == 422
    log = prism.log_since(offset)
    assert "Request body must have required property 'To'" in log
    assert any("error" in line for line in validator_lines(log))


# --- the request we build, and error mapping, with a fake HTTP client ---------------------------


class FakeHttpClient(HttpClient):
    """Answers every request with the next queued response (or raises a queued exception)."""

    def __init__(self, *answers: Response | Exception) -> None:
        super().__init__(logging.getLogger("fake-twilio"), is_async=False)
        self.answers = list(answers)
        self.requests: list[dict] = []

    def request(self, method, url, params=None, data=None, headers=None, auth=None,
                timeout=None, allow_redirects=False):  # fmt: skip
        self.requests.append({"method": method, "url": url, "data": data})
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        self._test_only_last_response = answer  # as twilio's own TwilioHttpClient does
        return answer


def created(sid: str = "SM" + "1" * 32, status: str = "accepted") -> Response:
    return Response(201, json.dumps({"sid": sid, "status": status}), {})


def error(status: int, code: int, headers: dict | None = None) -> Response:
    body = {"code": code, "message": "error", "more_info": "", "status": status}
    return Response(status, json.dumps(body), headers or {})


def channel_with(
    *answers: Response | Exception, **options
) -> tuple[TwilioSmsChannel, FakeHttpClient]:
    fake = FakeHttpClient(*answers)
    options.setdefault("messaging_service_sid", SERVICE_SID)
    channel = TwilioSmsChannel(account_sid=ACCOUNT_SID, auth_token="t", http_client=fake, **options)
    return channel, fake


def test_send_posts_to_body_service_and_callback_and_returns_the_sid():
    channel, fake = channel_with(created(), status_callback=CALLBACK)

    receipt = channel.send(SMS)

    assert receipt.provider_id == "SM" + "1" * 32
    assert receipt.status == "accepted"
    sent = fake.requests[0]
    assert sent["url"] == f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert sent["data"]["To"] == SMS.to
    assert sent["data"]["Body"] == SMS.body
    assert sent["data"]["MessagingServiceSid"] == SERVICE_SID
    assert sent["data"]["StatusCallback"] == CALLBACK
    assert "From" not in sent["data"]


def test_the_message_sender_and_callback_win_over_the_channel_defaults():
    channel, fake = channel_with(created(), from_=None, status_callback=CALLBACK)
    message = Message(channel="sms", to=SMS.to, body="x", key="k", sender="SalonAnna",
                      status_callback="https://other.example/cb")  # fmt: skip

    channel.send(message)

    assert fake.requests[0]["data"]["From"] == "SalonAnna"
    assert fake.requests[0]["data"]["StatusCallback"] == "https://other.example/cb"


def test_api_base_redirects_the_sdk():
    channel, fake = channel_with(created(), api_base="http://127.0.0.1:4010/")

    channel.send(SMS)

    assert fake.requests[0]["url"].startswith("http://127.0.0.1:4010/2010-04-01/Accounts/")


def test_429_is_transient_with_the_retry_after_header():
    channel, _ = channel_with(error(429, 20429, {"Retry-After": "7"}))

    with pytest.raises(TransientDeliveryError) as caught:
        channel.send(SMS)

    assert caught.value.retry_after == 7.0
    assert isinstance(caught.value.__cause__, TwilioRestException)


def test_429_without_retry_after_leaves_the_delay_to_the_dispatcher():
    channel, _ = channel_with(error(429, 20429))

    with pytest.raises(TransientDeliveryError) as caught:
        channel.send(SMS)

    assert caught.value.retry_after is None


def test_5xx_is_transient():
    channel, _ = channel_with(error(500, 20500))

    with pytest.raises(TransientDeliveryError):
        channel.send(SMS)


@pytest.mark.parametrize("code", [21610, 21211, 21614, 21217])
def test_unsubscribed_or_invalid_numbers_are_permanent_and_suppressed(code):
    channel, _ = channel_with(error(400, code))

    with pytest.raises(PermanentDeliveryError) as caught:
        channel.send(SMS)

    assert caught.value.code == str(code)
    assert caught.value.suppress is True


@pytest.mark.parametrize("code", [21612, 21602, 30007])
def test_other_4xx_are_permanent_without_suppressing(code):
    channel, _ = channel_with(error(400, code))

    with pytest.raises(PermanentDeliveryError) as caught:
        channel.send(SMS)

    assert caught.value.suppress is False


@pytest.mark.parametrize(("status", "code"), [(401, 20003), (400, 21606), (400, 21408)])
def test_credentials_and_sender_problems_are_configuration_errors(status, code):
    channel, _ = channel_with(error(status, code))

    with pytest.raises(ConfigurationError):
        channel.send(SMS)


@pytest.mark.parametrize(
    ("exc", "maybe_sent"),
    [(requests.ConnectionError("refused"), False), (requests.ConnectTimeout("slow"), False),
     (requests.ReadTimeout("no answer"), True)],
)  # fmt: skip
def test_network_errors_are_transient(exc, maybe_sent):
    channel, _ = channel_with(exc)

    with pytest.raises(TransientDeliveryError) as caught:
        channel.send(SMS)

    assert caught.value.maybe_sent is maybe_sent


@pytest.mark.parametrize("sender", [{}, {"messaging_service_sid": SERVICE_SID, "from_": "+49301"}])
def test_exactly_one_sender_is_required(sender):
    with pytest.raises(ConfigurationError, match="exactly one"):
        TwilioSmsChannel(account_sid=ACCOUNT_SID, auth_token="t", **sender)


def test_retry_after_reads_seconds_and_http_dates():
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert parse_retry_after("soon") is None
