"""The way in (#14.15): the bare address leads a person to the staff sign-in, and ``serve``
prints the sign-in link on the port it actually serves."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from ui_support import sign_in

from db.models import Salon
from settings import Settings
from web.app import serving_lines

BIN = Path(sys.executable).parent


def test_the_bare_address_leads_to_the_staff_sign_in(web: TestClient, anna: Salon) -> None:
    first = web.get("/", follow_redirects=False)
    assert first.status_code == 303
    page = web.get("/")
    assert page.url.path == "/staff/login" and 'name="pin"' in page.text
    assert web.head("/", follow_redirects=False).status_code == 303
    sign_in(web, "anna", "Mara")
    assert web.get("/").url.path == "/staff/campaigns"  # signed in: straight to the work


def test_serve_names_the_port_it_serves_and_warns_when_links_point_elsewhere() -> None:
    settings = Settings(base_url="http://127.0.0.1:8000")
    [same] = serving_lines(settings, host="127.0.0.1", port=8000)
    assert "Staff sign-in: http://127.0.0.1:8000/staff/login" in same
    served, warning = serving_lines(settings, host="127.0.0.1", port=9000)
    assert "http://127.0.0.1:9000/staff/login" in served
    assert (
        "http://127.0.0.1:8000" in warning and "SALONPOST_BASE_URL=http://127.0.0.1:9000" in warning
    )
    [v6] = serving_lines(Settings(base_url="http://[::1]:8000"), host="::1", port=8000)
    assert "http://[::1]:8000/staff/login" in v6
    public = Settings(secret_key="s" * 40, pin_pepper="p" * 40, base_url="https://post.example")
    [behind_proxy] = serving_lines(public, host="0.0.0.0", port=8000)
    assert "http://127.0.0.1:8000/staff/login" in behind_proxy
    german = serving_lines(settings.model_copy(update={"language": "de"}), host="::1", port=9000)
    assert "Anmeldung für Mitarbeitende: http://[::1]:9000/staff/login" in german[0]
    assert german[1].startswith("Hinweis:")


def test_the_printed_link_opens_the_sign_in_of_the_running_server(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALONPOST_")}
    env["SALONPOST_DATABASE_URL"] = f"sqlite:///{tmp_path / 'salonpost.db'}"
    subprocess.run([str(BIN / "salonpost"), "db", "upgrade"], env=env, check=True)
    command = [str(BIN / "salonpost"), "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"Staff sign-in: (\S+)", line)
        assert match, line
        assert match.group(1) == f"http://127.0.0.1:{port}/staff/login"
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None and time.monotonic() < deadline, "serve did not start"
            try:
                page = httpx.get(match.group(1))
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert page.status_code == 200 and 'name="pin"' in page.text
        assert httpx.get(f"http://127.0.0.1:{port}/").headers["location"] == "/staff"
    finally:
        process.terminate()
        process.wait(timeout=10)
