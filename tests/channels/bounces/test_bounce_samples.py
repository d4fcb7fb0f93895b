"""The sample corpus: every sample's outcome is written down here, one parametrised test per
family. A sample without an expectation fails `test_every_sample_has_an_expected_outcome`."""

from __future__ import annotations

from typing import NamedTuple

import pytest
from bounce_support import SAMPLES, sample

from channels.bounces.classify import classify_bounce
from channels.bounces.report import BounceKind, BounceReport
from channels.bounces.verp import DeliveryRef, Verp

HARD, SOFT, POLICY = BounceKind.HARD, BounceKind.SOFT, BounceKind.POLICY
AUTO, COMPLAINT, UNKNOWN = BounceKind.AUTO_REPLY, BounceKind.COMPLAINT, BounceKind.UNKNOWN


class Rcpt(NamedTuple):
    address: str | None
    kind: BounceKind
    status: str | None = None
    delayed: bool = False


class Case(NamedTuple):
    file: str
    kind: BounceKind
    recipients: tuple[Rcpt, ...]
    message_id: str | None = None


def _check(report: BounceReport, case: Case) -> None:
    got = tuple(Rcpt(r.address, r.kind, r.status, r.delayed) for r in report.recipients)
    assert (report.kind, got) == (case.kind, case.recipients), report.reason
    assert report.original_message_id == case.message_id
    assert report.reason  # every outcome says why


DSN = [
    Case("dsn/rfc3464_simple.eml", SOFT, (Rcpt("louisl@larry.slumpco.example", SOFT, "4.0.0"),)),
    Case(
        "dsn/rfc3464_multi.eml",
        HARD,
        (
            Rcpt("arathib@vnet.ibm.example", UNKNOWN, "5.0.0"),
            Rcpt("wsnell@sdcc13.ucsd.example", HARD, "5.0.0"),
            Rcpt("mike@vnet.ibm.example", SOFT, "4.0.0", delayed=True),
        ),
    ),
    Case(
        "dsn/postfix_user_unknown.eml",
        HARD,
        (Rcpt("lena.mueller@web-kundin.example", HARD, "5.1.1"),),
        "<171023124155.12.3715009981436237122.c12-d3456@salon-anna.example>",
    ),
    Case(
        "dsn/postfix_mailbox_full.eml",
        SOFT,
        (Rcpt("petra.k@kunden-mail.example", SOFT, "5.2.2"),),
        "<171034936301.12.991.c14-d5120@salon-anna.example>",
    ),
    Case(
        "dsn/postfix_delayed.eml",
        SOFT,
        (Rcpt("m.schulz@friseur-kundin.example", SOFT, "4.4.1", delayed=True),),
        "<171041000001.3.77.c15-d6001@salon-anna.example>",
    ),
    Case(
        "dsn/gmail_no_such_user.eml",
        HARD,
        (Rcpt("jonas.becker.1987@gmail.example", HARD, "5.1.1"),),
        "<171075426800.3.114.c16-d7002@salon-anna.example>",
    ),
    Case(
        "dsn/exchange_online_recipient_not_found.eml",
        HARD,
        (Rcpt("tom.weber@firma-kunde.example", HARD, "5.1.10"),),
        "<171084273200.3.201.c17-d7101@salon-anna.example>",
    ),
    # Status 5.0.0 says nothing; "exceeded storage allocation (Postfach voll)" says full.
    Case(
        "dsn/gmx_quota_unspecific_status.eml",
        SOFT,
        (Rcpt("sabine.vogel@kundenpost.example", SOFT, "5.0.0"),),
    ),
    Case("dsn/dsn_delivered.eml", UNKNOWN, ()),
]


@pytest.mark.parametrize("case", DSN, ids=lambda c: c.file)
def test_rfc_3464_delivery_status_notifications(case: Case) -> None:
    _check(classify_bounce(sample(case.file)), case)


def test_a_dsn_keeps_what_the_server_said() -> None:
    report = classify_bounce(sample("dsn/gmail_no_such_user.eml"))
    assert report.diagnostic is not None
    assert report.diagnostic.startswith("550 5.1.1 The email account that you tried to reach")
    assert "550-5.1.1" not in report.diagnostic  # a multi-line reply reads as one
    assert len(report.diagnostic) <= 500


