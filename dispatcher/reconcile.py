"""The reconciler: settle deliveries in doubt by asking the provider, never by a blind re-send.

A delivery becomes ``unknown`` when its worker died between claim and record (the sweep notices
the expired claim) or the provider call ended ambiguously (a read timeout). Once its claim is
older than the whole lease, no live worker can still hand it off (workers stop at half the
lease), so the provider's answer is final:

- the provider has it (Twilio: by recipient, sender, time and body; outbox: the file named by
  the message key; fake: the key in its log) -> ``sent`` with the provider's id;
- the provider certainly does not -> ``pending`` again (``cancelled`` in a cancelled campaign),
  and the campaign's batches are enqueued again;
- the channel cannot tell (SMTP) -> stays ``unknown`` with ``needs_decision``, for an operator
  (``dispatcher.control.resolve_unknown``).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from channels.errors import ChannelError
from db.models import Campaign, Client, Delivery, Salon, utcnow
from db.states import CampaignStatus, DeliveryStatus, StopCode
from dispatcher.batch import ClientView
from dispatcher.runtime import Runtime
from dispatcher.sending import build_message

log = logging.getLogger("salonpost.reconcile")

NEEDS_DECISION = "needs_decision"
# Provider clocks and ours differ a little; look back this much before the claim.
CLOCK_SKEW = dt.timedelta(minutes=2)


@dataclass
class Reconciled:
    sent: int = 0
    requeued: int = 0
    undecided: int = 0


def settle_claims(session: Session, *, lease: dt.timedelta, now: dt.datetime | None = None) -> int:
    """Claims older than the lease belong to dead workers: they become ``unknown``."""
    now = now or utcnow()
    result = session.execute(
        update(Delivery)
        .where(Delivery.status == DeliveryStatus.SENDING, Delivery.claimed_at < now - lease)
        .values(status=DeliveryStatus.UNKNOWN, error_code=StopCode.CLAIM_LOST, updated_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def in_doubt(
    session: Session, campaign_id: int, *, lease: dt.timedelta, limit: int = 500
) -> list[Any]:
    """Unknown deliveries of the campaign that no live worker can still hand off."""
    return list(
        session.execute(
            select(
                Delivery.id,
                Delivery.client_id,
                Delivery.channel,
                Delivery.address,
                Delivery.recipient,
                Delivery.claimed_at,
                Client.first_name,
                Client.last_name,
                Client.guardian_name,
            )
            .join(Client, Client.id == Delivery.client_id)
            .where(
                Delivery.campaign_id == campaign_id,
                Delivery.status == DeliveryStatus.UNKNOWN,
                Delivery.error_code.is_distinct_from(NEEDS_DECISION),
                Delivery.claimed_at < utcnow() - lease,
            )
            .order_by(Delivery.id)
            .limit(limit)
        )
    )


def reconcile(session: Session, runtime: Runtime, campaign_id: int) -> Reconciled:
    """Settle up to one page of the campaign's unknown deliveries; the caller commits."""
    lease = dt.timedelta(seconds=runtime.claim_timeout)
    campaign = session.get_one(Campaign, campaign_id)
    salon = session.get_one(Salon, campaign.salon_id)
    done = Reconciled()
    for row in in_doubt(session, campaign_id, lease=lease):
        message = build_message(runtime, salon, campaign, row, ClientView.of(row))
        since = (row.claimed_at or utcnow()) - CLOCK_SKEW
        try:
            receipt = runtime.channel(row.channel).lookup(message, since=since)
        except NotImplementedError:
            _settle(session, row.id, status=DeliveryStatus.UNKNOWN, error_code=NEEDS_DECISION)
            done.undecided += 1
            continue
        except ChannelError as exc:
            log.warning("delivery %s: provider lookup failed, later again: %s", row.id, exc)
            continue
        if receipt is not None:
            _settle(session, row.id, status=DeliveryStatus.SENT,
                    provider_id=receipt.provider_id, body=message.body, sent_at=row.claimed_at,
                    error_code=StopCode.RECONCILED)  # fmt: skip
            done.sent += 1
        else:
            gone = (
                DeliveryStatus.CANCELLED
                if campaign.status == CampaignStatus.CANCELLED
                else DeliveryStatus.PENDING
            )
            _settle(session, row.id, status=gone, error_code=StopCode.RECONCILED_NOT_SENT)
            done.requeued += 1
    return done


def _settle(session: Session, delivery_id: int, **values: Any) -> None:
    session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status == DeliveryStatus.UNKNOWN)
        .values(updated_at=utcnow(), **values)
    )
