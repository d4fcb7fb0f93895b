"""Twilio webhooks: inbound SMS (STOP / START keywords) and message status callbacks.

Routes (configure them in the Twilio console or per message as StatusCallback)::

    POST /webhooks/twilio/sms/{salon_slug}   "A message comes in" of the salon's number(s)
    POST /webhooks/twilio/status             StatusCallback of every message we send

Inbound messages are routed by the salon's slug in the URL, not by the ``To`` number: one
Messaging Service may share numbers between salons and a salon may send from an alphanumeric
sender, so the number alone does not name the salon; the URL (which Twilio signs) does.

Every request must carry a valid ``X-Twilio-Signature`` computed with the auth token over
``settings.base_url`` + path + query, the public URL Twilio called: behind a reverse proxy the
URL the app sees differs, and a Host header is no proof. Anything else answers 403 and changes
nothing. Replays are harmless: consent events are deduplicated on the MessageSid (Twilio keeps
it across its retries, like its I-Twilio-Idempotency-Token), status updates only move forward.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from twilio.request_validator import RequestValidator

from db.consent import ever_granted, latest_events, record_consent_once
from db.models import Client, Delivery, InboundMessage, Salon, Suppression, utcnow
from db.session import session_scope
from db.states import OPEN_DELIVERY, DeliveryStatus
from settings import Settings

log = logging.getLogger(__name__)

STOP_WORDS = frozenset(
    {"STOP", "STOPP", "STOPALL", "ABMELDEN", "ABBESTELLEN", "UNSUBSCRIBE", "END", "CANCEL"}
    | {"QUIT", "REVOKE", "OPTOUT"}
)
START_WORDS = frozenset({"START", "ANMELDEN"})

# Twilio MessageStatus -> our delivery status.
_SENT, _DELIVERED, _FAILED = DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.FAILED
STATUSES = {
    "accepted": _SENT,
    "scheduled": _SENT,
    "queued": _SENT,
    "sending": _SENT,
    "sent": _SENT,
    "delivered": _DELIVERED,
    "read": _DELIVERED,
    "undelivered": _FAILED,
    "failed": _FAILED,
    "canceled": _FAILED,
}
# A status may only replace statuses listed here: a late "sent" never undoes "delivered".
EARLIER = {
    _SENT: OPEN_DELIVERY,
    _DELIVERED: (*OPEN_DELIVERY, _SENT),
    _FAILED: (*OPEN_DELIVERY, _SENT),
}
# The number itself is unusable or opted out: suppress it for the salon (R9).
SUPPRESS_CODES = {
    "21610": "twilio 21610 unsubscribed",
    "21211": "twilio 21211 invalid number",
    "21614": "twilio 21614 not a mobile number",
    "30003": "twilio 30003 unreachable",
    "30005": "twilio 30005 unknown number",
    "30006": "twilio 30006 landline or unreachable carrier",
}
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def keyword(body: str) -> str | None:
    """The opt-out/opt-in keyword a whole message consists of, or None."""
    word = body.strip().upper()
    return word if word in STOP_WORDS or word in START_WORDS else None


def public_url(base_url: str, request: Request) -> str:
    """The URL Twilio signed: the configured public base URL, the path and the query."""
    raw_path = request.scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else request.url.path
    query = request.scope.get("query_string", b"").decode("latin-1")
    return base_url.rstrip("/") + path + (f"?{query}" if query else "")


async def signed_params(settings: Settings, request: Request) -> dict[str, str] | None:
    """The form parameters if the request is signed by Twilio, else None."""
    signature = request.headers.get("x-twilio-signature")
    if not settings.twilio_auth_token or not signature:
        return None
    form = await request.form()
    if not all(isinstance(value, str) for _, value in form.multi_items()):
        return None  # Twilio never uploads files: a file part is not from Twilio
    validator = RequestValidator(settings.twilio_auth_token)
    if not validator.validate(public_url(settings.base_url, request), form, signature):
        return None
    return {key: str(value) for key, value in form.items()}


def _forbidden(request: Request) -> Response:
    peer = request.client.host if request.client else "?"
    log.warning(
        "twilio webhook %s refused: missing or wrong signature (from %s)", request.url.path, peer
    )
    return PlainTextResponse("forbidden", status_code=403)


# -- inbound SMS ----------------------------------------------------------------------------------


def _senders(session: Session, salon_id: int, phone: str) -> list[tuple[int, str]]:
    """(client id, party) for every client of the salon with that number, or as guardian."""
    rows = session.execute(
        select(Client.id, Client.phone_e164, Client.guardian_phone_e164).where(
            Client.salon_id == salon_id,
            or_(Client.phone_e164 == phone, Client.guardian_phone_e164 == phone),
        )
    )
    found = []
    for client_id, own, guardian in rows:
        if own == phone:
            found.append((client_id, "client"))
        if guardian == phone:
            found.append((client_id, "guardian"))
    return found


def _wanted(session: Session, client_id: int, party: str, action: str) -> bool:
    """Whether the keyword changes this client's state (START only restores an earlier grant)."""
    latest = latest_events(session, client_id, "sms").get(party, (0, ""))[1]
    if action == "withdrawn":
        return latest != "withdrawn"
    return latest == "withdrawn" and ever_granted(session, client_id, "sms", party)


