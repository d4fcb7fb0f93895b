"""Email over SMTP: `SmtpChannel`, plus `compose_email` which the outbox shares.

URLs::

    smtp://user:pass@host:587?tls=starttls   STARTTLS, then AUTH
    smtps://user:pass@host:465               implicit TLS
    smtp://host:25                           plain (credentials need an explicit ?tls=none)

Errors, translated at the boundary (``raise ... from exc``)::

    ChannelError
     ├── DeliveryError
     │    ├── TransientDeliveryError   SMTP 4xx, 421, disconnects, timeouts, refused connections
     │    └── PermanentDeliveryError   SMTP 5xx; code="550"...; suppress=True when the reply says
     │                                 the address does not exist (5.1.x, 5.2.1; without an
     │                                 enhanced code: 550/551/553 to RCPT TO)
     └── ConfigurationError            bad URL, AUTH refused (535), sender refused (5xx to MAIL
                                       FROM), STARTTLS unsupported, dkimpy missing
"""

from __future__ import annotations

import binascii
import random
import re
import smtplib
import ssl
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from channels.base import Channel, Message, Receipt
from channels.errors import (
    ChannelError,
    ConfigurationError,
    PermanentDeliveryError,
    TransientDeliveryError,
)

# Why 998 and 7bit: the default 78-column folding RFC 2047-encodes a long List-Unsubscribe URL,
# which mail clients then cannot use; 998 is RFC 5322's hard limit. 7bit (quoted-printable
# bodies) keeps the DKIM body hash valid through relays that would downgrade 8bit content.
WIRE_POLICY = policy.SMTP.clone(max_line_length=998, cte_type="7bit")
FILE_POLICY = policy.default.clone(max_line_length=998, cte_type="7bit")

# Signed in addition to the usual headers: RFC 8058 requires both List-Unsubscribe headers in h=.
DKIM_HEADERS = (
    b"from", b"to", b"subject", b"date", b"message-id", b"reply-to", b"mime-version",
    b"content-type", b"list-unsubscribe", b"list-unsubscribe-post",
)  # fmt: skip

Security = Literal["plain", "starttls", "ssl"]


@dataclass(frozen=True)
class DkimConfig:
    """DKIM signing key: `private_key` is a PEM RSA key for ``<selector>._domainkey.<domain>``."""

    selector: str
    domain: str
    private_key: bytes


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to connect, parsed from an smtp:// or smtps:// URL."""

    host: str
    port: int
    security: Security
    username: str | None = None
    password: str | None = None


