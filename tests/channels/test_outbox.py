"""OutboxChannel: readable files, one per delivery key, written atomically."""

from __future__ import annotations

import email
import json
from email import policy

import pytest

from channels import ConfigurationError, Message, OutboxChannel
from channels.outbox import file_stem, sms_encoding

EMAIL = Message(
    channel="email",
    to="kundin@example.com",
    body="Hallo Anna,\nim Mai 20 % auf Färben.\n",
    key="c12-d3457",
    subject="Frühlingsaktion",
    html="<p>Hallo Anna</p>",
    unsubscribe_url="https://salonpost.example/u/abc",
)
SMS = Message(channel="sms", to="+4915112345678", body="Salon Anna: 20 % auf Färben", key="c12-d1")


def test_an_email_is_a_complete_message_a_mail_client_can_open(outbox_channel):
    receipt = outbox_channel.send(EMAIL)

    assert receipt.provider_id == "c12-d3457.eml"
    raw = outbox_channel.path_for(receipt).read_bytes()
    mail = email.message_from_bytes(raw, policy=policy.default)
    assert mail["From"] == "Salon Anna <hallo@salon-anna.example>"
    assert mail["To"] == "kundin@example.com"
    assert mail["Subject"] == "Frühlingsaktion"
    assert mail["Date"] and mail["Message-ID"]
    assert mail["List-Unsubscribe"] == "<https://salonpost.example/u/abc>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail.get_content_type() == "multipart/alternative"
    assert "Färben" in mail.get_body(("plain",)).get_content()
    assert mail.get_body(("html",)).get_content().strip() == "<p>Hallo Anna</p>"


def test_an_sms_is_pretty_json_with_readable_umlauts(outbox_channel):
    receipt = outbox_channel.send(SMS)

    text = outbox_channel.path_for(receipt).read_text(encoding="utf-8")
    assert "Färben" in text  # ensure_ascii=False: a person can read it
    record = json.loads(text)
    assert record["to"] == SMS.to
    assert record["from"] == "Salonpost"
    assert record["body"] == SMS.body
    assert record["key"] == "c12-d1"
    assert (record["encoding"], record["segments"]) == ("GSM-7", 1)


def test_the_same_key_overwrites_the_same_file(outbox_channel):
    outbox_channel.send(SMS)
    outbox_channel.send(Message(channel="sms", to=SMS.to, body="second try", key=SMS.key))

    files = list(outbox_channel.directory.iterdir())
    assert [f.name for f in files] == ["c12-d1.json"]  # and no temporary file left behind
    assert json.loads(files[0].read_text())["body"] == "second try"


def test_unsafe_keys_become_distinct_safe_file_names():
    names = {file_stem(key) for key in ["../etc/passwd", "a/b", "a_b", ".hidden"]}

    assert len(names) == 4
    assert all("/" not in name and not name.startswith(".") for name in names)
    assert file_stem("c12-d3456") == "c12-d3456"


def test_an_empty_key_is_refused(outbox_channel):
    with pytest.raises(ValueError, match="key"):
        outbox_channel.send(Message(channel="sms", to=SMS.to, body="x", key=""))


def test_an_email_sender_without_domain_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError):
        OutboxChannel(tmp_path, default_sender="Salon Anna").send(EMAIL)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("a" * 160, ("GSM-7", 1)),
        ("a" * 161, ("GSM-7", 2)),
        ("€" * 80, ("GSM-7", 1)),  # an extension character takes two septets
        ("€" * 81, ("GSM-7", 2)),
        ("Schön 😀", ("UCS-2", 1)),
        ("ł" * 71, ("UCS-2", 2)),
    ],
)
def test_sms_encoding_and_segments(body, expected):
    assert sms_encoding(body) == expected