def apply_keyword(session: Session, salon_id: int, phone: str, word: str, message_sid: str) -> int:
    """Record the keyword's consent change for every matching client; the number stored."""
    action = "withdrawn" if word in STOP_WORDS else "granted"
    stored = 0
    for client_id, party in _senders(session, salon_id, phone):
        if not _wanted(session, client_id, party, action):
            continue
        stored += record_consent_once(
            session,
            dedupe_key=f"twilio:{message_sid}:{client_id}:{party}",
            salon_id=salon_id,
            client_id=client_id,
            channel="sms",
            action=action,
            source="sms_keyword",
            party=party,
            evidence=f"SMS reply {word} ({message_sid})",
        )
    return stored


def keep_reply(session: Session, salon_id: int, sid: str, params: dict[str, str]) -> None:
    """Store a reply that is not a keyword once per MessageSid (Twilio retries webhooks)."""
    if not sid:
        return
    sender = params.get("From") or None
    senders = _senders(session, salon_id, sender) if sender else []
    values = {
        "salon_id": salon_id,
        "client_id": senders[0][0] if len(senders) == 1 else None,
        "from_address": (sender or "")[:20] or None,
        "to_address": (params.get("To") or "")[:20] or None,
        "body": params.get("Body", "")[:1600],
        "provider_id": sid[:64],
        "received_at": utcnow(),
    }
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(InboundMessage).values(values).on_conflict_do_nothing())


def handle_inbound(database_url: str, slug: str, params: dict[str, str]) -> bool:
    """False if the salon is unknown; stores consent changes of keyword replies."""
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    with session_scope(database_url) as session:
        salon_id = session.scalar(select(Salon.id).where(Salon.slug == slug))
        if salon_id is None:
            return False
        word = keyword(params.get("Body", ""))
        if word is None:
            # Not consent: kept for staff to read; the log names no number and no text.
            keep_reply(session, salon_id, sid, params)
            log.info("inbound sms salon=%s sid=%s: not a keyword, kept for staff", salon_id, sid)
            return True
        if not sid or not params.get("From"):
            log.warning("inbound sms salon=%s keyword without MessageSid/From ignored", salon_id)
            return True
        stored = apply_keyword(session, salon_id, params["From"], word, sid)
    log.info("inbound sms salon=%s sid=%s %s: %d consent event(s)", salon_id, sid, word, stored)
    return True


# -- status callbacks -----------------------------------------------------------------------------


def _suppress(session: Session, sid: str, code: str) -> None:
    rows = session.execute(
        select(Delivery.salon_id, Delivery.address).where(
            Delivery.provider_id == sid, Delivery.channel == "sms", Delivery.address.is_not(None)
        )
    ).all()
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    values = [
        {
            "salon_id": salon_id,
            "channel": "sms",
            "address": address,
            "reason": SUPPRESS_CODES[code],
            "created_at": utcnow(),
        }
        for salon_id, address in rows
    ]
    session.execute(dialect.insert(Suppression).values(values).on_conflict_do_nothing())


def handle_status(database_url: str, params: dict[str, str]) -> int:
    """Move the delivery of MessageSid forward to the reported status; rows changed."""
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    status = STATUSES.get(params.get("MessageStatus", "").lower())
    if not sid or status is None:
        return 0
    code = params.get("ErrorCode") or None
    values: dict[str, object] = {"status": status, "updated_at": utcnow()}
    if status == DeliveryStatus.FAILED:
        values.update(
            error_code=code or params.get("MessageStatus"), error=params.get("ErrorMessage")
        )
    with session_scope(database_url) as session:
        moved = session.execute(
            update(Delivery)
            .where(Delivery.provider_id == sid, Delivery.status.in_(EARLIER[status]))
            .values(values)
        )
        changed = cast("CursorResult[Any]", moved).rowcount
        if status == DeliveryStatus.FAILED and code in SUPPRESS_CODES:
            _suppress(session, sid, code)
    if not changed:
        log.info("status callback %s %s: no delivery moved (unknown sid or not newer)", sid, status)
    return int(changed)


def router(settings: Settings) -> APIRouter:
    routes = APIRouter(prefix="/webhooks/twilio")

    @routes.post("/sms/{salon_slug}")
    async def inbound_sms(salon_slug: str, request: Request) -> Response:
        params = await signed_params(settings, request)
        if params is None:
            return _forbidden(request)
        known = await run_in_threadpool(handle_inbound, settings.database_url, salon_slug, params)
        if not known:
            return PlainTextResponse("unknown salon", status_code=404)
        # An empty TwiML answer: Twilio sends its own STOP/START confirmations.
        return Response(EMPTY_TWIML, media_type="text/xml")

    @routes.post("/status")
    async def status_callback(request: Request) -> Response:
        params = await signed_params(settings, request)
        if params is None:
            return _forbidden(request)
        await run_in_threadpool(handle_status, settings.database_url, params)
        return Response(status_code=204)

    return routes
