"""X-Forwarded-For/-Proto/-Host, believed only when the direct peer is a configured proxy.

Anyone can send these headers; only a reverse proxy we run overwrites them honestly. So the
peer address must be in ``trusted_proxies`` (addresses or networks), and in a chain
(``X-Forwarded-For: client, proxy1, proxy2``) the client is the rightmost address that is not a
trusted proxy. Nothing security-relevant is computed from the request's own URL: Twilio
signatures are checked against the configured ``base_url``, so a forged Host header changes
nothing even from a trusted proxy.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(proxies: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in proxies if p.strip())


def _is_trusted(address: str | None, networks: tuple[Network, ...]) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _header(scope: Scope, name: bytes) -> str | None:
    values = [v.decode("latin-1") for k, v in scope["headers"] if k == name]
    return ",".join(values) if values else None


def real_client(peer: str, forwarded_for: str | None, networks: tuple[Network, ...]) -> str:
    """The first address, from the right, that is not one of our proxies."""
    if not _is_trusted(peer, networks) or not forwarded_for:
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, networks):
            return hop
    return hops[0] if hops else peer


class TrustedProxyMiddleware:
    """Rewrite client, scheme and Host from forwarded headers sent by a trusted proxy only."""

    def __init__(self, app: ASGIApp, *, trusted_proxies: Iterable[str]) -> None:
        self.app = app
        self.networks = parse_networks(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.networks:
            scope = self._rewrite(scope)
        await self.app(scope, receive, send)

    def _rewrite(self, scope: Scope) -> Scope:
        client = scope.get("client")
        peer = client[0] if client else None
        if not _is_trusted(peer, self.networks):
            return scope
        assert peer is not None
        scope = dict(scope)
        port = client[1] if client else 0
        scope["client"] = (
            real_client(peer, _header(scope, b"x-forwarded-for"), self.networks),
            port,
        )
        proto = (_header(scope, b"x-forwarded-proto") or "").split(",")[-1].strip().lower()
        if proto in ("http", "https"):
            scope["scheme"] = proto
        host = (_header(scope, b"x-forwarded-host") or "").split(",")[-1].strip()
        if host:
            headers: list[Any] = [(k, v) for k, v in scope["headers"] if k != b"host"]
            scope["headers"] = [*headers, (b"host", host.encode("latin-1"))]
        return scope
