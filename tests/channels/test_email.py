"""SmtpChannel against a real SMTP server (aiosmtpd): content, errors, connection reuse, DKIM."""

from __future__ import annotations

import email
import shutil
import smtplib
import socket
import ssl
import subprocess
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage

import pytest
from aiosmtpd.smtp import AuthResult

from channels import (
    ConfigurationError,
    DkimConfig,
    Message,
    PermanentDeliveryError,
    SmtpChannel,
    TransientDeliveryError,
    parse_smtp_url,
)
from channels.email import translate_smtp_error

SENDER = "Salon Anna <hallo@salon-anna.example>"
UNSUBSCRIBE = "https://salonpost.example/u/c12/8f3a9c0e1b2d4f6a8c0e2a4c6e8f0a2b4d6f8a0c2e4a6c8e"


def campaign_mail(to: str = "kundin@example.com", key: str = "c12-d1") -> Message:
    return Message(
        channel="email",
        to=to,
        body="Hallo Anna,\nim Mai 20 % auf Färben.\n",
        key=key,
        subject="Frühlingsaktion im Salon Anna",
        html="<p>Hallo Anna,</p><p>im Mai 20&nbsp;% auf Färben.</p>",
        unsubscribe_url=UNSUBSCRIBE,
        reply_to="team@salon-anna.example",
    )


@pytest.fixture
def smtp_channel(smtp_server):
    channel = SmtpChannel(smtp_server.url, default_sender=SENDER, timeout=5)
    yield channel
    channel.close()


def received(smtp_server, index: int = -1) -> EmailMessage:
    raw = smtp_server.handler.messages[index]
    return email.message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def test_the_received_mail_has_text_html_and_unsubscribe_headers(smtp_channel, smtp_server):
    receipt = smtp_channel.send(campaign_mail())

    mail = received(smtp_server)
    assert mail["Message-ID"] == receipt.provider_id
    assert mail["Message-ID"].endswith("@salon-anna.example>")
    assert "c12-d1" in mail["Message-ID"]
    assert mail["Date"]
    assert mail["Subject"] == "Frühlingsaktion im Salon Anna"
    assert mail["Reply-To"] == "team@salon-anna.example"
    assert mail["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail.get_content_type() == "multipart/alternative"
    assert "20 % auf Färben" in mail.get_body(("plain",)).get_content()
    assert "Färben" in mail.get_body(("html",)).get_content()


def test_a_long_unsubscribe_url_stays_readable_on_the_wire(smtp_channel, smtp_server):
    # The stdlib's default 78-column folding would RFC 2047-encode it; clients then ignore it.
    long_url = UNSUBSCRIBE + "?token=" + "x" * 120
    smtp_channel.send(Message(channel="email", to="a@example.com", body="b", key="k",
                              unsubscribe_url=long_url))  # fmt: skip

    assert f"List-Unsubscribe: <{long_url}>".encode() in smtp_server.handler.messages[-1]


def test_the_message_is_7bit_clean(smtp_channel, smtp_server):
    smtp_channel.send(campaign_mail())

    assert smtp_server.handler.messages[-1].isascii()


def test_a_4xx_reply_is_transient(smtp_channel):
    with pytest.raises(TransientDeliveryError, match="451"):
        smtp_channel.send(campaign_mail(to="temp-fail@example.com"))


def test_no_such_user_is_permanent_and_suppresses_the_address(smtp_channel):
    with pytest.raises(PermanentDeliveryError) as caught:
        smtp_channel.send(campaign_mail(to="no-such-user@example.com"))

    assert caught.value.code == "550"
    assert caught.value.suppress is True
    assert isinstance(caught.value.__cause__, smtplib.SMTPRecipientsRefused)


@pytest.mark.parametrize("to", ["policy-block@example.com", "mailbox-full@example.com"])
def test_a_5xx_about_policy_or_quota_is_permanent_without_suppressing(smtp_channel, to):
    with pytest.raises(PermanentDeliveryError) as caught:
        smtp_channel.send(campaign_mail(to=to))

    assert caught.value.suppress is False


def test_two_sends_share_one_smtp_session(smtp_channel, smtp_server):
    smtp_channel.send(campaign_mail(key="c12-d1"))
    with pytest.raises(PermanentDeliveryError):
        smtp_channel.send(campaign_mail(to="no-such-user@example.com", key="c12-d2"))
    smtp_channel.send(campaign_mail(key="c12-d3"))

    assert len(smtp_server.handler.messages) == 2
    assert len(smtp_server.handler.sessions) == 1


def test_a_dropped_connection_is_reopened_once(smtp_channel, smtp_server):
    smtp_channel.send(campaign_mail(key="c12-d1"))
    smtp_channel._smtp.sock.shutdown(socket.SHUT_RDWR)  # the server timed out the idle session

    smtp_channel.send(campaign_mail(key="c12-d2"))

    assert len(smtp_server.handler.messages) == 2
    assert len(smtp_server.handler.sessions) == 2


def test_an_unreachable_server_is_transient():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connections are refused
        channel = SmtpChannel(f"smtp://127.0.0.1:{port}", default_sender=SENDER, timeout=2)

        with pytest.raises(TransientDeliveryError, match="connection failed"):
            channel.send(campaign_mail())


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (smtplib.SMTPSenderRefused(553, b"5.7.1 sender not allowed", "a@b"), ConfigurationError),
        (smtplib.SMTPSenderRefused(451, b"4.3.0 try later", "a@b"), TransientDeliveryError),
        (smtplib.SMTPAuthenticationError(535, b"5.7.8 bad credentials"), ConfigurationError),
        (smtplib.SMTPNotSupportedError("STARTTLS extension not supported"), ConfigurationError),
        (smtplib.SMTPDataError(554, b"5.7.1 spam"), PermanentDeliveryError),
        (smtplib.SMTPDataError(421, b"4.4.2 closing"), TransientDeliveryError),
        (smtplib.SMTPServerDisconnected("gone"), TransientDeliveryError),
        (TimeoutError("timed out"), TransientDeliveryError),
    ],
)
def test_smtp_errors_map_to_the_error_tree(exc, expected):
    assert type(translate_smtp_error(exc, "a@example.com")) is expected


