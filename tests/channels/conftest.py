"""Channel test fixtures: an outbox, a real SMTP server (aiosmtpd), Twilio's API mocked by Prism."""

from __future__ import annotations

import base64
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from channels import OutboxChannel

PROJECT_ROOT = Path(__file__).parents[2]

TWILIO_SPEC = (PROJECT_ROOT / "../shared/peers/twilio/twilio_api_v2010.json").resolve()
PRISM_DIR = PROJECT_ROOT / ".cache" / "prism"
PRISM_BIN = PRISM_DIR / "node_modules" / ".bin" / "prism"
PRISM_PACKAGE = "@stoplight/prism-cli@5"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def outbox_channel(tmp_path: Path) -> OutboxChannel:
    return OutboxChannel(
        tmp_path / "outbox", default_sender="Salon Anna <hallo@salon-anna.example>"
    )


# --- SMTP ---------------------------------------------------------------------------------------

# Recipients whose local part starts with one of these get that answer to RCPT TO.
SMTP_REPLIES = {
    "temp-fail": "451 4.3.0 Mailbox temporarily unavailable, try again later",
    "no-such-user": "550 5.1.1 <{}>: Recipient address rejected: User unknown",
    "policy-block": "550 5.7.1 Message rejected by policy",
    "mailbox-full": "552 5.2.2 Mailbox full",
}


@dataclass
class RecordingHandler:
    """aiosmtpd handler: records accepted messages and the sessions (connections) they came on."""

    messages: list[bytes] = field(default_factory=list)
    sessions: list[object] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        for prefix, reply in SMTP_REPLIES.items():
            if address.startswith(prefix):
                return reply.format(address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content)
        if not any(known is session for known in self.sessions):
            self.sessions.append(session)
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: RecordingHandler

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"


@pytest.fixture
def start_smtp_server() -> Iterator[Callable[..., SmtpServer]]:
    """Start aiosmtpd servers with extra Controller options (TLS, AUTH); all stop at teardown."""
    controllers: list[Controller] = []

    def start(**options: object) -> SmtpServer:
        handler, port = RecordingHandler(), free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
        controller.start()
        controllers.append(controller)
        return SmtpServer("127.0.0.1", port, handler)

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def smtp_server(start_smtp_server: Callable[..., SmtpServer]) -> SmtpServer:
    return start_smtp_server()


# --- Twilio API mock (Prism) -------------------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class PrismMock:
    base_url: str
    log_path: Path

    def log_offset(self) -> int:
        return self.log_path.stat().st_size

    def log_since(self, offset: int, *, requests: int = 1, wait: float = 5.0) -> str:
        """Log text written after `offset`, once `requests` requests have been answered."""
        deadline = time.monotonic() + wait
        while True:
            data = self.log_path.read_bytes()[offset:].decode("utf-8", "replace")
            text = ANSI.sub("", data)
            done = text.count("Responding with") + text.count("Request terminated")
            if done >= requests or time.monotonic() > deadline:
                return text
            time.sleep(0.05)


def _install_prism() -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is not installed: cannot run the Twilio contract mock (Prism)")
    result = subprocess.run(
        [npm, "install", "--prefix", str(PRISM_DIR), PRISM_PACKAGE],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0 or not PRISM_BIN.exists():
        pytest.fail(f"npm install {PRISM_PACKAGE} failed:\n{result.stdout}\n{result.stderr}")


def _wait_until_answering(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"Prism exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer (404, 401, ...) means it is listening
        except OSError:
            time.sleep(0.25)
    pytest.fail(f"Prism did not answer within 60 s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrismMock]:
    """Twilio's own OpenAPI description served by Prism, which validates every request."""
    if not TWILIO_SPEC.exists():
        pytest.skip(f"Twilio API description not found at {TWILIO_SPEC} (shared/ not checked out)")
    if not PRISM_BIN.exists():
        _install_prism()
    port = free_port()
    log_path = tmp_path_factory.mktemp("prism") / "prism.log"
    base_url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(PRISM_BIN), "mock", "-h", "127.0.0.1", "-p", str(port), str(TWILIO_SPEC)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_answering(process, base_url + "/2010-04-01/Accounts.json", log_path)
        yield PrismMock(base_url, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- DKIM --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DkimKey:
    private_pem: bytes
    dns_txt: bytes  # the TXT record published at <selector>._domainkey.<domain>


@pytest.fixture(scope="session")
def dkim_key() -> DkimKey:
    pytest.importorskip("dkim", reason="DKIM tests need dkimpy (pip install dkimpy)")
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl is needed to make a DKIM test key")
    private = subprocess.run(
        [openssl, "genrsa", "-traditional", "2048"], capture_output=True, check=True
    ).stdout
    public_der = subprocess.run(
        [openssl, "rsa", "-pubout", "-outform", "DER"],
        input=private,
        capture_output=True,
        check=True,
    ).stdout
    return DkimKey(private, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public_der))
