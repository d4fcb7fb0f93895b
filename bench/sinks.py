"""Loopback servers for the sending bench, each in a process of its own, and their ceilings.

    python -m bench.sinks smtp --port P --log FILE     an SMTP server (aiosmtpd) that accepts
                                                        every message at once
    python -m bench.sinks twilio --port P --log FILE   a minimal Twilio-compatible Messages API

Both append ``<unix time> <key>`` to ``--log`` for every accepted message, like the fake
provider, so the bench reads one format: the key is the delivery's (from the Message-ID) for
email, the recipient's number for SMS (Twilio carries no key of ours).

The ceilings are plain client loops against the same servers, measured in the same run: what
the server takes from the simplest client that can talk to it, with nothing of Salonpost around.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import smtplib
import socket
import threading
import time
import uuid
from collections.abc import Sequence
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs

# -- the SMTP sink -----------------------------------------------------------------------------

_KEY = re.compile(rb"^Message-ID: <[^>]*?\.([\w-]+)@", re.MULTILINE | re.IGNORECASE)


class _Accepting:
    """aiosmtpd handler: every message is accepted at once and its key logged."""

    def __init__(self, log_fd: int) -> None:
        self.log_fd = log_fd

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        found = _KEY.search(envelope.content or b"")
        key = found[1].decode() if found else "-"
        os.write(self.log_fd, f"{time.time():.6f} {key}\n".encode())
        return "250 OK"


def serve_smtp(port: int, log: str) -> None:
    from aiosmtpd.smtp import SMTP

    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    handler = _Accepting(fd)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(handler, hostname="sink.local", ident="bench sink"), "127.0.0.1", port
        )
        await server.serve_forever()

    asyncio.run(main())


# -- the Twilio-compatible server --------------------------------------------------------------


# Twilio's own word for a message it has taken (a provider's status, not one of ours).
TWILIO_ACCEPTED = "queued"


def _message_json(form: dict[str, list[str]], account: str) -> bytes:
    sid = "SM" + uuid.uuid4().hex
    now = formatdate(usegmt=True)
    first = {name: values[0] for name, values in form.items()}
    return json.dumps(
        {"sid": sid, "account_sid": account, "status": TWILIO_ACCEPTED, "to": first.get("To"),
         "from": first.get("From"), "messaging_service_sid": first.get("MessagingServiceSid"),
         "body": first.get("Body"), "num_segments": "1", "direction": "outbound-api",
         "date_created": now, "date_updated": now, "date_sent": None, "price": None,
         "error_code": None, "error_message": None, "api_version": "2010-04-01",
         "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json"}
    ).encode()  # fmt: skip


class _TwilioProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive: POST .../Messages.json answers 201 with a Message resource."""

    def __init__(self, log_fd: int) -> None:
        self.log_fd = log_fd
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self._one_request():
            pass

    def _one_request(self) -> bool:
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return False
        head = self.buffer[:head_end].decode("latin-1")
        length = 0
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if len(self.buffer) < head_end + 4 + length:
            return False
        body = self.buffer[head_end + 4 : head_end + 4 + length]
        self.buffer = self.buffer[head_end + 4 + length :]
        self._answer(head.split(" ", 2)[1], body)
        return True

    def _answer(self, path: str, body: bytes) -> None:
        assert self.transport is not None
        match = re.search(r"/Accounts/([^/]+)/Messages\.json$", path)
        if match is None:
            payload, status = b'{"code": 20404, "message": "not found", "status": 404}', "404"
        else:
            form = parse_qs(body.decode())
            payload, status = _message_json(form, match[1]), "201"
            to = form.get("To", ["-"])[0]
            os.write(self.log_fd, f"{time.time():.6f} {to}\n".encode())
        self.transport.write(
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )


def serve_twilio(port: int, log: str) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _TwilioProtocol(fd), "127.0.0.1", port)
        await server.serve_forever()

    asyncio.run(main())


# -- the ceilings: plain client loops ----------------------------------------------------------


def _in_threads(connections: int, messages: int, loop: Any) -> float:
    """Messages per second of `connections` threads, each running `loop(count)`."""
    share = [messages // connections + (1 if i < messages % connections else 0)
             for i in range(connections)]  # fmt: skip
    threads = [threading.Thread(target=loop, args=(count,)) for count in share]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return messages / (time.perf_counter() - started)


def smtp_ceiling(port: int, *, connections: int, messages: int, raw: bytes) -> float:
    """smtplib's sendmail of one ready message, over `connections` reused connections."""

    def loop(count: int) -> None:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for _ in range(count):
                smtp.sendmail("bench@salon.example", ["ceiling@example.com"], raw)

    return _in_threads(connections, messages, loop)


def twilio_ceiling(port: int, *, connections: int, messages: int) -> float:
    """One ready POST after the other per keep-alive connection, read to the end of each answer."""
    body = b"To=%2B4917600000000&From=%2B4915100000000&Body=Hallo+Anna"
    request = (
        b"POST /2010-04-01/Accounts/ACbench/Messages.json HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )

    def loop(count: int) -> None:
        with socket.create_connection(("127.0.0.1", port)) as conn:
            reader = conn.makefile("rb")
            for _ in range(count):
                conn.sendall(request)
                length = 0
                while (line := reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                reader.read(length)

    return _in_threads(connections, messages, loop)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sinks")
    parser.add_argument("kind", choices=("smtp", "twilio"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args(argv)
    (serve_smtp if args.kind == "smtp" else serve_twilio)(args.port, args.log)


if __name__ == "__main__":
    main()
