"""Every route has a body limit, enforced before the body is read (#14.4).

The family: any route, any content type, a body announced by ``Content-Length`` or streamed
chunked (or both, with a lying length). The app may pull at most its route's limit plus one
chunk from the wire; a declared oversize body is not pulled at all.
"""

from __future__ import annotations

import os
import select
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from web_support import AUTH_TOKEN, BASE_URL, PEPPER, SECRET

from db.models import Client, Salon
from settings import Settings
from web.app import create_app
from web.body_limit import DEFAULT_LIMIT, KB, BodyLimitMiddleware, Rule

pytestmark = pytest.mark.anyio

CHUNK = 64 * KB
MB = 1024 * KB
HUGE = 200 * MB

# (path, its limit, content type): one member of each route family, in a type it reads.
ROUTES = [
    ("/u/any-token", 4 * KB, "application/x-www-form-urlencoded"),
    ("/u/any-token", 4 * KB, "multipart/form-data; boundary=x"),
    ("/webhooks/twilio/sms/anna", 64 * KB, "application/x-www-form-urlencoded"),
    ("/webhooks/twilio/status", 64 * KB, "multipart/form-data; boundary=x"),
    ("/staff/login", 64 * KB, "application/x-www-form-urlencoded"),
    ("/staff/logout", 64 * KB, "multipart/form-data; boundary=x"),
    ("/staff/campaigns/new", 1024 * KB, "application/x-www-form-urlencoded"),
    ("/staff/campaigns/7/edit", 1024 * KB, "application/x-www-form-urlencoded"),
    ("/ops/login", DEFAULT_LIMIT, "application/x-www-form-urlencoded"),
]
# Types no route parses (they are never read), and a route that reads nothing.
UNREAD = [
    ("/webhooks/twilio/status", 64 * KB, "application/json"),
    ("/staff/clients/new", 64 * KB, "text/plain"),
    ("/healthz", DEFAULT_LIMIT, "application/octet-stream"),
]


MULTIPART_HEAD = b'--x\r\nContent-Disposition: form-data; name="field"\r\n\r\n'


class Upload:
    """A body of ``size`` bytes produced lazily, counting what the server pulled."""

    def __init__(self, size: int, *, head: bytes = b"") -> None:
        self.size = size
        self.head = head
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.head:  # one open multipart field, so that the parser keeps reading
            self.pulled += len(self.head)
            yield self.head
        while self.pulled < self.size:
            chunk = b"a" * min(CHUNK, self.size - self.pulled)
            self.pulled += len(chunk)
            yield chunk


def _app(database_url: str):  # type: ignore[no-untyped-def]
    settings = Settings(
        environment="test",
        database_url=database_url,
        secret_key=SECRET,
        pin_pepper=PEPPER,
        base_url=BASE_URL,
        twilio_auth_token=AUTH_TOKEN,
    )
    return create_app(settings)


@pytest.fixture
def app(sqlite_url: str):  # type: ignore[no-untyped-def]
    """The limit does not depend on the database: SQLite is enough."""
    return _app(sqlite_url)


async def _post(app, path: str, upload: Upload, headers: dict[str, str]) -> httpx.Response:  # type: ignore[no-untyped-def]
    # A signature header, so that the Twilio routes read the body before checking it.
    headers = {"X-Twilio-Signature": "unchecked", **headers}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        return await client.post(path, content=upload, headers=headers)


@pytest.mark.parametrize(("path", "limit", "content_type"), ROUTES)
async def test_a_streamed_body_over_the_limit_is_cut_off_after_one_chunk(
    app, path: str, limit: int, content_type: str
) -> None:
    upload = Upload(HUGE, head=MULTIPART_HEAD if "multipart" in content_type else b"")
    answer = await _post(app, path, upload, {"Content-Type": content_type})
    assert answer.status_code == 413
    assert f"at most {limit // KB} KB" in answer.text
    assert answer.headers["connection"] == "close"
    assert upload.pulled <= limit + CHUNK


@pytest.mark.parametrize(("path", "limit", "content_type"), ROUTES + UNREAD)
async def test_an_announced_body_over_the_limit_is_not_read_at_all(
    app, path: str, limit: int, content_type: str
) -> None:
    upload = Upload(HUGE)
    headers = {"Content-Type": content_type, "Content-Length": str(HUGE)}
    answer = await _post(app, path, upload, headers)
    assert answer.status_code == 413
    assert upload.pulled == 0


async def test_a_lying_content_length_does_not_lift_the_limit(app) -> None:
    upload = Upload(HUGE)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": "26"}
    answer = await _post(app, "/u/any-token", upload, headers)
    assert answer.status_code == 413
    assert upload.pulled <= 4 * KB + CHUNK