POLICY_CASES = [
    Case(
        "policy/spamhaus_block_571.eml",
        POLICY,
        (Rcpt("ines.hoffmann@stadtwerk-mail.example", POLICY, "5.7.1"),),
    ),
    Case(
        "policy/gmail_dmarc_5726.eml",
        POLICY,
        (Rcpt("frieda.lang@gmail.example", POLICY, "5.7.26"),),
    ),
    # A rate limit is about our sending, even while the server still retries.
    Case(
        "policy/gmail_rate_limited_4728.eml",
        POLICY,
        (Rcpt("karin.roth@gmail.example", POLICY, "4.7.28", delayed=True),),
    ),
    Case(
        "policy/sender_domain_unknown_518.eml",
        POLICY,
        (Rcpt("olaf@mailkunde.example", POLICY, "5.1.8"),),
    ),
    Case(
        "policy/message_too_large_534.eml",
        POLICY,
        (Rcpt("ute@kleinpost.example", POLICY, "5.3.4"),),
    ),
]


@pytest.mark.parametrize("case", POLICY_CASES, ids=lambda c: c.file)
def test_policy_blocks_are_about_our_sending_never_the_address(case: Case) -> None:
    _check(classify_bounce(sample(case.file)), case)


FREEFORM = [
    # Marked Auto-Submitted like an out-of-office, and quoting our text that says "spam" and
    # "5.2.2": still a hard bounce, read from the server's words only.
    Case(
        "freeform/exim_user_unknown.eml",
        HARD,
        (Rcpt("kerstin.wolf@kunde-exim.example", HARD, "5.1.1"),),
    ),
    Case("freeform/exim_quota_exceeded.eml", SOFT, (Rcpt("uwe.brandt@kunde-exim.example", SOFT),)),
    Case(
        "freeform/qmail_no_mailbox.eml",
        HARD,
        (Rcpt("frank.ziegler@qmailkunde.example", HARD, "5.1.1"),),
    ),
    Case(
        "freeform/postfix_legacy_no_dsn.eml",
        HARD,
        (Rcpt("hans.meier@oldhost-kunde.example", HARD, "5.1.1"),),
        "<171170280000.3.303.c18-d8004@salon-anna.example>",
    ),
    Case(
        "freeform/exchange2003_plain.eml",
        HARD,
        (Rcpt("bernd.koch@exch-kunde.example", HARD, "5.1.1"),),
    ),
    # Permanent, but neither a code nor words that say why: an operator decides, not a guess.
    # The dates in our quoted text ("4.7.24", "5.1.25") look like status codes: never read.
    Case("freeform/unclear_refusal.eml", UNKNOWN, (Rcpt("gabi@relaykunde.example", UNKNOWN),)),
]


@pytest.mark.parametrize("case", FREEFORM, ids=lambda c: c.file)
def test_free_form_bounces_of_common_servers(case: Case) -> None:
    _check(classify_bounce(sample(case.file)), case)


class ComplaintCase(NamedTuple):
    file: str
    kind: BounceKind
    address: str | None
    feedback_type: str
    reference: DeliveryRef | None = None
    message_id: str | None = None


COMPLAINTS = [
    ComplaintCase("complaint/rfc5965_example.eml", COMPLAINT, "user@example.com", "abuse"),
    ComplaintCase(
        "complaint/fbl_headers_only.eml",
        COMPLAINT,
        "marie.fischer@mailbox-anbieter.example",
        "abuse",
        DeliveryRef(1204, 3),
        "<171199000000.3.1204.c19-d1204@salon-anna.example>",
    ),
    # The provider removed the address: the VERP reference is the only way to the delivery.
    ComplaintCase(
        "complaint/fbl_redacted_recipient.eml",
        COMPLAINT,
        None,
        "abuse",
        DeliveryRef(902, 3),
        "<171203000000.3.902.c20-d902@salon-anna.example>",
    ),
    ComplaintCase("complaint/not_spam.eml", UNKNOWN, "jana@grossanbieter.example", "not-spam"),
]


@pytest.mark.parametrize("case", COMPLAINTS, ids=lambda c: c.file)
def test_arf_complaints(case: ComplaintCase, verp: Verp) -> None:
    report = classify_bounce(sample(case.file), verp=verp)
    assert report.feedback is not None
    assert (report.kind, report.addresses or (None,), report.feedback.feedback_type) == (
        case.kind,
        (case.address,),
        case.feedback_type,
    )
    assert (report.reference, report.original_message_id) == (case.reference, case.message_id)


def test_the_rfc_5965_example_keeps_its_report_fields() -> None:
    feedback = classify_bounce(sample("complaint/rfc5965_example.eml")).feedback
    assert feedback is not None
    assert (feedback.user_agent, feedback.source_ip, feedback.reported_domain) == (
        "SomeGenerator/1.0",
        "192.0.2.1",
        "example.net",
    )
    assert feedback.original_mail_from == "somespammer@example.net"


