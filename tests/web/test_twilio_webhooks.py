"""Twilio inbound SMS and status callbacks through the real ASGI app, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator
from web_support import AUTH_TOKEN, BASE_URL, PHONE, add_client, events, withdrawals

from db.consent import record_consent
from db.models import Campaign, Client, Delivery, Salon, Suppression
from settings import Settings
from web.app import create_app

INBOUND = "/webhooks/twilio/sms/anna"
STATUS = "/webhooks/twilio/status"


def sms(body: str, sid: str = "SM0001", phone: str = PHONE) -> dict[str, str]:
    return {"MessageSid": sid, "SmsSid": sid, "From": phone, "To": "+4930123456", "Body": body}


@pytest.mark.parametrize(
    "body",
    [
        "STOP",
        " stop ",
        "Stopp",
        "STOPALL",
        "abmelden",
        "ABBESTELLEN",
        "unsubscribe",
        "End",
        "cancel",
        "quit",
        "REVOKE",
        "optout",
        "\tSTOP\n",
    ],
)
def test_stop_keywords_withdraw_sms_for_the_number_in_that_salon_only(
    twilio_post, database_url, salon: Salon, anna: Client, bella_client: Client, body: str
) -> None:
    answer = twilio_post(INBOUND, sms(body))
    assert answer.status_code == 200 and "<Response>" in answer.text
    assert withdrawals(database_url, anna.id) == [("sms", "client", "withdrawn", "sms_keyword")]
    assert withdrawals(database_url, bella_client.id) == []  # same number, other salon


@pytest.mark.parametrize("body", ["STOP bitte", "Stop the promo please", "Termin morgen?", ""])
def test_other_texts_are_not_consent(
    twilio_post, database_url, salon: Salon, anna: Client, body
) -> None:
    before = events(database_url, anna.id)
    assert twilio_post(INBOUND, sms(body)).status_code == 200
    assert events(database_url, anna.id) == before


def test_other_texts_are_kept_for_staff_once_per_message(
    twilio_post, session: Session, database_url, salon: Salon, anna: Client
) -> None:
    from sqlalchemy import select

    from db.models import InboundMessage

    for _ in range(2):  # Twilio retries a webhook it thinks failed
        assert twilio_post(INBOUND, sms("Termin morgen?", sid="SM0042")).status_code == 200
    session.expire_all()
    kept = session.scalars(select(InboundMessage)).all()
    assert [(m.salon_id, m.client_id, m.from_address, m.body, m.provider_id) for m in kept] == [
        (salon.id, anna.id, PHONE, "Termin morgen?", "SM0042")
    ]


def test_stop_withdraws_every_client_sharing_the_number_and_as_guardian(
    twilio_post, session: Session, database_url, salon: Salon, anna: Client
) -> None:
    partner = add_client(session, salon, "K2")  # a family on one phone
    child = add_client(
        session,
        salon,
        "K3",
        phone="+4917699999999",
        phone_e164="+4917699999999",
        guardian_phone=PHONE,
        guardian_phone_e164=PHONE,
    )
    other = add_client(session, salon, "K4", phone="+4917688888888", phone_e164="+4917688888888")
    twilio_post(INBOUND, sms("STOP"))
    assert withdrawals(database_url, anna.id) == [("sms", "client", "withdrawn", "sms_keyword")]
    assert withdrawals(database_url, partner.id) == [("sms", "client", "withdrawn", "sms_keyword")]
    assert withdrawals(database_url, child.id) == [("sms", "guardian", "withdrawn", "sms_keyword")]
    assert withdrawals(database_url, other.id) == []


def test_a_replayed_stop_gives_one_event(
    twilio_post, database_url, salon: Salon, anna: Client
) -> None:
    for _ in range(3):
        headers = {"I-Twilio-Idempotency-Token": "idem-1"}
        assert twilio_post(INBOUND, sms("STOP", "SMreplay"), headers=headers).status_code == 200
    assert withdrawals(database_url, anna.id) == [("sms", "client", "withdrawn", "sms_keyword")]


def test_a_late_replay_of_stop_does_not_undo_a_later_start(
    twilio_post, database_url, salon: Salon, anna: Client
) -> None:
    twilio_post(INBOUND, sms("STOP", "SM1"))
    twilio_post(INBOUND, sms("START", "SM2"))
    twilio_post(INBOUND, sms("STOP", "SM1"))  # Twilio retrying the first webhook
    sms_events = [e[2] for e in events(database_url, anna.id) if e[0] == "sms"]
    assert sms_events == ["granted", "withdrawn", "granted"]


def test_start_regrants_only_where_the_client_granted_before(
    twilio_post, session: Session, database_url, salon: Salon, anna: Client
) -> None:
    # K9: granted (fixture), then withdrawn by telling staff.
    never = add_client(session, salon, "K9", phone="+4917677777777", phone_e164="+4917677777777")
    record_consent(
        session,
        salon_id=salon.id,
        client_id=never.id,
        channel="sms",
        action="withdrawn",
        source="oral",
    )
    session.commit()
    # K10: withdrawn without ever having granted.
    bare = Client(salon_id=salon.id, ref="K10", phone_e164="+4917666666666")
    session.add(bare)
    session.commit()
    record_consent(
        session,
        salon_id=salon.id,
        client_id=bare.id,
        channel="sms",
        action="withdrawn",
        source="oral",
    )
    session.commit()

    twilio_post(INBOUND, sms("STOP", "SMa"))
    assert twilio_post(INBOUND, sms(" anmelden ", "SMb")).status_code == 200
    assert [e[2] for e in events(database_url, anna.id) if e[0] == "sms"][-2:] == [
        "withdrawn",
        "granted",
    ]
    assert events(database_url, anna.id)[-1][3] == "sms_keyword"

    twilio_post(INBOUND, sms("START", "SMc", phone="+4917666666666"))
    assert [e[2] for e in events(database_url, bare.id)] == [
        "withdrawn"
    ]  # never granted: no change
    twilio_post(INBOUND, sms("START", "SMd", phone="+4917677777777"))
    assert [e[2] for e in events(database_url, never.id) if e[0] == "sms"] == [
        "granted",
        "withdrawn",
        "granted",
    ]


def test_start_without_a_withdrawal_adds_nothing(twilio_post, database_url, salon, anna) -> None:
    before = events(database_url, anna.id)
    twilio_post(INBOUND, sms("START", "SMx"))
    assert events(database_url, anna.id) == before


def test_unknown_salon_slug_is_404(twilio_post, salon, anna) -> None:
    assert twilio_post("/webhooks/twilio/sms/nobody", sms("STOP")).status_code == 404


def _bad_requests(twilio_post, web: TestClient, path: str, params: dict[str, str]):
    """(name, response) for each way a request can fail to be Twilio's."""
    sign = RequestValidator(AUTH_TOKEN).compute_signature
    changed = {**params, "Body": "STOP", "MessageStatus": "failed", "ErrorCode": "21610"}
    yield "unsigned", web.post(path, data=params)
    yield "wrong signature", twilio_post(path, params, signature="bm90IGEgc2lnbmF0dXJl")
    other_key = RequestValidator("not-our-token").compute_signature(BASE_URL + path, params)
    yield "other auth token", twilio_post(path, params, signature=other_key)
    yield (
        "signed for the internal URL",
        twilio_post(path, params, signature=sign("http://testserver" + path, params)),
    )
    yield "tampered body", twilio_post(path, changed, signature=sign(BASE_URL + path, params))


