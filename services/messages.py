"""Transactional messages: appointment reminders and confirmations, review requests, reconnect.

They are not marketing (DESIGN.md §1): no marketing consent and no 3-year window, no unsubscribe
link. But they are never sent to a forgotten client (R7), never to a client whose "no reminders"
flag staff set (``NR``), need a valid address (R8) and respect suppressed addresses (R9: the
provider refuses them anyway).

Each message is one ``Campaign`` row of kind ``transactional`` with one ``Delivery``, so delivery
tracking, provider callbacks and reports work as for campaigns. The delivery is inserted already
claimed (``sending``) in the transaction that checked the client, so the campaign sweep never
finds a pending transactional delivery to hand to the marketing gate. Sending happens in the
calling process (one message, staff wait for the answer); transient provider errors are retried
a few times here and then end as ``failed``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from jinja2 import meta
from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.base import Message
from channels.errors import ConfigurationError, PermanentDeliveryError, TransientDeliveryError
from db.access import Actor, log_access
from db.models import Campaign, Client, Delivery, Salon, Suppression, utcnow
from db.states import CampaignKind, CampaignStatus, Channel, DeliveryStatus, StopCode
from dispatcher.batch import wait_turn
from dispatcher.runtime import Runtime
from dispatcher.sending import BatchResult, service_key, store_result
from services.errors import BadInput, Problem, Refused
from templates.analysis import check_template
from templates.catalogue import UNSUBSCRIBE_PLACEHOLDER
from templates.problems import TemplateProblem
from templates.sandbox import environment, render

KINDS = ("reminder", "confirmation", "review", "reconnect")
MAX_TRIES = 3


@dataclass(frozen=True)
class Outcome:
    campaign_id: int
    delivery_id: int
    status: str  # sent, skipped, failed, unknown
    rule: str | None = None  # R7, NR, R8, R9 when skipped


def check_message_template(source: str, *, channel: str) -> list[TemplateProblem]:
    """R2 problems of a transactional template; the unsubscribe link has no place in it."""
    problems = check_template(source, field=channel, requires_unsubscribe=False)
    if not problems:
        used = meta.find_undeclared_variables(environment(html=False).parse(source))
        if UNSUBSCRIBE_PLACEHOLDER in used:
            text = "a transactional message carries no marketing, so no unsubscribe link"
            problems.append(TemplateProblem("R2", channel, None, "unsubscribe_in_service", text))
    return problems


def decide(session: Session, client: Client, channel: str) -> tuple[str | None, str | None]:
    """(address, None) when the message may go, else (None, 'rule')."""
    if client.anonymised_at is not None:
        return None, "R7"
    if client.no_reminders:
        return None, "NR"
    address = client.phone_e164 if channel == "sms" else client.email_normalized
    if address is None:
        guardian = client.guardian_phone_e164 if channel == "sms" else None
        address = guardian or (client.guardian_email_normalized if channel == "email" else None)
    if address is None:
        return None, "R8"
    suppressed = session.scalar(
        select(Suppression.id).where(
            Suppression.salon_id == client.salon_id,
            Suppression.channel == channel,
            Suppression.address == address,
        )
    )
    return (None, "R9") if suppressed is not None else (address, None)


def _campaign(salon: Salon, kind: str, channel: str, body: str, subject: str | None) -> Campaign:
    now = utcnow()
    return Campaign(
        salon_id=salon.id,
        name=kind,
        kind=CampaignKind.TRANSACTIONAL,
        status=CampaignStatus.SENDING,
        sms_body=body if channel == "sms" else None,
        email_subject=(subject or salon.name) if channel == "email" else None,
        email_text=body if channel == "email" else None,
        queued_at=now,
        planned_at=now,
    )


def prepare(
    session: Session,
    actor: Actor,
    salon: Salon,
    client: Client,
    *,
    kind: str,
    channel: str,
    template: str,
    subject: str | None = None,
) -> tuple[Campaign, Delivery]:
    """Check and store the message (claimed, or skipped with its rule); the caller commits."""
    _check_request(kind, channel, template)
    session.refresh(client, with_for_update=True)  # a concurrent forget waits or goes first
    address, rule = decide(session, client, channel)
    campaign = _campaign(salon, kind, channel, template, subject)
    campaign.created_by = actor.staff_id
    session.add(campaign)
    session.flush()
    now = utcnow()
    delivery = Delivery(
        salon_id=salon.id,
        campaign_id=campaign.id,
        client_id=client.id,
        channel=channel,
        address=address,
        status=DeliveryStatus.SENDING if rule is None else DeliveryStatus.SKIPPED,
        skip_rule=rule,
        claimed_at=now if rule is None else None,
        attempts=1 if rule is None else 0,
        updated_at=now,
    )
    session.add(delivery)
    if rule is not None:
        campaign.status, campaign.finished_at = CampaignStatus.DONE, now
    session.flush()
    detail = f"{kind} {channel}" + (f" skipped {rule}" if rule else "")
    log_access(
        session, salon.id, actor, "message.send",
        client_id=client.id, campaign_id=campaign.id, detail=detail,
    )  # fmt: skip
    return campaign, delivery


def _check_request(kind: str, channel: str, template: str) -> None:
    if kind not in KINDS:
        raise BadInput("error.message_kind", field="kind", kinds=", ".join(KINDS))
    if channel not in tuple(Channel):
        raise BadInput("error.bad_option", field="channel", what=channel)
    problems = check_message_template(template, channel=channel)
    if problems:
        raise Refused(
            "error.message_template", rule="R2",
            problems=[Problem(p.rule, p.field, p.code, p.message, p.line) for p in problems],
        )  # fmt: skip


def build(salon: Salon, campaign: Campaign, delivery: Delivery, client: Client) -> Message:
    context = {
        "first_name": client.first_name or "",
        "last_name": client.last_name or "",
        "salon_name": salon.name,
    }
    key = service_key(campaign.id, delivery.id)
    assert delivery.address is not None
    if delivery.channel == Channel.SMS:
        body = render(campaign.sms_body or "", context, html=False)
        return Message("sms", delivery.address, body, key, sender=salon.sms_sender)
    subject = render(campaign.email_subject or "", context, html=False)
    body = render(campaign.email_text or "", context, html=False)
    return Message("email", delivery.address, body, key, sender=salon.email_from, subject=subject)


def _attempt(runtime: Runtime, message: Message, result: BatchResult) -> dict[str, Any]:
    """One hand-off; the delivery's new columns (status "pending" = worth another try)."""
    try:
        receipt = runtime.channel(message.channel).send(message)
    except TransientDeliveryError as exc:
        if exc.maybe_sent:  # the provider may have taken it: never re-send blindly
            return _outcome(DeliveryStatus.UNKNOWN, StopCode.MAYBE_SENT, exc)
        result.retry_after = exc.retry_after
        return _outcome(DeliveryStatus.PENDING, StopCode.TRANSIENT, exc)
    except ConfigurationError as exc:
        return _outcome(DeliveryStatus.FAILED, StopCode.CONFIGURATION, exc)
    except PermanentDeliveryError as exc:
        if exc.suppress:
            result.suppress.append((message.channel, message.to, f"provider {exc.code}"))
        return _outcome(DeliveryStatus.FAILED, exc.code, exc)
    now = utcnow()
    return {
        "status": DeliveryStatus.SENT,
        "provider_id": receipt.provider_id,
        "sent_at": now,
        "body": message.body,
    }


