"""The Twilio channel's own HTTP client: the SDK's requests, over one keep-alive connection."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs

import pytest

from bench.sinks import _TwilioProtocol
from channels.base import Message
from channels.errors import TransientDeliveryError
from channels.sms import TwilioSmsChannel
from tests.channels.conftest import free_port


class _Counting(_TwilioProtocol):
    connections: ClassVar[int] = 0
    bodies: ClassVar[list[bytes]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        type(self).connections += 1
        super().connection_made(transport)

    def _answer(self, path: str, body: bytes) -> None:
        type(self).bodies.append(body)
        super()._answer(path, body)


@pytest.fixture
def twilio_api(tmp_path: Path) -> Iterator[str]:
    """A local Twilio-compatible Messages API (the bench's), counting connections."""
    _Counting.connections, _Counting.bodies = 0, []
    port, loop = free_port(), asyncio.new_event_loop()
    log = (tmp_path / "log").open("ab")
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(
        loop.create_server(lambda: _Counting(log.fileno()), "127.0.0.1", port), loop
    ).result(5)
    yield f"http://127.0.0.1:{port}"
    loop.call_soon_threadsafe(server.close)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()
    log.close()


def sms(n: int) -> Message:
    return Message(
        "sms",
        f"+49176{n:08d}",
        f"Hallo Kundin {n}, 20% für dich: https://s.example/u/x",
        f"c1-d{n}",
    )


def test_every_message_of_a_thread_goes_over_one_keep_alive_connection(twilio_api: str) -> None:
    channel = TwilioSmsChannel(
        account_sid="AC1", auth_token="t", from_="+4915100000000", api_base=twilio_api,
        status_callback="https://p.example/cb",
    )  # fmt: skip
    receipts = [channel.send(sms(n)) for n in range(25)]
    channel.close()
    assert all(r.provider_id.startswith("SM") and r.status == "queued" for r in receipts)
    assert _Counting.connections == 1 and len(_Counting.bodies) == 25
    form = parse_qs(_Counting.bodies[3].decode())
    assert form == {"To": ["+4917600000003"], "Body": [sms(3).body], "From": ["+4915100000000"],
                    "StatusCallback": ["https://p.example/cb"]}  # fmt: skip


def test_a_server_that_is_not_there_is_a_transient_error_that_sent_nothing() -> None:
    channel = TwilioSmsChannel(account_sid="AC1", auth_token="t", from_="+4915100000000",
                               api_base=f"http://127.0.0.1:{free_port()}", timeout=2)  # fmt: skip
    with pytest.raises(TransientDeliveryError) as caught:
        channel.send(sms(1))
    assert caught.value.maybe_sent is False
