"""What a bounce or complaint makes Salonpost do, and when a salon's email marketing pauses."""

from __future__ import annotations

import datetime as dt

import pytest

from channels.bounces.actions import (
    MESSAGES,
    SoftBounce,
    SuppressionReason,
    decide,
    sending_health,
    soft_bounces_suppress,
)
from channels.bounces.report import BounceKind, Recipient

NOW = dt.datetime(2024, 4, 30, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def _recipient(kind: BounceKind, *, delayed: bool = False) -> Recipient:
    return Recipient("kundin@example.de", kind, delayed=delayed)


def test_a_hard_bounce_suppresses_the_address() -> None:
    result = decide(_recipient(BounceKind.HARD), at=NOW)
    assert (result.suppress, result.rules) == (SuppressionReason.HARD_BOUNCE, ("R9",))
    assert not result.withdraw_email_consent


def test_a_complaint_withdraws_email_consent_and_suppresses() -> None:
    result = decide(_recipient(BounceKind.COMPLAINT), at=NOW)
    assert result.withdraw_email_consent
    assert (result.suppress, result.rules) == (SuppressionReason.COMPLAINT, ("R4", "R9"))


@pytest.mark.parametrize("delayed", [False, True])
def test_a_policy_block_flags_the_salon_and_never_suppresses(delayed: bool) -> None:
    result = decide(_recipient(BounceKind.POLICY, delayed=delayed), at=NOW)
    assert result.flag_salon and result.suppress is None and not result.withdraw_email_consent


@pytest.mark.parametrize("kind", [BounceKind.AUTO_REPLY, BounceKind.UNKNOWN])
def test_auto_replies_and_unreadable_mails_change_nothing(kind: BounceKind) -> None:
    result = decide(_recipient(kind), at=NOW)
    assert (result.suppress, result.withdraw_email_consent, result.flag_salon) == (
        None,
        False,
        False,
    )
    assert not result.record_soft_bounce


def test_a_delay_warning_counts_for_nothing_even_after_many_soft_bounces() -> None:
    earlier = [SoftBounce(NOW - DAY, 1), SoftBounce(NOW - 2 * DAY, 2)]
    result = decide(_recipient(BounceKind.SOFT, delayed=True), at=NOW, earlier_soft_bounces=earlier)
    assert result.code == "delayed" and result.suppress is None and not result.record_soft_bounce


def test_the_third_soft_bounce_within_30_days_suppresses() -> None:
    earlier = [SoftBounce(NOW - 29 * DAY, 1), SoftBounce(NOW - 3 * DAY, 2)]
    result = decide(
        _recipient(BounceKind.SOFT), at=NOW, delivery_id=3, earlier_soft_bounces=earlier
    )
    assert (result.suppress, result.record_soft_bounce) == (SuppressionReason.SOFT_BOUNCE, True)


def test_two_soft_bounces_are_only_counted() -> None:
    result = decide(
        _recipient(BounceKind.SOFT),
        at=NOW,
        delivery_id=2,
        earlier_soft_bounces=[SoftBounce(NOW - DAY, 1)],
    )
    assert (result.code, result.suppress, result.record_soft_bounce) == (
        "soft_bounce_counted",
        None,
        True,
    )


def test_soft_bounces_older_than_30_days_no_longer_count() -> None:
    earlier = [SoftBounce(NOW - 30 * DAY, 1), SoftBounce(NOW - 45 * DAY, 2)]
    assert (
        decide(
            _recipient(BounceKind.SOFT), at=NOW, delivery_id=3, earlier_soft_bounces=earlier
        ).suppress
        is None
    )
    assert soft_bounces_suppress([*earlier, SoftBounce(NOW, 3)], now=NOW) is False
    inside = [
        SoftBounce(NOW - 30 * DAY + dt.timedelta(seconds=1), 1),
        SoftBounce(NOW - DAY, 2),
        SoftBounce(NOW, 3),
    ]
    assert soft_bounces_suppress(inside, now=NOW) is True


def test_one_message_bouncing_three_times_is_one_soft_bounce() -> None:
    same = [SoftBounce(NOW - 2 * DAY, 7), SoftBounce(NOW - DAY, 7)]
    assert (
        decide(
            _recipient(BounceKind.SOFT), at=NOW, delivery_id=7, earlier_soft_bounces=same
        ).suppress
        is None
    )
    # Bounces that named no delivery cannot be told apart: each counts.
    unnamed = [SoftBounce(NOW - 2 * DAY), SoftBounce(NOW - DAY)]
    assert (
        decide(_recipient(BounceKind.SOFT), at=NOW, earlier_soft_bounces=unnamed).suppress
        is not None
    )


def test_every_consequence_has_a_german_and_an_english_text() -> None:
    codes = {
        decide(_recipient(kind, delayed=delayed), at=NOW).code
        for kind in BounceKind
        for delayed in (False, True)
    } | {"soft_bounce"}
    assert codes <= set(MESSAGES)
    for code in codes:
        assert MESSAGES[code]["de"] and MESSAGES[code]["en"]
        assert MESSAGES[code]["de"] != MESSAGES[code]["en"]


@pytest.mark.parametrize(
    ("sent", "complaints", "paused"),
    [
        (1000, 3, False),  # 0.3 % is the limit, not over it
        (1000, 4, True),
        (200, 3, False),  # a small salon: counted against 1,000 messages
        (200, 4, True),
        (0, 4, True),
        (10_000, 30, False),
        (10_000, 31, True),
        (50_000, 149, False),
        (50_000, 151, True),
    ],
)
def test_email_marketing_pauses_above_0_3_percent_complaints(
    sent: int, complaints: int, paused: bool
) -> None:
    assert (
        sending_health(sent=sent, bounced=0, complaints=complaints).pause_email_marketing is paused
    )


def test_the_rates_are_shown_as_they_are() -> None:
    health = sending_health(sent=200, bounced=5, complaints=1)
    assert (health.bounce_rate, health.complaint_rate) == (0.025, 0.005)
    assert health.pause_reason("en") is None
    assert sending_health(sent=0, bounced=0, complaints=0).complaint_rate == 0.0


def test_the_pause_reason_is_in_german_and_english() -> None:
    health = sending_health(sent=2000, bounced=0, complaints=9)
    assert health.pause_reason("en") == (
        "email marketing paused (R9): 9 spam complaints in 30 days, 0.45 % of the emails sent "
        "(limit 0.3 %)"
    )
    assert health.pause_reason("de") == (
        "E-Mail-Marketing pausiert (R9): 9 Spam-Beschwerden in 30 Tagen, 0,45 % der gesendeten "
        "E-Mails (Grenze 0,3 %)"
    )


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"sent": -1}, "sent cannot be negative"),
        ({"complaints": -2}, "complaints cannot be negative"),
        ({"limit": 0}, "limit"),
        ({"limit": 1.5}, "limit"),
        ({"minimum_volume": 0}, "volume"),
    ],
)
def test_impossible_counts_are_refused_by_name(kwargs: dict[str, float], problem: str) -> None:
    args: dict[str, float] = {"sent": 10, "bounced": 0, "complaints": 0} | kwargs
    with pytest.raises(ValueError, match=problem):
        sending_health(**args)  # type: ignore[arg-type]
