"""Forwarded headers are believed only from configured proxy addresses."""

from __future__ import annotations

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from web.proxy import TrustedProxyMiddleware, real_client

pytestmark = pytest.mark.anyio


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    host = dict(scope["headers"]).get(b"host", b"").decode()
    body = f"{scope['client'][0]} {scope['scheme']} {host}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


FORWARDED = {
    "X-Forwarded-For": "203.0.113.7, 10.0.0.3",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "salonpost.example.com",
}


async def seen(peer: str, trusted: list[str], headers: dict[str, str]) -> str:
    app = TrustedProxyMiddleware(echo, trusted_proxies=trusted)
    transport = httpx.ASGITransport(app=app, client=(peer, 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://internal:8000") as client:
        return (await client.get("/", headers=headers)).text


@pytest.mark.parametrize(
    ("peer", "trusted", "expected"),
    [
        ("10.0.0.2", ["10.0.0.0/24"], "203.0.113.7 https salonpost.example.com"),
        ("10.0.0.2", ["10.0.0.2"], "10.0.0.3 https salonpost.example.com"),
        ("198.51.100.9", ["10.0.0.0/24"], "198.51.100.9 http internal:8000"),
        ("10.0.0.2", [], "10.0.0.2 http internal:8000"),
    ],
    ids=["trusted-network", "trusted-address", "untrusted-peer", "no-proxies-configured"],
)
async def test_forwarded_headers_only_from_trusted_proxies(peer, trusted, expected) -> None:
    assert await seen(peer, trusted, FORWARDED) == expected


async def test_no_forwarded_headers_keeps_the_peer() -> None:
    assert await seen("10.0.0.2", ["10.0.0.2"], {}) == "10.0.0.2 http internal:8000"


async def test_a_client_cannot_hide_behind_a_spoofed_chain() -> None:
    networks = TrustedProxyMiddleware(echo, trusted_proxies=["10.0.0.0/8"]).networks
    # The client sent "X-Forwarded-For: 10.9.9.9" itself; our proxy appended the real address.
    assert real_client("10.0.0.2", "10.9.9.9, 198.51.100.20", networks) == "198.51.100.20"
    assert real_client("10.0.0.2", "garbage, 198.51.100.20", networks) == "198.51.100.20"