PACE_WAIT_SECONDS = 30.0


def deliver(session: Session, runtime: Runtime, campaign: Campaign, delivery: Delivery) -> str:
    """Hand the claimed message to its channel, retrying transient errors; the final status."""
    salon = session.get_one(Salon, campaign.salon_id)
    message = build(salon, campaign, delivery, session.get_one(Client, delivery.client_id))
    result = BatchResult()
    for attempt in range(1, MAX_TRIES + 1):
        # Service messages share the sender's rate limit with campaigns (same pacer key).
        if wait_turn(runtime, salon, message.channel, time.monotonic() + PACE_WAIT_SECONDS):
            row = _attempt(runtime, message, result)
        else:
            row = {"status": DeliveryStatus.PENDING, "error_code": StopCode.PACED,
                   "error": "no slot at the sender"}  # fmt: skip
        if row["status"] != DeliveryStatus.PENDING:
            break
        if attempt < MAX_TRIES:
            time.sleep(min(result.retry_after or 1.0, 5.0))
    if row["status"] == DeliveryStatus.PENDING:
        row["status"] = DeliveryStatus.FAILED
    result.updates.append({"id": delivery.id, "attempts": attempt, "updated_at": utcnow(), **row})
    store_result(session, salon.id, result)
    campaign.status, campaign.finished_at = CampaignStatus.DONE, utcnow()
    return str(row["status"])


def _outcome(status: DeliveryStatus, code: str, exc: Exception) -> dict[str, Any]:
    return {"status": status, "error_code": code, "error": str(exc)[:500]}


def send_message(
    session: Session,
    actor: Actor,
    runtime: Runtime,
    salon: Salon,
    client: Client,
    *,
    kind: str,
    channel: str,
    template: str,
    subject: str | None = None,
) -> Outcome:
    """Check, store, commit, send and record one transactional message."""
    campaign, delivery = prepare(
        session, actor, salon, client, kind=kind, channel=channel, template=template,
        subject=subject,
    )  # fmt: skip
    session.commit()  # the claim is stored before the provider call
    status = delivery.status
    if delivery.skip_rule is None:
        status = deliver(session, runtime, campaign, delivery)
        session.commit()
    return Outcome(campaign.id, delivery.id, status, delivery.skip_rule)
