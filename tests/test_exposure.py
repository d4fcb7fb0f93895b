"""The public development secret and pepper serve only on loopback, whatever ENVIRONMENT says.

Issue #14.3.

The family of addresses: every interface (``0.0.0.0``, ``::``, ""), a LAN address (also
IPv4-mapped), a name that resolves to one (or does not resolve), a unix socket or inherited
descriptor, and a public ``BASE_URL`` in front of a loopback server. Each is refused with the
development ``SECRET_KEY`` and with the development ``PIN_PEPPER``; loopback is the demo and
stays allowed; real secrets serve anywhere.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from dramatiq import Worker

from dispatcher.runtime import refuse_public_links
from settings import (
    DEVELOPMENT_PIN_PEPPER,
    DEVELOPMENT_SECRET,
    GENERATE_SECRET,
    Settings,
    StartRefused,
)
from web.exposure import bind_is_loopback, refuse_exposed_web, uvicorn_bind

BIN = Path(sys.executable).parent
REAL_SECRET = "a-real-secret-" + "s" * 30
REAL_PEPPER = "a-real-pepper-" + "p" * 30
EXPOSED = ["0.0.0.0", "::", "", "192.168.1.20", "10.0.0.5", "::ffff:192.168.1.20", "fe80::1%eth0"]
LOOPBACK = ["127.0.0.1", "127.0.1.1", "::1", "::ffff:127.0.0.1", "localhost"]
# (secret, pepper): each development value on its own is enough to refuse.
DEVELOPMENT = {
    "secret": (DEVELOPMENT_SECRET, REAL_PEPPER),
    "pepper": (REAL_SECRET, DEVELOPMENT_PIN_PEPPER),
    "both": (DEVELOPMENT_SECRET, DEVELOPMENT_PIN_PEPPER),
}


def _settings(value: str, **extra: object) -> Settings:
    secret, pepper = DEVELOPMENT[value]
    return Settings(secret_key=secret, pin_pepper=pepper, **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["secret", "pepper", "both"])
@pytest.mark.parametrize("host", EXPOSED)
def test_every_non_loopback_address_is_refused_with_a_development_value(
    host: str, value: str
) -> None:
    with pytest.raises(StartRefused) as refused:
        refuse_exposed_web(_settings(value), bind=host)
    message = str(refused.value)
    assert "\n" not in message and GENERATE_SECRET in message
    named = {
        "secret": ["SECRET_KEY"],
        "pepper": ["PIN_PEPPER"],
        "both": ["SECRET_KEY", "PIN_PEPPER"],
    }
    assert all(f"SALONPOST_{name}" in message for name in named[value])


@pytest.mark.parametrize("environment", ["development", "test", "production"])
def test_the_environment_does_not_decide(environment: str) -> None:
    """The settings accept the development pepper in every environment (it is checked where
    PINs are used); the address refuses it all the same."""
    settings = _settings("pepper", environment=environment, base_url="https://post.salon.example")
    with pytest.raises(StartRefused, match="SALONPOST_PIN_PEPPER"):
        refuse_exposed_web(settings, bind="0.0.0.0")


@pytest.mark.parametrize(
    ("resolved", "loopback"),
    [
        (["192.168.1.20"], False),
        (["127.0.0.1", "192.168.1.20"], False),  # a server binds every address of the name
        (["127.0.1.1"], True),  # Debian's own hostname line in /etc/hosts
        (["127.0.0.1", "::1"], True),
        ([], False),
    ],
)
def test_a_hostname_counts_by_every_address_it_resolves_to(
    resolved: list[str], loopback: bool
) -> None:
    assert bind_is_loopback("salon-pc.lan", resolve=lambda host: resolved) is loopback
    settings = _settings("both")
    if loopback:
        refuse_exposed_web(settings, bind="salon-pc.lan", resolve=lambda host: resolved)
    else:
        with pytest.raises(StartRefused, match=r"salon-pc\.lan"):
            refuse_exposed_web(settings, bind="salon-pc.lan", resolve=lambda host: resolved)


def test_real_names_are_resolved_and_an_unknown_one_is_refused() -> None:
    assert bind_is_loopback("localhost")
    assert not bind_is_loopback("no-such-host.invalid")  # RFC 6761: never resolves
    with pytest.raises(StartRefused):
        refuse_exposed_web(_settings("both"), bind="no-such-host.invalid")


@pytest.mark.parametrize("bind", ["unix:/run/salonpost.sock", "fd:3"])
def test_a_socket_file_or_inherited_descriptor_is_not_loopback(bind: str) -> None:
    with pytest.raises(StartRefused):
        refuse_exposed_web(_settings("secret"), bind=bind)


@pytest.mark.parametrize("host", LOOPBACK)
def test_loopback_with_the_development_values_stays_allowed(host: str) -> None:
    refuse_exposed_web(_settings("both"), bind=host)  # the demo


@pytest.mark.parametrize("host", EXPOSED)
def test_real_secrets_serve_on_any_address(host: str) -> None:
    settings = Settings(
        secret_key=REAL_SECRET, pin_pepper=REAL_PEPPER, base_url="https://post.salon.example"
    )
    refuse_exposed_web(settings, bind=host)


@pytest.mark.parametrize("base_url", ["https://post.salon.example", "http://192.168.1.20:8000"])
def test_a_public_base_url_is_refused_even_behind_a_loopback_bind(base_url: str) -> None:
    """A reverse proxy on the same machine serves strangers from 127.0.0.1."""
    with pytest.raises(StartRefused, match="SALONPOST_BASE_URL"):
        refuse_exposed_web(_settings("pepper", base_url=base_url), bind="127.0.0.1")
    with pytest.raises(StartRefused, match="SALONPOST_BASE_URL"):
        refuse_exposed_web(_settings("pepper", base_url=base_url), bind=None)


def test_the_refusal_speaks_german() -> None:
    with pytest.raises(StartRefused, match=r"Start verweigert auf 0\.0\.0\.0"):
        refuse_exposed_web(_settings("secret", language="de"), bind="0.0.0.0")


@pytest.mark.parametrize(
    ("argv", "bind"),
    [
        (["/venv/bin/uvicorn", "web.app:create_app", "--factory"], "127.0.0.1"),
        (["/venv/bin/uvicorn", "web.app:create_app", "--factory", "--host", "0.0.0.0"], "0.0.0.0"),
        (["/usr/lib/python3/uvicorn/__main__.py", "--host=::", "web.app:create_app"], "::"),
        (["/venv/bin/uvicorn", "web.app:create_app", "--uds", "/run/s.sock"], "unix:/run/s.sock"),
        (["/venv/bin/uvicorn", "web.app:create_app", "--fd", "3"], "fd:3"),
        (["/venv/bin/salonpost", "serve", "--host", "0.0.0.0"], None),
        (["/venv/bin/gunicorn", "-b", "0.0.0.0:80"], None),
    ],
)
def test_uvicorns_own_options_say_where_it_listens(argv: list[str], bind: str | None) -> None:
    assert uvicorn_bind(argv) == bind


def test_uvicorn_host_from_its_environment_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UVICORN_HOST", "0.0.0.0")
    assert uvicorn_bind(["/venv/bin/uvicorn", "web.app:create_app", "--factory"]) == "0.0.0.0"


# -- the real programs ----------------------------------------------------------------------------


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    """A clean environment: no SALONPOST_/UVICORN_ values of the caller, a SQLite database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SALONPOST_", "UVICORN_"))}
    env["SALONPOST_DATABASE_URL"] = f"sqlite:///{tmp_path / 'salonpost.db'}"
    return {**env, **values}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _refused(command: list[str], env: dict[str, str]) -> str:
    """Run ``command``; it must exit 1 within the timeout; its stderr."""
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, (done.stdout, done.stderr)
    return done.stderr


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20"])
def test_salonpost_serve_refuses_like_the_procfile_runs_it(tmp_path: Path, host: str) -> None:
    port = _free_port()
    stderr = _refused(
        [str(BIN / "salonpost"), "serve", "--host", host, "--port", str(port)], _env(tmp_path)
    )
    assert stderr.strip().count("\n") == 0, stderr  # one line, no traceback
    assert f"Refusing to serve on {host} " in stderr and GENERATE_SECRET in stderr


