"""Under a server that does not say where it listens, the development values answer loopback only.

The local address of each connection (``scope["server"]``, set by the server from its socket)
decides: another address, or a unix socket, gets 503; loopback gets the app.
"""

from __future__ import annotations

import httpx
import pytest

from settings import DEVELOPMENT_PIN_PEPPER, DEVELOPMENT_SECRET, Settings
from web.app import create_app
from web.loopback import LoopbackOnlyMiddleware

pytestmark = pytest.mark.anyio

REAL_SECRET = "a-real-secret-" + "s" * 30


async def _get(app, server_url: str, **headers: str) -> httpx.Response:  # type: ignore[no-untyped-def]
    # httpx's ASGI transport reports the URL's host and port as the server's local address.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=server_url) as client:
        return await client.get("/healthz", headers=headers)


@pytest.mark.parametrize(
    "server_url",
    ["http://192.168.1.20:8000", "http://10.0.0.5", "http://[::ffff:192.168.1.20]:8000",
     "http://[fe80::1]:8000", "http://salon-pc.lan:8000"],
)  # fmt: skip
@pytest.mark.parametrize("pepper", [DEVELOPMENT_PIN_PEPPER, "a-real-pepper-" + "p" * 30])
async def test_a_request_that_arrived_elsewhere_is_refused(
    sqlite_url: str, server_url: str, pepper: str
) -> None:
    secret = DEVELOPMENT_SECRET if pepper != DEVELOPMENT_PIN_PEPPER else REAL_SECRET
    app = create_app(Settings(database_url=sqlite_url, secret_key=secret, pin_pepper=pepper))
    answer = await _get(app, server_url)
    assert answer.status_code == 503
    assert "development secret" in answer.text
    german = await _get(app, server_url, **{"Accept-Language": "de"})
    assert "Entwicklungsschlüssel" in german.text


@pytest.mark.parametrize(
    "server_url", ["http://127.0.0.1:8000", "http://[::1]:8000", "http://[::ffff:127.0.0.1]:8000"]
)
async def test_a_loopback_request_gets_the_app(sqlite_url: str, server_url: str) -> None:
    app = create_app(Settings(database_url=sqlite_url))  # both development values: the demo
    assert (await _get(app, server_url)).status_code == 200


async def test_real_values_answer_on_every_address(sqlite_url: str) -> None:
    settings = Settings(
        database_url=sqlite_url, secret_key=REAL_SECRET, pin_pepper="a-real-pepper-" + "p" * 30
    )
    assert (await _get(create_app(settings), "http://192.168.1.20:8000")).status_code == 200


@pytest.mark.parametrize("server", [("/run/salonpost.sock", None), None])
async def test_a_unix_socket_or_unknown_address_is_refused(server: object) -> None:
    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        raise AssertionError("must not be served")

    sent: list[dict[str, object]] = []

    async def send(message):  # type: ignore[no-untyped-def]
        sent.append(message)

    scope = {"type": "http", "path": "/", "headers": [], "server": server}
    await LoopbackOnlyMiddleware(app, names=["SALONPOST_SECRET_KEY"])(scope, None, send)  # type: ignore[arg-type]
    assert sent[0]["status"] == 503