def test_unsigned_or_wrongly_signed_webhooks_answer_403_and_change_nothing(
    twilio_post, web: TestClient, session: Session, database_url, salon: Salon, anna: Client
) -> None:
    delivery = _sent_delivery(session, salon, anna, "SMstatus")
    before = events(database_url, anna.id)
    inbound = _bad_requests(twilio_post, web, INBOUND, sms("Hallo"))
    status = _bad_requests(
        twilio_post, web, STATUS, {"MessageSid": "SMstatus", "MessageStatus": "sent"}
    )
    for name, answer in [*inbound, *status]:
        assert answer.status_code == 403, name
    assert events(database_url, anna.id) == before
    session.expire_all()
    assert session.get(Delivery, delivery.id).status == "sent"
    assert session.scalars(select(Suppression)).all() == []


def test_webhooks_are_refused_when_no_auth_token_is_configured(database_url, salon, anna) -> None:
    settings = Settings(
        environment="test",
        database_url=database_url,
        secret_key="x" * 32,
        pin_pepper="p" * 32,
        base_url=BASE_URL,
    )
    web = TestClient(create_app(settings), base_url=BASE_URL)
    answer = web.post(INBOUND, data=sms("STOP"), headers={"X-Twilio-Signature": "anything"})
    assert answer.status_code == 403
    assert withdrawals(database_url, anna.id) == []


def test_signature_covers_the_query_string(twilio_post, database_url, salon, anna) -> None:
    assert twilio_post(INBOUND + "?via=console", sms("STOP")).status_code == 200
    assert len(withdrawals(database_url, anna.id)) == 1