@pytest.mark.parametrize("environment", ["development", "test"])
def test_uvicorn_with_the_factory_refuses_too(tmp_path: Path, environment: str) -> None:
    env = _env(tmp_path, SALONPOST_ENVIRONMENT=environment, SALONPOST_SECRET_KEY=REAL_SECRET)
    command = [str(BIN / "uvicorn"), "web.app:create_app", "--factory", "--host", "0.0.0.0"]
    stderr = _refused([*command, "--port", str(_free_port())], env)
    assert "Refusing to serve on 0.0.0.0 with the development SALONPOST_PIN_PEPPER" in stderr
    assert "Traceback" not in stderr


@pytest.fixture
def loopback_server(tmp_path: Path) -> Iterator[int]:
    """The demo: uvicorn on 127.0.0.1 with both development values."""
    subprocess.run([str(BIN / "salonpost"), "db", "upgrade"], env=_env(tmp_path), check=True)
    port = _free_port()
    command = [str(BIN / "uvicorn"), "web.app:create_app", "--factory", "--port", str(port)]
    process = subprocess.Popen(command, env=_env(tmp_path))
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "uvicorn exited"
            assert time.monotonic() < deadline, "uvicorn did not start"
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_demo_serves_on_loopback_with_the_development_values(loopback_server: int) -> None:
    answer = httpx.get(f"http://127.0.0.1:{loopback_server}/healthz")
    assert answer.status_code == 200


