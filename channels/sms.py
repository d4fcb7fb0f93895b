"""SMS through Twilio's Messages API with the official `twilio` SDK (all twilio imports live here).

Errors, translated at the boundary (``raise ... from exc``)::

    ChannelError
     ├── DeliveryError
     │    ├── TransientDeliveryError   HTTP 429 (retry_after from Retry-After), HTTP 5xx,
     │    │                            network errors and timeouts (a read timeout sets
     │    │                            maybe_sent: Twilio may have queued the message)
     │    └── PermanentDeliveryError   other 4xx; code = Twilio error code ("21610");
     │                                 suppress=True for 21610 (recipient sent STOP) and
     │                                 invalid numbers (21211, 21217, 21401, 21614)
     └── ConfigurationError            401/403, a sender or messaging service that is not ours,
                                       region not enabled (20003, 21212, 21408, 21606, 21659,
                                       21705); also exactly one of messaging_service_sid/from_

Twilio has no idempotency key for creating messages, so `Message.key` is not sent; duplicates
after an ambiguous timeout are avoided by the dispatcher, which sees `maybe_sent`.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
import urllib3
from requests import certs
from requests.utils import get_environ_proxies
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.rest import Client

from channels.base import Channel, Message, Receipt
from channels.errors import (
    ChannelError,
    ConfigurationError,
    PermanentDeliveryError,
    TransientDeliveryError,
)

# The address itself is unusable: suppress it for the salon (R9).
SUPPRESS_CODES = {
    21610: "recipient has unsubscribed (replied STOP)",
    21211: "invalid 'To' phone number",
    21217: "phone number does not appear to be valid",
    21401: "invalid phone number",
    21614: "'To' number is not a valid mobile number",
}
# The account or sender is wrong, not this delivery. 21612 ("cannot route to this number") is
# deliberately absent: it is often caused by our own geo permissions, so it is permanent for
# this message but no reason to suppress the client's number.
CONFIGURATION_CODES = {20003, 21212, 21408, 21606, 21659, 21705}


class TwilioSmsChannel(Channel):
    """Send SMS with a Twilio Messaging Service (`messaging_service_sid`) or a number (`from_`).

    `api_base` points the client at another API host (the Prism mock in tests).
    Thread-safe as far as the twilio client is (one requests session).
    """

    name = "twilio"
    kinds = frozenset({"sms"})

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        messaging_service_sid: str | None = None,
        from_: str | None = None,
        api_base: str | None = None,
        status_callback: str | None = None,
        timeout: float = 30,
        http_client: HttpClient | None = None,
    ) -> None:
        if (messaging_service_sid is None) == (from_ is None):
            raise ConfigurationError("set exactly one of messaging_service_sid and from_")
        if not account_sid or not auth_token:
            raise ConfigurationError("Twilio needs account_sid and auth_token")
        self.messaging_service_sid = messaging_service_sid
        self.from_ = from_
        self.status_callback = status_callback
        # Why a timeout: the SDK's default http client waits forever on a stuck connection.
        self._client = Client(
            account_sid,
            auth_token,
            http_client=http_client
            or KeepAliveHttpClient(api_base=api_base or TWILIO_API, timeout=timeout),
        )
        if api_base:
            _point_at(self._client, api_base)

    def send(self, message: Message) -> Receipt:
        self._check_kind(message)
        try:
            created = self._client.messages.create(**self._create_params(message))
        except (TwilioException, requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise self._translate(exc) from exc
        return Receipt(provider_id=str(created.sid), status=str(created.status or "queued"))

    def lookup(self, message: Message, *, since: datetime) -> Receipt | None:
        """Find `message` among the messages Twilio took for its recipient since `since`.

        Twilio has no idempotency key, so the match is recipient, sender and body (the body
        carries the client's own unsubscribe link, so it is unique per delivery)."""
        for found in self.recent(message.to, message.sender or self.from_, since):
            if found.body == message.body:
                return Receipt(provider_id=str(found.sid), status=str(found.status or "queued"))
        return None

    def recent(self, to: str, sender: str | None, since: datetime) -> list[Any]:
        """Messages to `to` (from `sender`, when set) created since `since`, newest first."""
        params: dict[str, Any] = {"to": to, "limit": 50}
        if sender and not sender.startswith("MG"):
            params["from_"] = sender
        try:
            listed = self._client.messages.list(**params)
        except (TwilioException, requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise self._translate(exc) from exc
        # Why filter here: Twilio's date filters use date_sent, empty while a message is queued.
        return [m for m in listed if m.date_created is None or m.date_created >= since]

    def close(self) -> None:
        http = self._client.http_client
        if isinstance(http, KeepAliveHttpClient):
            http.close()
        session = getattr(http, "session", None)
        if isinstance(session, requests.Session):
            session.close()

    def _create_params(self, message: Message) -> dict[str, Any]:
        params: dict[str, Any] = {"to": message.to, "body": message.body}
        if self.messaging_service_sid:
            params["messaging_service_sid"] = self.messaging_service_sid
        # With a messaging service, a sender picks one number/ID from its pool.
        sender = message.sender or self.from_
        if sender:
            params["from_"] = sender
        callback = message.status_callback or self.status_callback
        if callback:
            params["status_callback"] = callback
        return params

    def _translate(self, exc: Exception) -> ChannelError:
        if isinstance(exc, TwilioRestException):
            return translate_api_error(exc.status, exc.code, exc.msg, self._retry_after())
        if isinstance(exc, TwilioServiceException):  # the RFC 9457 error format
            return translate_api_error(exc.status, exc.code, exc.title, self._retry_after())
        if isinstance(exc, requests.RequestException | urllib3.exceptions.HTTPError):
            # A read timeout: the request went out, Twilio may have queued the message.
            read_timeout = requests.ReadTimeout | urllib3.exceptions.ReadTimeoutError
            return TransientDeliveryError(
                f"Twilio unreachable: {exc!r}", maybe_sent=isinstance(exc, read_timeout)
            )
        return TransientDeliveryError(f"Twilio client error: {exc}")

    def _retry_after(self) -> float | None:
        # The SDK drops response headers from its exceptions; the http client keeps the last
        # response (the attribute every twilio HttpClient has), which carries Retry-After.
        response = getattr(self._client.http_client, "_test_only_last_response", None)
        headers = getattr(response, "headers", None) or {}
        value = next((v for k, v in dict(headers).items() if k.lower() == "retry-after"), None)
        return parse_retry_after(value) if value is not None else None


def translate_api_error(
    status: int, code: int | None, text: str, retry_after: float | None
) -> ChannelError:
    """Map an HTTP status and a Twilio error code to the channels error tree."""
    detail = f"Twilio {status} (code {code}): {text}"
    if status in (401, 403) or code in CONFIGURATION_CODES:
        return ConfigurationError(detail)
    if status == 429:
        return TransientDeliveryError(detail, retry_after=retry_after)
    if status >= 500 or status < 400:
        return TransientDeliveryError(detail)
    if code in SUPPRESS_CODES:
        return PermanentDeliveryError(
            f"{detail} ({SUPPRESS_CODES[code]})", code=str(code), suppress=True
        )
    return PermanentDeliveryError(detail, code=str(code or status), suppress=False)


def parse_retry_after(value: str) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if unreadable."""
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


TWILIO_API = "https://api.twilio.com"


class KeepAliveHttpClient(HttpClient):  # type: ignore[misc]
    """The SDK's HTTP interface on one urllib3 keep-alive connection (the dispatcher holds a
    channel, so one of these, per thread).

    Why not the SDK's requests-based client: per message, requests walked every environment
    variable twice for proxy settings and ran a dozen runtime protocol checks, about half of
    the CPU an SMS cost the worker. The environment (proxies, CA bundle) is read once here."""

    def __init__(self, *, api_base: str, timeout: float) -> None:
        super().__init__(logging.getLogger("twilio.http_client"), is_async=False, timeout=timeout)
        options: dict[str, Any] = {
            "maxsize": 1,  # one connection, reused
            "retries": False,  # a POST is never repeated behind the dispatcher's back
            "timeout": urllib3.Timeout(connect=timeout, read=timeout),
            # The CA bundle requests would use (certifi's), unless the operator names one.
            "ca_certs": os.environ.get("REQUESTS_CA_BUNDLE") or certs.where(),  # type: ignore[attr-defined]
        }
        parts = urlsplit(api_base)
        proxy = get_environ_proxies(api_base).get(parts.scheme)
        self._pool = (
            urllib3.ProxyManager(proxy, **options) if proxy else urllib3.PoolManager(**options)
        )
        # The API host's own pool, taken once: the manager would parse each URL and look its
        # pool up again per message. Through a proxy, the manager builds what the proxy needs.
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._api = None if proxy else self._pool.connection_from_url(api_base)
        self._timeout = urllib3.Timeout(connect=timeout, read=timeout)
        self._auth: tuple[tuple[str, str] | None, dict[str, str]] = (None, {})

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        sent = dict(headers or {}) | self._auth_header(auth)
        if params:
            url = f"{url}?{urlencode(_pairs(params), doseq=True)}"
        body = urlencode(_pairs(data), doseq=True) if data else None
        if body is not None:
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        wait = self._timeout if timeout is None else urllib3.Timeout(connect=timeout, read=timeout)
        if self._api is not None and url.startswith(f"{self._origin}/"):
            answer = self._api.urlopen(
                method.upper(), url[len(self._origin) :], body=body, headers=sent,
                redirect=allow_redirects, retries=False, timeout=wait,
            )  # fmt: skip
        else:
            answer = self._pool.request(
                method.upper(), url, body=body, headers=sent, redirect=allow_redirects,
                timeout=wait,
            )  # fmt: skip
        response = Response(answer.status, answer.data.decode("utf-8"), dict(answer.headers))
        self._test_only_last_response = response  # read for Retry-After, as the SDK's is
        return response

    def _auth_header(self, auth: tuple[str, str] | None) -> dict[str, str]:
        if not auth:
            return {}
        if self._auth[0] != auth:  # encoded once, not per message
            self._auth = (auth, urllib3.make_headers(basic_auth=f"{auth[0]}:{auth[1]}"))
        return self._auth[1]

    def close(self) -> None:
        self._pool.clear()


def _pairs(values: dict[str, object]) -> list[tuple[str, object]]:
    """Form fields as requests encodes them: lists repeat the field, None leaves it out."""
    pairs = []
    for name, value in values.items():
        for one in value if isinstance(value, list | tuple) else [value]:
            if one is not None:
                pairs.append((name, one))
    return pairs


def _point_at(client: Client, api_base: str) -> None:
    # twilio 9.x builds every Messages URL from the Api domain's base_url at request time
    # (Domain.absolute_url), so replacing it redirects the SDK. Region/edge (from the
    # environment) would rewrite the host name and break a mock URL, so they are cleared.
    client.api.base_url = api_base.rstrip("/")
    client.region = None
    client.edge = None