def test_forwarded_host_cannot_make_a_forged_signature_valid(
    settings, database_url, salon, anna
) -> None:
    settings = settings.model_copy(update={"trusted_proxies": ["0.0.0.0/0", "::/0"]})
    web = TestClient(create_app(settings), base_url="http://testserver", client=("10.0.0.5", 4000))
    params = sms("STOP")
    forged = RequestValidator(AUTH_TOKEN).compute_signature(
        "https://evil.example" + INBOUND, params
    )
    answer = web.post(
        INBOUND,
        data=params,
        headers={
            "X-Twilio-Signature": forged,
            "X-Forwarded-Host": "evil.example",
            "X-Forwarded-Proto": "https",
        },
    )
    assert answer.status_code == 403 and withdrawals(database_url, anna.id) == []


# -- status callbacks -------------------------------------------------------------------------


def _sent_delivery(session: Session, salon: Salon, client: Client, sid: str) -> Delivery:
    campaign = Campaign(
        salon_id=salon.id, name="Herbst", sms_body="x {{ unsubscribe_url }}", status="sending"
    )
    session.add(campaign)
    session.flush()
    delivery = Delivery(
        salon_id=salon.id,
        campaign_id=campaign.id,
        client_id=client.id,
        channel="sms",
        address=client.phone_e164,
        status="sent",
        provider_id=sid,
    )
    session.add(delivery)
    session.commit()
    return delivery


def status(sid: str, state: str, code: str | None = None) -> dict[str, str]:
    params = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": state, "To": PHONE}
    if code:
        params["ErrorCode"] = code
    return params


def _state(session: Session, delivery: Delivery) -> tuple[str, str | None]:
    session.expire_all()
    row = session.get(Delivery, delivery.id)
    return row.status, row.error_code


def test_status_moves_forward_and_never_back(twilio_post, session, salon, anna) -> None:
    delivery = _sent_delivery(session, salon, anna, "SMok")
    assert twilio_post(STATUS, status("SMok", "queued")).status_code == 204
    assert _state(session, delivery) == ("sent", None)
    twilio_post(STATUS, status("SMok", "delivered"))
    assert _state(session, delivery) == ("delivered", None)
    for late in ("sent", "queued", "sending", "undelivered", "failed"):
        twilio_post(STATUS, status("SMok", late, "30001"))
        assert _state(session, delivery) == ("delivered", None), late


def test_replayed_callbacks_change_nothing_more(twilio_post, session, salon, anna) -> None:
    delivery = _sent_delivery(session, salon, anna, "SMrep")
    for _ in range(3):
        assert twilio_post(STATUS, status("SMrep", "undelivered", "30005")).status_code == 204
    assert _state(session, delivery) == ("failed", "30005")
    assert len(session.scalars(select(Suppression)).all()) == 1


@pytest.mark.parametrize("code", ["21610", "30003", "30005", "30006", "21211", "21614"])
def test_permanent_failures_suppress_the_number(twilio_post, session, salon, anna, code) -> None:
    delivery = _sent_delivery(session, salon, anna, f"SM{code}")
    twilio_post(STATUS, status(f"SM{code}", "failed", code))
    assert _state(session, delivery) == ("failed", code)
    rows = session.scalars(select(Suppression)).all()
    assert [(r.salon_id, r.channel, r.address) for r in rows] == [(salon.id, "sms", PHONE)]
    assert code in rows[0].reason


def test_other_failures_do_not_suppress(twilio_post, session, salon, anna) -> None:
    delivery = _sent_delivery(session, salon, anna, "SMq")
    twilio_post(STATUS, status("SMq", "undelivered", "30001"))
    assert _state(session, delivery) == ("failed", "30001")
    assert session.scalars(select(Suppression)).all() == []


def test_unknown_message_sid_is_accepted_and_changes_nothing(
    twilio_post, session, salon, anna
) -> None:
    delivery = _sent_delivery(session, salon, anna, "SMmine")
    assert twilio_post(STATUS, status("SMnotours", "failed", "21610")).status_code == 204
    assert _state(session, delivery) == ("sent", None)
    assert session.scalars(select(Suppression)).all() == []


def test_signature_is_checked_on_the_public_url_behind_a_reverse_proxy(
    settings, twilio_post, database_url, salon, anna
) -> None:
    """The proxy calls http://10.0.0.2:8000/...; Twilio signed https://salonpost.example.com/..."""
    behind_proxy = TestClient(create_app(settings), base_url="http://10.0.0.2:8000")
    params = sms("STOP")
    signature = RequestValidator(AUTH_TOKEN).compute_signature(BASE_URL + INBOUND, params)
    answer = behind_proxy.post(INBOUND, data=params, headers={"X-Twilio-Signature": signature})
    assert answer.status_code == 200 and len(withdrawals(database_url, anna.id)) == 1