def test_a_worker_refuses_to_sign_links_to_a_public_base_url(
    tmp_path: Path, redis_url: str
) -> None:
    env = _env(
        tmp_path, SALONPOST_REDIS_URL=redis_url, SALONPOST_BASE_URL="https://post.salon.example"
    )
    command = [str(BIN / "dramatiq"), "dispatcher.actors", "--processes", "1", "--threads", "1"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "Refusing to sign links to SALONPOST_BASE_URL=https://post.salon.example" in done.stderr
    assert GENERATE_SECRET in done.stderr


def test_every_worker_boot_checks_its_links() -> None:
    """The in-process worker of the embedded default too (campaign queue, the staff pages)."""
    from dispatcher.broker import build_broker
    from dispatcher.runtime import Runtime, configure

    broker = build_broker(None)
    try:
        configure(Runtime("sqlite://", "https://post.salon.example", DEVELOPMENT_SECRET))
        with pytest.raises(StartRefused):
            Worker(broker, worker_threads=1).start()
        configure(Runtime("sqlite://", "http://127.0.0.1:8000", DEVELOPMENT_SECRET))
        worker = Worker(broker, worker_threads=1)
        worker.start()
        worker.stop()
        configure(Runtime("sqlite://", "https://post.salon.example", REAL_SECRET))
        worker = Worker(broker, worker_threads=1)
        worker.start()
        worker.stop()
    finally:
        configure(None)


def test_links_stay_allowed_for_this_machine_or_a_real_secret() -> None:
    refuse_public_links(secret_key=DEVELOPMENT_SECRET, base_url="http://localhost:8000")
    refuse_public_links(secret_key=DEVELOPMENT_SECRET, base_url="http://[::1]:8000")
    refuse_public_links(secret_key=REAL_SECRET, base_url="https://post.salon.example")
    with pytest.raises(StartRefused):
        refuse_public_links(
            secret_key=DEVELOPMENT_SECRET, base_url="http://salon.localhost.example"
        )


def test_queueing_refuses_before_anything_is_queued(
    session, salon, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:  # type: ignore[no-untyped-def]
    """``campaign queue`` sends in-process on the embedded default: it refuses first."""
    from typer.testing import CliRunner

    import cli
    from db.models import Campaign
    from settings import get_settings

    campaign = Campaign(
        salon_id=salon.id, name="Herbst", sms_body="Abmelden: {{ unsubscribe_url }}"
    )
    session.add(campaign)
    session.commit()
    monkeypatch.setenv("SALONPOST_DATABASE_URL", database_url)
    monkeypatch.setenv("SALONPOST_BASE_URL", "https://post.salon.example")
    for name in ("SALONPOST_SECRET_KEY", "SALONPOST_REDIS_URL", "SALONPOST_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["campaign", "queue", str(campaign.id)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert (
        "Refusing to sign links to SALONPOST_BASE_URL=https://post.salon.example" in result.output
    )
    session.expire_all()
    assert session.get(Campaign, campaign.id).status == "draft"