def test_a_data_stage_5_1_1_suppresses_but_a_spam_rejection_does_not():
    bounced = translate_smtp_error(smtplib.SMTPDataError(550, b"5.1.1 user unknown"), "a@x.org")
    spam = translate_smtp_error(smtplib.SMTPDataError(550, b"rejected as spam"), "a@x.org")

    assert isinstance(bounced, PermanentDeliveryError) and bounced.suppress
    assert isinstance(spam, PermanentDeliveryError) and not spam.suppress


def test_the_refusal_of_our_recipient_is_the_one_reported():
    exc = smtplib.SMTPRecipientsRefused({"a@x.org": (451, b"later"), "b@x.org": (550, b"no")})

    assert isinstance(translate_smtp_error(exc, "a@x.org"), TransientDeliveryError)


@pytest.mark.parametrize(
    ("url", "host", "port", "security", "user", "password"),
    [
        ("smtp://u%40x:p%2Fw@mail.example:587?tls=starttls", "mail.example", 587, "starttls",
         "u@x", "p/w"),
        ("smtps://u:p@mail.example", "mail.example", 465, "ssl", "u", "p"),
        ("smtp://127.0.0.1:1025", "127.0.0.1", 1025, "plain", None, None),
        ("smtp://mail.example", "mail.example", 25, "plain", None, None),
        ("smtp://u:p@127.0.0.1:25?tls=none", "127.0.0.1", 25, "plain", "u", "p"),
    ],
)  # fmt: skip
def test_smtp_urls_are_parsed(url, host, port, security, user, password):
    server = parse_smtp_url(url)

    assert (server.host, server.port, server.security) == (host, port, security)
    assert (server.username, server.password) == (user, password)


