"""A 1 MPS sender sends one message per second, however many worker processes share it."""

from __future__ import annotations

import itertools

import pytest

from channels.fake import accepted_keys
from tests.chaos.conftest import Stack
from tests.chaos.harness import campaign_state, seed_campaign, wait_until_done

pytestmark = [pytest.mark.services, pytest.mark.chaos]


def _stamps(stack: Stack, campaign_id: int) -> list[float]:
    lines = stack.log.read_text().splitlines()
    return sorted(
        float(t)
        for t, key in (line.split() for line in lines)
        if key.startswith(f"c{campaign_id}-")
    )


def test_a_one_mps_sender_sends_one_message_per_second_across_two_workers(stack: Stack) -> None:
    # Batches of 3: five batches, so both processes and their threads compete for the sender.
    stack.start(
        workers=2, threads=4, sms_messages_per_second="1", batch_size="3", claim_timeout="30"
    )
    campaign_id = seed_campaign(stack.database_url, 15)
    stack.queue(campaign_id)
    wait_until_done(stack.database_url, campaign_id, timeout=90)
    assert campaign_state(stack.database_url, campaign_id)[1] == {"sent": 15}
    stamps = _stamps(stack, campaign_id)
    assert len(accepted_keys(stack.log)) == 15
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0])
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    print(f"1 MPS sender: {rate:.3f} messages/s, gaps {min(gaps):.3f}..{max(gaps):.3f} s")
    assert 0.95 <= rate <= 1.05
    assert min(gaps) > 0.5  # never two in the same second