class AutoCase(NamedTuple):
    file: str
    evidence: str  # a word of the reason: which evidence was found


AUTO_REPLIES = [
    AutoCase("autoreply/outlook_automatische_antwort.eml", "Auto-Submitted: auto-generated"),
    AutoCase("autoreply/abwesenheitsnotiz_subject_only.eml", "Abwesenheitsnotiz"),
    AutoCase("autoreply/gmail_vacation_responder.eml", "Auto-Submitted: auto-replied"),
    AutoCase("autoreply/out_of_office_x_autoreply.eml", "X-Autoreply"),
    AutoCase("autoreply/ticket_system_precedence_bulk.eml", "Precedence: bulk"),
    AutoCase("autoreply/challenge_response_boxtrapper.eml", "challenge-response"),
    AutoCase("autoreply/challenge_response_de.eml", "challenge-response"),
]


@pytest.mark.parametrize("case", AUTO_REPLIES, ids=lambda c: c.file)
def test_auto_replies_are_ignored_whatever_their_text_says(case: AutoCase) -> None:
    # Some of these say "Postfach ist voll" or "does not exist": still no bounce.
    report = classify_bounce(sample(case.file))
    assert report.kind == AUTO
    assert all(r.kind == AUTO for r in report.recipients)
    assert case.evidence in report.reason


class VerpCase(NamedTuple):
    file: str
    kind: BounceKind
    reference: DeliveryRef | None
    address: str | None


VERP_CASES = [
    VerpCase("verp/dsn_to_verp.eml", HARD, DeliveryRef(4711, 3), "anja.krause@kundenpost.example"),
    # One character of the MAC, or the salon id, changed: the bounce names no delivery.
    VerpCase("verp/forged_mac.eml", HARD, None, "anja.krause@kundenpost.example"),
    VerpCase("verp/forged_salon.eml", HARD, None, "anja.krause@kundenpost.example"),
    # The server named no address, only its reply: it is the delivery's own address.
    VerpCase("verp/unnamed_recipient.eml", HARD, DeliveryRef(815, 7), None),
    VerpCase(
        "verp/autoreply_to_verp.eml", AUTO, DeliveryRef(77, 12), "paul.richter@firma-kunde.example"
    ),
]


@pytest.mark.parametrize("case", VERP_CASES, ids=lambda c: c.file)
def test_a_bounce_to_a_verp_address_names_its_delivery(case: VerpCase, verp: Verp) -> None:
    report = classify_bounce(sample(case.file), verp=verp)
    assert (report.kind, report.reference) == (case.kind, case.reference)
    assert report.addresses == ((case.address,) if case.address else ())


def test_the_envelope_recipient_of_the_smtp_receiver_carries_the_reference(verp: Verp) -> None:
    envelope = verp.return_path(1204, 3)
    report = classify_bounce(
        sample("dsn/postfix_user_unknown.eml"), verp=verp, envelope_recipients=[envelope]
    )
    assert report.reference == DeliveryRef(1204, 3)
    forged = envelope.replace("1204.3.", "1205.3.")
    assert (
        classify_bounce(
            sample("dsn/postfix_user_unknown.eml"), verp=verp, envelope_recipients=[forged]
        ).reference
        is None
    )


def test_an_unnamed_recipient_stands_for_the_delivery_only_with_a_reference(verp: Verp) -> None:
    raw = sample("verp/unnamed_recipient.eml")
    with_ref = classify_bounce(raw, verp=verp)
    recipient = with_ref.recipient("kunde@tiny-isp.example")
    assert recipient is not None and recipient.kind == HARD
    without = classify_bounce(raw)
    assert without.recipient("kunde@tiny-isp.example") is None
    found = without.recipient("kunde@tiny-isp.example", delivery_found=True)
    assert found is not None and found.kind == HARD


def test_a_named_recipient_answers_only_for_its_own_address(verp: Verp) -> None:
    report = classify_bounce(sample("verp/dsn_to_verp.eml"), verp=verp)
    named = report.recipient("Anja.Krause@kundenpost.example")
    assert named is not None and named.status == "5.1.1"
    assert report.recipient("someone.else@kundenpost.example") is None


def test_without_a_verp_codec_no_reference_is_read() -> None:
    assert classify_bounce(sample("verp/dsn_to_verp.eml")).reference is None


def test_every_sample_has_an_expected_outcome() -> None:
    expected = {
        c.file for c in [*DSN, *POLICY_CASES, *FREEFORM, *COMPLAINTS, *AUTO_REPLIES, *VERP_CASES]
    }
    on_disk = {str(p.relative_to(SAMPLES)) for p in SAMPLES.rglob("*.eml")}
    assert on_disk == expected