async def test_a_malformed_content_length_is_refused_unread() -> None:
    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        raise AssertionError("the app must not be called")

    sent: list[dict[str, object]] = []

    async def send(message):  # type: ignore[no-untyped-def]
        sent.append(message)

    async def receive():  # type: ignore[no-untyped-def]
        raise AssertionError("the body must not be read")

    for values in ([b"-1"], [b"1e9"], [b"12", b"13"]):
        headers = [(b"content-length", v) for v in values]
        scope = {"type": "http", "path": "/u/x", "headers": headers}
        sent.clear()
        await BodyLimitMiddleware(app)(scope, receive, send)
        assert sent[0]["status"] == 400


async def test_the_refusal_speaks_german_too(app) -> None:
    headers = {"Content-Length": str(HUGE), "Accept-Language": "de-DE,de;q=0.9"}
    answer = await _post(app, "/u/any-token", Upload(HUGE), headers)
    assert answer.status_code == 413 and "Anfrage zu groß: hier höchstens 4 KB" in answer.text


async def test_bodies_within_the_limit_reach_the_route(
    database_url: str, salon: Salon, anna: Client, token_for
) -> None:
    app = _app(database_url)
    one_click = b"List-Unsubscribe=One-Click"
    path = f"/u/{token_for(salon.id, anna.id, 'email')}"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        answer = await client.post(path, content=one_click, headers=headers)
        assert (answer.status_code, answer.text) == (200, "unsubscribed")
        # A 600 KB campaign form is over every other staff limit but within the editor's:
        # the route answers (the signed-out visitor is sent to sign in), not the limit.
        big_form = b"sms_body=" + b"x" * (600 * KB)
        answer = await client.post("/staff/campaigns/new", content=big_form, headers=headers)
        assert answer.status_code != 413


async def test_a_route_of_its_own_gets_its_own_limit() -> None:
    async def echo(scope, receive, send):  # type: ignore[no-untyped-def]
        size = 0
        while True:
            message = await receive()
            size += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(size).encode()})

    limited = BodyLimitMiddleware(echo, rules=[Rule(r"/upload", 2 * MB)], default=KB)
    transport = httpx.ASGITransport(app=limited)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        assert (await client.post("/upload", content=b"i" * MB)).text == str(MB)
        assert (await client.post("/other", content=b"i" * (KB + 1))).status_code == 413


# -- the real server ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc status")


@pytest.fixture(scope="module")
def server(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[int, int]]:
    """``uvicorn web.app:create_app --factory`` in its own process: (port, pid)."""
    database = tmp_path_factory.mktemp("body-limit") / "salonpost.db"
    shutil.copy(sqlite_template, database)
    port = _free_port()
    env = {
        **os.environ,
        "SALONPOST_DATABASE_URL": f"sqlite:///{database}",
        "SALONPOST_SECRET_KEY": SECRET,
        "SALONPOST_PIN_PEPPER": "body-limit-test-pepper",
    }
    command = [sys.executable, "-m", "uvicorn", "web.app:create_app", "--factory"]
    process = subprocess.Popen([*command, "--port", str(port), "--log-level", "warning"], env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "uvicorn exited"
            assert time.monotonic() < deadline, "uvicorn did not start"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def _upload(port: int, path: str, *, chunked: bool) -> tuple[int, bytes]:
    """Send up to 200 MB as fast as the server takes it, until it answers: (bytes sent, head)."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    head += "Content-Type: application/x-www-form-urlencoded\r\n"
    head += "Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {HUGE}\r\n\r\n"
    chunk = b"a" * CHUNK
    frame = (b"%x\r\n" % CHUNK + chunk + b"\r\n") if chunked else chunk
    sent = 0
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(head.encode())
        sock.setblocking(False)
        while sent < HUGE:
            readable, writable, _ = select.select([sock], [sock], [], 10)
            if readable or not writable:  # answered, or it stopped reading
                break
            try:
                sent += sock.send(frame)
            except (BrokenPipeError, ConnectionResetError):
                break
        sock.settimeout(10)
        return sent, sock.recv(4096)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_the_server_refuses_200_mb_without_reading_it(
    server: tuple[int, int], chunked: bool
) -> None:
    port, pid = server
    before = _peak_rss_kb(pid)
    sent, head = _upload(port, "/u/any-token", chunked=chunked)
    assert head.startswith(b"HTTP/1.1 413 ")
    # Kernel socket buffers take a few MB before the server even looks; the rest is never sent.
    assert sent < 32 * MB
    assert _peak_rss_kb(pid) - before < 32 * 1024
