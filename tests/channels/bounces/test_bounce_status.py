"""RFC 3463 status codes and the servers' words, to the kind of bounce."""

from __future__ import annotations

import pytest

from channels.bounces.report import BounceKind
from channels.bounces.status import (
    find_status,
    kind_of_status,
    kind_of_text,
    kind_of_words,
    tidy_reply,
)

HARD, SOFT, POLICY, UNKNOWN = (
    BounceKind.HARD,
    BounceKind.SOFT,
    BounceKind.POLICY,
    BounceKind.UNKNOWN,
)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("5.1.1", HARD),  # bad destination mailbox
        ("5.1.2", HARD),  # bad destination system
        ("5.1.3", HARD),  # bad address syntax
        ("5.1.6", HARD),  # mailbox moved, no forwarding address
        ("5.1.10", HARD),  # null MX
        ("5.2.1", HARD),  # mailbox disabled
        ("5.4.4", HARD),  # unable to route
        ("5.2.2", SOFT),  # mailbox full: soft, as the issue says
        ("5.3.1", SOFT),  # mail system full
        ("5.4.7", SOFT),  # delivery time expired
        ("4.2.2", SOFT),
        ("4.4.1", SOFT),
        ("4.0.0", SOFT),
        ("5.7.1", POLICY),
        ("5.7.26", POLICY),
        ("4.7.28", POLICY),  # a rate limit must never add up to a client's suppression
        ("4.7.1", POLICY),
        ("5.1.7", POLICY),  # our sender's address
        ("5.1.8", POLICY),
        ("5.2.3", POLICY),  # our message too large
        ("5.3.4", POLICY),
        ("5.6.1", POLICY),  # our content refused
        ("5.0.0", UNKNOWN),
        ("5.5.0", UNKNOWN),
        ("x.y.z", UNKNOWN),
    ],
)
def test_a_status_code_decides_the_kind(status: str, kind: BounceKind) -> None:
    assert kind_of_status(status) == kind


def test_a_success_code_is_no_failure() -> None:
    assert kind_of_status("2.0.0") is None
    assert kind_of_status("2.1.5") is None


@pytest.mark.parametrize(
    ("status", "diagnostic", "kind"),
    [
        ("5.0.0", "smtp; 550 5.1.1 <a@b.example> user unknown", HARD),  # the better code inside
        ("5.0.0", "550 Requested action not taken: no such user here", HARD),
        ("5.0.0", "552 Postfach voll", SOFT),
        ("5.0.0", "554 rejected: listed at Spamhaus", POLICY),
        ("5.5.0", "550 Benutzer unbekannt", HARD),
        ("5.0.0", "550 mailbox unavailable", UNKNOWN),  # used for blocks and unknown users alike
        ("5.1.1", "blocked for spam", HARD),  # a specific code wins over words
    ],
)
def test_words_decide_only_when_the_code_does_not(
    status: str, diagnostic: str, kind: BounceKind
) -> None:
    assert kind_of_status(status, diagnostic) == kind


@pytest.mark.parametrize("text", ["Die verbleibende Zeit", "for spammers only", "user unknownish"])
def test_words_match_whole_words_only(text: str) -> None:
    assert kind_of_words(text) is None


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("said: 550-5.1.1 The email account", "5.1.1"),
        ("Sorry, no mailbox here by that name. (#5.1.1)", "5.1.1"),
        ("host [10.4.5.2] said: 550 user unknown", None),  # an IP address is no status
        ("Exim 4.94.2 on mx.example", None),  # nor is a version
        ("Termine ab 4.7.2024", None),  # nor a date
        ("2.0.0 Ok; then 4.2.2 over quota", "4.2.2"),  # successes are skipped
    ],
)
def test_status_codes_are_found_in_text_without_false_friends(
    text: str, status: str | None
) -> None:
    assert find_status(text) == status


@pytest.mark.parametrize(
    ("text", "temporary", "kind"),
    [
        ("SMTP error after end of data: 552 Mailbox quota exceeded", False, SOFT),
        ("said: 552 sorry", False, SOFT),  # RFC 5321: exceeded storage allocation
        ("421 try again later", False, SOFT),
        ("550 go away", False, UNKNOWN),
        ("could not be delivered yet", True, SOFT),
    ],
)
def test_free_text_without_an_enhanced_code(text: str, temporary: bool, kind: BounceKind) -> None:
    assert kind_of_text(text, temporary=temporary)[0] == kind


def test_a_multi_line_reply_reads_as_one() -> None:
    reply = (
        "550-5.1.1 The email account does not exist. Please try\n"
        " 550-5.1.1 double-checking\n 550 5.1.1 it - gsmtp"
    )
    assert " ".join(tidy_reply(reply).split()) == (
        "550 5.1.1 The email account does not exist. Please try double-checking it - gsmtp"
    )
    assert tidy_reply("connect to mx: timed out") == "connect to mx: timed out"
