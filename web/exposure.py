"""The development secret and pepper are public: they may only be used where nobody else reaches.

``SECRET_KEY`` signs staff session cookies and unsubscribe links, ``PIN_PEPPER`` hardens the
staff PIN hashes; their development values are in the source. ``ENVIRONMENT`` defaults to
``development``, so it cannot be what decides: the address does. With either development value
- the web app serves only on a loopback address: ``salonpost serve`` and ``uvicorn
  web.app:create_app --factory`` refuse to start on any other (``0.0.0.0``, ``::``, a LAN
  address, a name that resolves to one, a unix socket or an inherited socket), and so does any
  server whose ``BASE_URL`` is not a loopback one (a reverse proxy in front means strangers);
  under other servers, the app answers only requests that arrived on a loopback address
  (:mod:`web.loopback`);
- a worker refuses to start when it would sign links to a ``BASE_URL`` that is not loopback
  (:func:`dispatcher.runtime.refuse_public_links`).
Loopback with the development values stays allowed: that is the demo.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from settings import (
    DEVELOPMENT_PIN_PEPPER,
    DEVELOPMENT_SECRET,
    GENERATE_SECRET,
    Settings,
    StartRefused,
)
from templates.links import is_loopback_ip, url_is_loopback
from templates.texts import text

Resolver = Callable[[str], Sequence[str]]


def _resolve(host: str) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)]


def bind_is_loopback(host: str, *, resolve: Resolver = _resolve) -> bool:
    """True if a server bound to ``host`` listens on loopback addresses only.

    A name counts by what it resolves to (the server binds every address it resolves to); a
    name that does not resolve is not known to be loopback.
    """
    host = host.strip()
    if not host or host.startswith(("unix:", "fd:")):
        return False  # "" binds every interface; a socket file or descriptor is not an address
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        pass
    else:
        return is_loopback_ip(host)
    try:
        addresses = resolve(host)
    except (OSError, UnicodeError):
        return False
    return bool(addresses) and all(is_loopback_ip(address) for address in addresses)


def development_values(settings: Settings, *, pepper: bool = True) -> list[str]:
    """The settings still at their public development value (the pepper only if it is used)."""
    found = []
    if settings.secret_key == DEVELOPMENT_SECRET:
        found.append("SALONPOST_SECRET_KEY")
    if pepper and settings.pin_pepper == DEVELOPMENT_PIN_PEPPER:
        found.append("SALONPOST_PIN_PEPPER")
    return found


def _refusal(settings: Settings, names: list[str], where: str) -> StartRefused:
    values = " / ".join(names)
    return StartRefused(
        text("cli.dev_secret_exposed", settings.language, names=values, where=where)
        + " "
        + text("cli.generate_secret", settings.language, command=GENERATE_SECRET)
    )


def refuse_exposed_web(
    settings: Settings, *, bind: str | None, resolve: Resolver = _resolve
) -> None:
    """Raise :class:`StartRefused` if the web app would serve a development value to others.

    ``bind``: the address the server listens on, None when not known (then the app answers
    loopback requests only, see :mod:`web.loopback`).
    """
    names = development_values(settings)
    if not names:
        return
    if bind is not None and not bind_is_loopback(bind, resolve=resolve):
        raise _refusal(settings, names, bind or "0.0.0.0")
    if not url_is_loopback(settings.base_url):
        raise _refusal(settings, names, f"SALONPOST_BASE_URL={settings.base_url}")


def uvicorn_bind(argv: Sequence[str] | None = None) -> str | None:
    """Where ``uvicorn ...`` (the command in ``argv``) listens; None when not run by it.

    Read with uvicorn's own option parser, so ``--host=::``, ``UVICORN_HOST`` and the default
    (127.0.0.1) count as uvicorn counts them; its worker processes see the same arguments.
    A unix socket or an inherited file descriptor is reported as ``unix:PATH`` / ``fd:N``:
    neither is loopback (a proxy in front of them serves strangers).
    """
    argv = list(sys.argv if argv is None else argv)
    program = Path(argv[0]) if argv else Path()
    if program.name != "uvicorn" and program.parent.name != "uvicorn":
        return None
    from uvicorn import main as uvicorn_command

    params = uvicorn_command.make_context("uvicorn", argv[1:], resilient_parsing=True).params
    if params.get("uds"):
        return f"unix:{params['uds']}"
    if params.get("fd") is not None:
        return f"fd:{params['fd']}"
    return str(params.get("host") or "")