def parse_smtp_url(url: str) -> SmtpServer:
    """Parse an SMTP URL; raise ConfigurationError for anything unclear or unsafe."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigurationError(f"SMTP URL must be smtp://host[:port] or smtps://host: {url!r}")
    security = _security(parts.scheme, parse_qs(parts.query).get("tls", [""])[0])
    username = unquote(parts.username) if parts.username else None
    if username and security == "plain" and "tls=none" not in parts.query:
        # Why: a password in clear text must be a decision, not an accident of a short URL.
        raise ConfigurationError("SMTP credentials without TLS: add ?tls=starttls (or ?tls=none)")
    default_port = 465 if security == "ssl" else 587 if security == "starttls" else 25
    return SmtpServer(
        host=parts.hostname,
        port=parts.port or default_port,
        security=security,
        username=username,
        password=unquote(parts.password) if parts.password else None,
    )


def _security(scheme: str, tls: str) -> Security:
    if scheme == "smtps":
        return "ssl"
    if tls in ("", "none", "off"):
        return "plain"
    if tls == "starttls":
        return "starttls"
    raise ConfigurationError(f"unknown SMTP tls option {tls!r}; use starttls or none")


def domain_of(address: str) -> str:
    """The domain of an address or a "Name <addr>" header value ("" when there is none)."""
    _, at, domain = parseaddr(address)[1].rpartition("@")
    return domain if at else ""


def compose_email(message: Message, *, default_sender: str) -> EmailMessage:
    """Build the RFC 5322 message: text part, optional HTML alternative, unsubscribe headers."""
    sender = message.sender or default_sender
    domain = domain_of(sender)
    if not domain:
        raise ConfigurationError(f"email sender has no domain: {sender!r}")
    msg = EmailMessage(policy=FILE_POLICY)
    msg["From"] = sender
    msg["To"] = message.to
    if message.subject is not None:
        msg["Subject"] = message.subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    # The key in the Message-ID lets a bounce or complaint be traced back to its delivery.
    msg["Message-ID"] = make_msgid(idstring=re.sub(r"[^\w.-]", "-", message.key), domain=domain)
    if message.reply_to:
        msg["Reply-To"] = message.reply_to
    if message.unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058 one-click
    msg.set_content(message.body)
    if message.html is not None:
        msg.add_alternative(message.html, subtype="html")
    return msg


@dataclass(frozen=True)
class WireEmail:
    """A message as it goes over SMTP: its bytes (CRLF, 7bit), Message-ID and envelope sender."""

    raw: bytes
    message_id: str
    envelope_from: str


def wire_email(message: Message, *, default_sender: str) -> WireEmail:
    """The bytes `compose_email` would put on the wire, written directly.

    Why: the email package parses and refolds every header it is given and picks each part's
    encoding by trying several; that was 1.2 ms of the 1.5 ms of CPU an email cost the worker.
    Messages whose addresses or link are not plain ASCII (SMTPUTF8 territory) still go through
    `compose_email`; tests/channels/test_email_wire.py holds the two to the same content."""
    sender = message.sender or default_sender
    name, address = parseaddr(sender)
    domain = domain_of(sender)
    ascii_only = address.isascii() and message.to.isascii()
    if not domain or not ascii_only or not (message.unsubscribe_url or "").isascii():
        composed = compose_email(message, default_sender=default_sender)
        raw = composed.as_bytes(policy=WIRE_POLICY)
        return WireEmail(raw, str(composed["Message-ID"]), parseaddr(str(composed["From"]))[1])
    message_id = make_msgid(idstring=re.sub(r"[^\w.-]", "-", message.key), domain=domain)
    head = [_header("From", formataddr((name, address), "utf-8")), _header("To", message.to)]
    if message.subject is not None:
        head.append(_header("Subject", message.subject))
    head += [_header("Date", format_datetime(datetime.now(UTC))),
             _header("Message-ID", message_id)]  # fmt: skip
    if message.reply_to:
        head.append(_header("Reply-To", formataddr(parseaddr(message.reply_to), "utf-8")))
    if message.unsubscribe_url:
        head += [_header("List-Unsubscribe", f"<{message.unsubscribe_url}>"),
                 _header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")]  # fmt: skip
    head.append("MIME-Version: 1.0\r\n")
    body = _text_part(message.body, "plain")
    if message.html is not None:
        body = _alternative(body, _text_part(message.html, "html"))
    return WireEmail("".join(head).encode("ascii") + body, message_id, address)


def _header(name: str, value: str) -> str:
    if len(value.splitlines()) > 1:
        # As the email package refuses it: a line break would start a header of its own.
        raise ValueError(f"{name}: header values may not contain line breaks")
    if value.isascii() and value.isprintable() and "=?" not in value and len(value) < 900:
        return f"{name}: {value}\r\n"
    # Anything else (non-ASCII, long, control characters, what looks like an RFC 2047 word)
    # exactly as compose_email writes it.
    return str(WIRE_POLICY.header_factory(name, value).fold(policy=WIRE_POLICY))


def _text_part(text: str, subtype: str) -> bytes:
    """One text part, headers included: 7bit when it can be, else quoted-printable."""
    lines = text.encode("utf-8").splitlines()
    if all(line.isascii() and len(line) <= 998 for line in lines):
        encoding, payload = "7bit", b"\r\n".join(lines) + b"\r\n"
    else:
        encoded = binascii.b2a_qp(b"\n".join(lines) + b"\n", istext=True)
        encoding, payload = "quoted-printable", encoded.replace(b"\n", b"\r\n")
    head = (f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
            f"Content-Transfer-Encoding: {encoding}\r\n\r\n")  # fmt: skip
    return head.encode("ascii") + payload


def _boundary() -> bytes:
    # Unguessable is not needed, only unlikely in the text (checked): no os.urandom per mail.
    return f"=_{random.getrandbits(96):024x}".encode("ascii")


def _alternative(*parts: bytes) -> bytes:
    boundary = _boundary()
    while any(boundary in part for part in parts):
        boundary = _boundary()
    head = b'Content-Type: multipart/alternative; boundary="' + boundary + b'"\r\n\r\n'
    # The line break before a delimiter belongs to the delimiter, not to the part before it.
    delimiter = b"\r\n--" + boundary
    body = b"".join(delimiter + b"\r\n" + part for part in parts)
    return head + body[2:] + delimiter + b"--\r\n"


def dkim_sign(raw: bytes, config: DkimConfig) -> bytes:
    """Return `raw` with a DKIM-Signature header in front."""
    try:
        import dkim  # optional dependency: only deployments that sign need dkimpy
    except ImportError as exc:
        raise ConfigurationError("DKIM signing needs the dkimpy package") from exc
    try:
        signature: bytes = dkim.sign(
            raw,
            config.selector.encode(),
            config.domain.encode(),
            config.private_key,
            include_headers=list(DKIM_HEADERS),
        )
    except dkim.DKIMException as exc:
        raise ConfigurationError(f"DKIM signing failed: {exc}") from exc
    return signature + raw


class SmtpChannel(Channel):
    """Send email through one SMTP server, reusing the connection between messages.

    Thread-safe: a lock serialises sends on the one connection.
    """

    name = "smtp"
    kinds = frozenset({"email"})

    def __init__(
        self,
        url: str,
        *,
        default_sender: str,
        timeout: float = 30,
        dkim: DkimConfig | None = None,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        self.server = parse_smtp_url(url)
        if not domain_of(default_sender):
            raise ConfigurationError(f"default_sender has no domain: {default_sender!r}")
        self.default_sender = default_sender
        self.timeout = timeout
        self.dkim = dkim
        # Made when a TLS connection needs it: loading the system's CA certificates costs tens of
        # milliseconds of CPU, for each thread's channel, even where the server speaks plain.
        self._ssl_context = ssl_context
        self._local_hostname = local_hostname
        self._smtp: smtplib.SMTP | None = None
        self._lock = threading.Lock()

    def send(self, message: Message) -> Receipt:
        self._check_kind(message)
        wire = wire_email(message, default_sender=self.default_sender)
        raw = wire.raw if self.dkim is None else dkim_sign(wire.raw, self.dkim)
        with self._lock:
            self._deliver(wire.envelope_from, message.to, raw)
        return Receipt(provider_id=wire.message_id, status="sent")

    def close(self) -> None:
        with self._lock:
            self._drop(polite=True)

    def _deliver(self, envelope_from: str, recipient: str, raw: bytes) -> None:
        try:
            self._sendmail_reusing(envelope_from, recipient, raw)
        except (smtplib.SMTPException, OSError) as exc:
            if not _connection_still_usable(exc):
                self._drop(polite=False)
            raise translate_smtp_error(exc, recipient) from exc

    def _sendmail_reusing(self, envelope_from: str, recipient: str, raw: bytes) -> None:
        reused = self._smtp is not None
        try:
            self._connection().sendmail(envelope_from, [recipient], raw)
        except smtplib.SMTPServerDisconnected:
            if not reused:
                raise
            # Why: servers drop idle connections between batches; that is not worth a retry
            # through the queue, one fresh connection settles it.
            self._drop(polite=False)
            self._connection().sendmail(envelope_from, [recipient], raw)

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            self._smtp = self._connect()
        return self._smtp

    def _connect(self) -> smtplib.SMTP:
        server = self.server
        smtp: smtplib.SMTP
        if server.security == "ssl":
            smtp = smtplib.SMTP_SSL(
                server.host, server.port, local_hostname=self._local_hostname,
                timeout=self.timeout, context=self._tls(),
            )  # fmt: skip
        else:
            smtp = smtplib.SMTP(
                server.host, server.port, local_hostname=self._local_hostname, timeout=self.timeout
            )
        try:
            if server.security == "starttls":
                smtp.starttls(context=self._tls())
            if server.username:
                smtp.login(server.username, server.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _tls(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _drop(self, *, polite: bool) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            if polite:
                smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass  # closing anyway; the server may already be gone
        finally:
            smtp.close()


def _connection_still_usable(exc: BaseException) -> bool:
    # After a refused recipient or message smtplib has sent RSET; the session can go on,
    # unless the server said 421 (it is closing the connection).
    refused = (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code != 421 for code, _ in exc.recipients.values())
    return isinstance(exc, refused) and getattr(exc, "smtp_code", 0) != 421


def translate_smtp_error(exc: BaseException, recipient: str) -> ChannelError:
    """Map an smtplib/socket error to the channels error tree."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = exc.recipients.get(recipient) or next(iter(exc.recipients.values()))
        return reply_error(code, reply, at_rcpt=True)
    if isinstance(exc, smtplib.SMTPSenderRefused | smtplib.SMTPAuthenticationError):
        if 400 <= exc.smtp_code < 500:
            return TransientDeliveryError(f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}")
        return ConfigurationError(f"SMTP refused our sender or login: {exc}")
    if isinstance(exc, smtplib.SMTPNotSupportedError | ssl.SSLCertVerificationError):
        return ConfigurationError(f"SMTP server cannot be used as configured: {exc}")
    if isinstance(exc, smtplib.SMTPResponseException):
        return reply_error(exc.smtp_code, exc.smtp_error, at_rcpt=False)
    # Disconnects, refused connections, DNS and timeouts: the server may be back soon.
    return TransientDeliveryError(
        f"SMTP connection failed: {exc!r}", maybe_sent=isinstance(exc, TimeoutError)
    )


def reply_error(code: int, reply: bytes | str, *, at_rcpt: bool) -> ChannelError:
    """Map one SMTP reply (code and text) to a transient or permanent error."""
    text = _text(reply)
    if code < 500:
        return TransientDeliveryError(f"SMTP {code}: {text}")
    return PermanentDeliveryError(
        f"SMTP {code}: {text}", code=str(code), suppress=_address_is_bad(code, text, at_rcpt)
    )


_ENHANCED = re.compile(r"\b5\.(\d{1,3})\.(\d{1,3})\b")
# 5.1.1 bad mailbox, 5.1.2 bad domain, 5.1.3 bad syntax, 5.1.6 moved, 5.1.10 null MX,
# 5.2.1 mailbox disabled. 5.7.x (policy, spam, blocklists) is about us, not the address.
_BAD_ADDRESS = {(1, 1), (1, 2), (1, 3), (1, 6), (1, 10), (2, 1)}


def _address_is_bad(code: int, text: str, at_rcpt: bool) -> bool:
    enhanced = _ENHANCED.search(text)
    if enhanced:
        return (int(enhanced[1]), int(enhanced[2])) in _BAD_ADDRESS
    return at_rcpt and code in (550, 551, 553)


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