@pytest.mark.parametrize(
    "url",
    ["http://mail.example", "smtp://", "smtp://u:p@mail.example:25", "smtp://h?tls=maybe"],
)
def test_unclear_or_unsafe_smtp_urls_are_refused(url):
    with pytest.raises(ConfigurationError):
        parse_smtp_url(url)


def test_a_sender_without_domain_is_a_configuration_error():
    with pytest.raises(ConfigurationError):
        SmtpChannel("smtp://127.0.0.1:25", default_sender="Salon Anna")


def test_dkim_signature_covers_the_unsubscribe_headers_and_verifies(smtp_server, dkim_key):
    import dkim

    config = DkimConfig(
        selector="sp1", domain="salon-anna.example", private_key=dkim_key.private_pem
    )
    channel = SmtpChannel(smtp_server.url, default_sender=SENDER, dkim=config)
    channel.send(campaign_mail())
    channel.close()

    raw = smtp_server.handler.messages[-1]
    mail = email.message_from_bytes(raw, policy=policy.default)
    signed = {h.strip().lower() for h in dkim_tag(str(mail["DKIM-Signature"]), "h").split(":")}
    assert {"from", "list-unsubscribe", "list-unsubscribe-post"} <= signed
    assert dkim_tag(str(mail["DKIM-Signature"]), "d") == "salon-anna.example"

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"sp1._domainkey.salon-anna.example."
        return dkim_key.dns_txt

    assert dkim.verify(raw, dnsfunc=dns)


def dkim_tag(signature: str, tag: str) -> str:
    tags = dict(
        part.strip().split("=", 1) for part in "".join(signature.split()).split(";") if part
    )
    return tags[tag]


# --- TLS and AUTH, the production set-up --------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 and a client context that trusts it."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    return server, ssl.create_default_context(cafile=str(cert))


@dataclass
class Logins:
    seen: list[tuple[bytes, bytes]] = field(default_factory=list)

    def __call__(self, server, session, envelope, mechanism, auth_data):
        self.seen.append((auth_data.login, auth_data.password))
        # handled=False: aiosmtpd then answers 535 itself (handled=True means "already replied").
        return AuthResult(success=auth_data.password == b"s3cret", handled=False)


def test_starttls_and_login(start_smtp_server, certificate):
    server_context, client_context = certificate
    logins = Logins()
    server = start_smtp_server(
        tls_context=server_context, require_starttls=True, authenticator=logins,
        auth_require_tls=True,
    )  # fmt: skip
    url = f"smtp://salon%40x.example:s3cret@127.0.0.1:{server.port}?tls=starttls"

    with SmtpChannel(url, default_sender=SENDER, ssl_context=client_context) as channel:
        channel.send(campaign_mail())

    assert logins.seen == [(b"salon@x.example", b"s3cret")]
    assert len(server.handler.messages) == 1


def test_a_refused_login_is_a_configuration_error(start_smtp_server, certificate):
    server_context, client_context = certificate
    server = start_smtp_server(
        tls_context=server_context, authenticator=Logins(), auth_require_tls=True
    )
    url = f"smtp://salon:wrong@127.0.0.1:{server.port}?tls=starttls"
    channel = SmtpChannel(url, default_sender=SENDER, ssl_context=client_context, timeout=5)

    with pytest.raises(ConfigurationError, match="login"):
        channel.send(campaign_mail())


def test_implicit_tls_with_smtps(start_smtp_server, certificate):
    server_context, client_context = certificate
    server = start_smtp_server(ssl_context=server_context)
    url = f"smtps://127.0.0.1:{server.port}"

    with SmtpChannel(url, default_sender=SENDER, ssl_context=client_context) as channel:
        channel.send(campaign_mail())

    assert len(server.handler.messages) == 1
