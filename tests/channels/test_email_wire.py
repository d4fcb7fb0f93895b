"""The SMTP channel's own composer: the same mail as `compose_email`, byte for byte in meaning."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.base import Message
from channels.email import WIRE_POLICY, compose_email, wire_email

SENDER = "Salon Anna <hallo@salon-anna.example>"
HEADERS = ("From", "To", "Subject", "Reply-To", "List-Unsubscribe", "List-Unsubscribe-Post")


def parsed(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def content(mail: EmailMessage) -> dict[str, object]:
    found: dict[str, object] = {name: mail[name] for name in HEADERS}
    found["type"] = mail.get_content_type()
    # Line breaks as text (a quoted-printable part decodes to the wire's CRLF, base64 to LF).
    found["parts"] = [
        (part.get_content_type(), part.get_content_charset(),
         part.get_content().replace("\r\n", "\n"))
        for part in mail.walk()
        if not part.is_multipart()
    ]  # fmt: skip
    return found


def assert_same_mail(message: Message) -> None:
    try:
        reference = compose_email(message, default_sender=SENDER)
    except ValueError:  # a line break (\x85, \u2028 ...) in a header value: refused by both
        with pytest.raises(ValueError):
            wire_email(message, default_sender=SENDER)
        return
    wire = wire_email(message, default_sender=SENDER)
    assert wire.raw.isascii() and all(len(line) <= 998 for line in wire.raw.split(b"\r\n"))
    assert b"\n" not in wire.raw.replace(b"\r\n", b"")  # CRLF only, as SMTP wants
    mail = parsed(wire.raw)
    assert not mail.defects and all(not part.defects for part in mail.walk())
    assert content(mail) == content(parsed(reference.as_bytes(policy=WIRE_POLICY)))
    assert (
        mail["Message-ID"] == wire.message_id and wire.envelope_from == "hallo@salon-anna.example"
    )


TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)
# Header values: what a template renders from client data, never a line break (refused).
LINE = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\r\n"),
               max_size=200)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    subject=st.none() | LINE,
    body=TEXT,
    html=st.none() | TEXT,
    reply_to=st.sampled_from([None, "team@salon-anna.example", "Jörg Team <team@salon.example>"]),
    url=st.sampled_from([None, "https://salonpost.example/u/" + "x" * 150]),
)
def test_any_text_composes_to_the_same_mail(subject, body, html, reply_to, url) -> None:
    assert_same_mail(Message("email", "kundin@example.com", body, "c12-d1", subject=subject,
                             html=html, reply_to=reply_to, unsubscribe_url=url))  # fmt: skip


def test_campaign_mail_with_umlauts_long_lines_and_a_header_break() -> None:
    for subject in ["Frühlingsaktion im Salon Anna", "x" * 1200, "=?utf-8?q?x?= \x85 \x07"]:
        assert_same_mail(Message("email", "kundin@example.com", "Färben " * 300 + "\n.\n",
                                 "c12-d1", subject=subject, html="<p>" + "ä" * 2000 + "</p>",
                                 unsubscribe_url="https://salonpost.example/u/abc"))  # fmt: skip
    header_break = Message("email", "k@example.com", "b", "k", subject="A\r\nBcc: x@y.example")
    # Refused like compose_email refuses it: a line break must never start a header of its own.
    with pytest.raises(ValueError, match="line break"):
        wire_email(header_break, default_sender=SENDER)
    with pytest.raises(ValueError, match="linefeed"):
        compose_email(header_break, default_sender=SENDER)


def test_a_sender_name_with_specials_is_quoted() -> None:
    wire = wire_email(Message("email", "k@example.com", "b", "k"),
                      default_sender='"Salon Anna, Berlin" <hallo@salon-anna.example>')  # fmt: skip
    assert parsed(wire.raw)["From"].addresses[0].display_name == "Salon Anna, Berlin"
