"""The staff web UI over HTTP (TestClient): sign-in, PIN lock-out, CSRF, salons kept apart,
one access-log row per action, and the live check. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from ui_support import (
    GOOD_SMS,
    NO_LINK_SMS,
    PIN,
    access_rows,
    csrf_of,
    last_access,
    sign_in,
)

from db.consent import current_consent
from db.models import AccessLog, Campaign, Client, ConsentEvent, Delivery, Salon, Staff, utcnow
from db.session import session_factory
from settings import Settings
from templates.texts import text


@pytest.fixture
def no_sending(web: TestClient, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Queue/resume record the campaign ids instead of starting the in-process worker."""
    started: list[int] = []
    monkeypatch.setattr(web.app.state.dispatch, "start", started.append)  # type: ignore[attr-defined]
    return started


def _campaign(settings: Settings, salon: Salon, sms: str = GOOD_SMS, status: str = "draft") -> int:
    with session_factory(settings.database_url)() as s:
        row = Campaign(salon_id=salon.id, name="Herbst", sms_body=sms, status=status)
        s.add(row)
        s.commit()
        return row.id


def _status(settings: Settings, campaign_id: int) -> str:
    with session_factory(settings.database_url)() as s:
        return s.get_one(Campaign, campaign_id).status


# -- sign-in ------------------------------------------------------------------------------------


def test_sign_in_and_out(web: TestClient, anna: Salon) -> None:
    assert web.get("/staff/campaigns", follow_redirects=False).headers["location"] == "/staff/login"
    csrf = sign_in(web, "anna", "Mara")
    cookie = next(c for c in web.cookies.jar if c.name == "salonpost_staff")
    assert cookie.secure and cookie.has_nonstandard_attr("HttpOnly")
    assert "Salon Anna" in web.get("/staff/campaigns").text
    web.post("/staff/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert web.get("/staff/campaigns", follow_redirects=False).status_code == 303


def test_session_cookie_is_strict(web: TestClient, anna: Salon) -> None:
    page = web.get("/staff/login")
    answer = web.post(
        "/staff/login",
        data={"salon": "anna", "name": "Mara", "pin": PIN, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    header = next(
        h for h in answer.headers.get_list("set-cookie") if h.startswith("salonpost_staff=")
    )
    assert "SameSite=strict" in header and "HttpOnly" in header and "Secure" in header


@pytest.mark.parametrize(
    ("salon", "name", "pin"),
    [("anna", "Mara", "0000"), ("anna", "Nobody", PIN), ("nosuch", "Mara", PIN)],
)
def test_wrong_salon_name_or_pin_get_one_answer(
    web: TestClient, anna: Salon, salon: str, name: str, pin: str
) -> None:
    page = web.get("/staff/login")
    answer = web.post(
        "/staff/login",
        data={"salon": salon, "name": name, "pin": pin, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 401
    assert text("staff.login.refused") in answer.text
    assert "salonpost_staff" not in web.cookies


def test_five_wrong_pins_lock_even_the_right_one(web: TestClient, anna: Salon) -> None:
    for _ in range(5):
        page = web.get("/staff/login")
        web.post(
            "/staff/login",
            data={"salon": "anna", "name": "Mara", "pin": "9999", "csrf_token": csrf_of(page.text)},
        )
    page = web.get("/staff/login")
    answer = web.post(
        "/staff/login",
        data={"salon": "anna", "name": "Mara", "pin": PIN, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 401
    assert "locked until" in answer.text


def test_a_locked_staff_member_can_do_nothing_with_an_open_session(
    web: TestClient, settings: Settings, anna: Salon
) -> None:
    csrf = sign_in(web, "anna", "Mara")
    with session_factory(settings.database_url)() as s:
        s.execute(update(Staff).values(locked_until=utcnow() + dt.timedelta(minutes=15)))
        s.commit()
    before = access_rows(settings.database_url)
    answer = web.post("/staff/campaigns/new", data={"csrf_token": csrf, "name": "X"})
    assert answer.status_code == 403
    assert access_rows(settings.database_url) == before
    with session_factory(settings.database_url)() as s:
        assert s.scalar(select(Campaign.id)) is None


def test_the_sign_in_form_needs_its_own_token(web: TestClient, anna: Salon) -> None:
    answer = web.post(
        "/staff/login", data={"salon": "anna", "name": "Mara", "pin": PIN, "csrf_token": "x"}
    )
    assert answer.status_code == 403


# -- CSRF and salons ----------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["", "forged"])
def test_a_post_without_the_session_token_is_refused(
    web: TestClient, settings: Settings, anna: Salon, no_sending: list[int], token: str
) -> None:
    sign_in(web, "anna", "Mara")
    campaign_id = _campaign(settings, anna)
    before = access_rows(settings.database_url)
    answer = web.post(f"/staff/campaigns/{campaign_id}/queue", data={"csrf_token": token})
    assert answer.status_code == 403
    assert _status(settings, campaign_id) == "draft"
    assert access_rows(settings.database_url) == before
    assert no_sending == []


def test_another_salons_campaigns_and_clients_are_not_found(
    web: TestClient,
    settings: Settings,
    anna: Salon,
    bella: Salon,
    anna_clients: list[Client],
    no_sending: list[int],
) -> None:
    campaign_id = _campaign(settings, anna)
    client_id = anna_clients[0].id
    csrf = sign_in(web, "bella", "Ben")
    for path in ("", "/edit", "/audience", "/status.json"):
        assert web.get(f"/staff/campaigns/{campaign_id}{path}").status_code == 404, path
    for verb in ("queue", "pause", "resume", "cancel", "retry-failed", "test", "edit"):
        answer = web.post(f"/staff/campaigns/{campaign_id}/{verb}", data={"csrf_token": csrf})
        assert answer.status_code == 404, verb
    check = {"csrf_token": csrf, "campaign_id": str(campaign_id), "sms_body": GOOD_SMS}
    assert web.post("/staff/campaigns/check", data=check).status_code == 404
    assert web.get(f"/staff/clients/{client_id}").status_code == 404
    assert web.get(f"/staff/clients/{client_id}/forget").status_code == 404
    for verb in ("consent", "no-reminders", "export", "forget"):
        answer = web.post(f"/staff/clients/{client_id}/{verb}", data={"csrf_token": csrf})
        assert answer.status_code == 404, verb
    assert "K1" not in web.get("/staff/clients?q=K").text
    assert _status(settings, campaign_id) == "draft"
    assert no_sending == []


# -- one access-log row per action --------------------------------------------------------------


def _actions(settings: Settings, anna: Salon, clients: list[Client]) -> list[tuple[str, Callable]]:
    """(access-log action, a staff action doing it through the web) in a sensible order."""
    client = clients[0].id

    def post(path: str, **data: str) -> Callable:
        # The page shown after the redirect is a read of its own (and logged as such).
        return lambda web, csrf: web.post(
            path, data={"csrf_token": csrf, **data}, follow_redirects=False
        )

    def get(path: str) -> Callable:
        return lambda web, csrf: web.get(path)

    draft = {"name": "Herbst", "window_months": "12", "sms_body": GOOD_SMS}
    return [
        ("campaign.create", post("/staff/campaigns/new", **{**draft, "sms_body": NO_LINK_SMS})),
        ("campaign.queue", post("/staff/campaigns/1/queue")),  # refused (R1), logged anyway
        ("campaign.edit", post("/staff/campaigns/1/edit", **draft)),
        ("campaign.audience", get("/staff/campaigns/1/audience")),
        ("campaign.audience", get("/staff/campaigns/1/audience?channel=sms&rule=R4")),
        ("campaign.test", post("/staff/campaigns/1/test", channel="sms", address="+4915112345678")),
        ("campaign.queue", post("/staff/campaigns/1/queue")),
        ("campaign.pause", post("/staff/campaigns/1/pause")),
        ("campaign.resume", post("/staff/campaigns/1/resume")),
        ("campaign.cancel", post("/staff/campaigns/1/cancel")),
        ("clients.search", get("/staff/clients?q=K")),
        ("client.show", get(f"/staff/clients/{client}")),
        (
            "consent.record",
            post(
                f"/staff/clients/{client}/consent", channel="sms", action="withdrawn", source="oral"
            ),
        ),
        ("client.no_reminders", post(f"/staff/clients/{client}/no-reminders", on="1")),
        ("client.export", post(f"/staff/clients/{client}/export")),
        ("client.forget", post(f"/staff/clients/{client}/forget", pin=PIN, confirm="1")),
        (
            "salon.settings",
            post(
                "/staff/salon",
                window_months="24",
                minor_age="16",
                retention_months="0",
                quiet_start="20:00",
                quiet_end="08:00",
            ),
        ),
        (
            "salon.retention",
            post(
                "/staff/salon",
                window_months="24",
                minor_age="16",
                retention_months="60",
                quiet_start="21:00",
                quiet_end="08:00",
            ),
        ),
    ]


def test_every_staff_action_writes_one_access_log_row(
    web: TestClient,
    settings: Settings,
    anna: Salon,
    anna_clients: list[Client],
    no_sending: list[int],
) -> None:
    csrf = sign_in(web, "anna", "Mara")
    for action, do in _actions(settings, anna, anna_clients):
        before = access_rows(settings.database_url)
        answer = do(web, csrf)
        assert answer.status_code < 500, (action, answer.text[:300])
        assert access_rows(settings.database_url) == before + 1, action
        row = last_access(settings.database_url)
        assert (row.action, row.staff_id is not None, row.salon_id) == (action, True, anna.id)
    assert no_sending == [1, 1]  # queued, resumed
    assert "retention_months=60" not in (row.detail or "") and "months=60" in (row.detail or "")


def test_the_test_message_goes_to_the_outbox_and_is_no_delivery(
    web: TestClient, settings: Settings, anna: Salon, anna_clients: list[Client]
) -> None:
    csrf = sign_in(web, "anna", "Mara")
    campaign_id = _campaign(settings, anna)
    answer = web.post(
        f"/staff/campaigns/{campaign_id}/test",
        data={"csrf_token": csrf, "channel": "sms", "address": "0151 12345678"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    sent = list(Path(settings.outbox_dir).rglob("*"))
    files = [p for p in sent if p.is_file()]
    assert len(files) == 1 and "+4915112345678" in files[0].read_text()
    with session_factory(settings.database_url)() as s:
        assert s.scalar(select(Delivery.id)) is None


def test_retry_failed_sends_again_what_failed_for_a_passing_cause(
    web: TestClient,
    settings: Settings,
    anna: Salon,
    anna_clients: list[Client],
    no_sending: list[int],
) -> None:
    campaign_id = _campaign(settings, anna, status="done")
    outcomes = [("failed", "transient"), ("failed", "21211"), ("sent", None)]
    with session_factory(settings.database_url)() as s:
        for client, (status, code) in zip(anna_clients, outcomes, strict=False):
            s.add(Delivery(salon_id=anna.id, campaign_id=campaign_id, client_id=client.id,
                           channel="sms", address=client.phone, status=status,
                           error_code=code, attempts=10))  # fmt: skip
        s.commit()
    csrf = sign_in(web, "anna", "Mara")
    page = web.get(f"/staff/campaigns/{campaign_id}")
    assert f'action="/staff/campaigns/{campaign_id}/retry-failed"' in page.text
    before = access_rows(settings.database_url)
    answer = web.post(f"/staff/campaigns/{campaign_id}/retry-failed", data={"csrf_token": csrf})
    assert answer.status_code == 200 and text("staff.done.retried") in answer.text
    with session_factory(settings.database_url)() as s:
        states = s.execute(
            select(Delivery.error_code, Delivery.status, Delivery.attempts).where(
                Delivery.campaign_id == campaign_id
            )
        ).all()
    # The passing cause goes again from a fresh count; the provider's refusal stays failed.
    assert sorted(states, key=str) == sorted(
        [("transient", "pending", 0), ("21211", "failed", 10), (None, "sent", 10)], key=str
    )
    assert _status(settings, campaign_id) == "sending"
    assert no_sending == [campaign_id]
    assert access_rows(settings.database_url) == before + 1
    with session_factory(settings.database_url)() as s:
        logged = s.scalars(select(AccessLog.detail).where(AccessLog.action == "campaign.retry"))
        assert list(logged) == ["web 1 deliveries queued again"]


def test_retry_failed_is_not_offered_when_nothing_can_be_retried(
    web: TestClient, settings: Settings, anna: Salon
) -> None:
    campaign_id = _campaign(settings, anna, status="done")
    sign_in(web, "anna", "Mara")
    page = web.get(f"/staff/campaigns/{campaign_id}")
    assert page.status_code == 200 and "/retry-failed" not in page.text


NEW_CLIENT = {
    "ref": "N1", "first_name": "Greta", "phone": "0176 55555555", "email": "greta@example.com",
    "sms_consent": "oral", "email_consent": "declined",
}  # fmt: skip


def test_a_new_client_is_created_with_the_consent_answer_per_channel(
    web: TestClient, settings: Settings, anna: Salon
) -> None:
    csrf = sign_in(web, "anna", "Mara")
    before = access_rows(settings.database_url)
    answer = web.post("/staff/clients/new", data={"csrf_token": csrf, **NEW_CLIENT})
    assert answer.status_code == 200 and text("staff.done.client_created") in answer.text
    assert 'data-consent="sms" data-state="granted"' in answer.text
    assert 'data-consent="email" data-state="withdrawn"' in answer.text
    with session_factory(settings.database_url)() as s:
        client = s.scalars(select(Client).where(Client.ref == "N1")).one()
        assert (client.salon_id, client.phone_e164) == (anna.id, "+4917655555555")
        mara = s.scalars(select(Staff).where(Staff.name == "Mara")).one()
        rows = s.scalars(select(ConsentEvent).where(ConsentEvent.client_id == client.id))
        events = {e.channel: (e.action, e.source, e.staff_id) for e in rows}
        assert events == {
            "sms": ("granted", "oral", mara.id),
            "email": ("withdrawn", "oral", mara.id),
        }
        created = s.scalars(select(AccessLog).where(AccessLog.action == "client.create")).one()
        assert (created.client_id, created.staff_id) == (client.id, mara.id)
    assert access_rows(settings.database_url) == before + 2  # created, then the card shown


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"sms_consent": ""}, "sms consent"),
        ({"phone": "0176 55"}, "not a valid number"),
        ({"email": "greta@"}, "not a valid address"),
        ({"email_consent": "form"}, "form reference"),
        ({"ref": "K1"}, "exists already"),
        ({"birth_date": "2010-02-30"}, "day is out of range"),
    ],
)
def test_a_new_client_with_bad_input_is_refused_and_nothing_is_stored(
    web: TestClient,
    settings: Settings,
    anna: Salon,
    anna_clients: list[Client],
    change: dict[str, str],
    named: str,
) -> None:
    csrf = sign_in(web, "anna", "Mara")
    before = access_rows(settings.database_url)
    form = {"csrf_token": csrf, **NEW_CLIENT, **change}
    answer = web.post("/staff/clients/new", data=form)
    assert answer.status_code == 422 and named in answer.text
    assert 'value="Greta"' in answer.text  # what was typed is kept
    with session_factory(settings.database_url)() as s:
        assert s.scalar(select(func.count()).select_from(Client)) == len(anna_clients)
    assert access_rows(settings.database_url) == before


def test_queue_refuses_an_invalid_campaign_naming_the_rule(
    web: TestClient, settings: Settings, anna: Salon, no_sending: list[int]
) -> None:
    csrf = sign_in(web, "anna", "Mara")
    campaign_id = _campaign(settings, anna, sms=NO_LINK_SMS)
    answer = web.post(f"/staff/campaigns/{campaign_id}/queue", data={"csrf_token": csrf})
    assert answer.status_code == 409
    assert 'data-rule="R1"' in answer.text
    assert _status(settings, campaign_id) == "draft"
    assert no_sending == []


def test_client_card_consent_forget_and_export(
    web: TestClient, settings: Settings, anna: Salon, anna_clients: list[Client]
) -> None:
    csrf = sign_in(web, "anna", "Mara")
    client = anna_clients[0]
    card = web.get(f"/staff/clients/{client.id}")
    assert 'data-consent="sms" data-state="granted"' in card.text
    web.post(
        f"/staff/clients/{client.id}/consent",
        data={"csrf_token": csrf, "channel": "email", "action": "withdrawn", "source": "oral"},
    )
    with session_factory(settings.database_url)() as s:
        assert current_consent(s, client.id)[("client", "email")] == "withdrawn"
    export = web.post(f"/staff/clients/{client.id}/export", data={"csrf_token": csrf})
    assert "attachment" in export.headers["content-disposition"]
    assert json.loads(export.text)["format"] == "salonpost.client-export"
    wrong = web.post(
        f"/staff/clients/{client.id}/forget",
        data={"csrf_token": csrf, "pin": "0000", "confirm": "1"},
    )
    assert wrong.status_code == 422
    web.post(
        f"/staff/clients/{client.id}/forget", data={"csrf_token": csrf, "pin": PIN, "confirm": "1"}
    )
    with session_factory(settings.database_url)() as s:
        forgotten = s.get_one(Client, client.id)
        assert forgotten.anonymised_at is not None and forgotten.first_name is None


def test_salon_settings_are_validated_and_saved(
    web: TestClient, settings: Settings, anna: Salon
) -> None:
    csrf = sign_in(web, "anna", "Mara")
    form = {"csrf_token": csrf, "window_months": "48", "minor_age": "16", "retention_months": "0",
            "quiet_start": "25:00", "quiet_end": "08:00", "sms_sender": "SalonAnna"}  # fmt: skip
    refused = web.post("/staff/salon", data=form)
    assert refused.status_code == 422 and refused.text.count('aria-invalid="true"') == 2
    web.post("/staff/salon", data={**form, "window_months": "24", "quiet_start": "19:30"})
    with session_factory(settings.database_url)() as s:
        salon = s.get_one(Salon, anna.id)
        assert (salon.window_months, salon.quiet_start, salon.sms_sender) == (
            24,
            "19:30",
            "SalonAnna",
        )


# -- the live check -----------------------------------------------------------------------------


def _check(web: TestClient, csrf: str, **fields: str) -> dict:
    answer = web.post(
        "/staff/campaigns/check",
        data={"csrf_token": csrf, "name": "x", **fields},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 200
    return answer.json()


def test_check_names_rule_field_and_line(web: TestClient, anna: Salon) -> None:
    csrf = sign_in(web, "anna", "Mara")
    missing = _check(web, csrf, sms_body=NO_LINK_SMS)
    assert not missing["valid"]
    assert [(p["rule"], p["field"]) for p in missing["problems"]] == [("R1", "sms")]
    unknown = _check(web, csrf, sms_body="Hallo\n{{ vorname }} {{ unsubscribe_url }}")
    assert [(p["rule"], p["field"], p["line"]) for p in unknown["problems"]] == [("R2", "sms", 2)]
    no_subject = _check(web, csrf, email_html='<a href="{{ unsubscribe_url }}">x</a>')
    assert ("R2", "email_subject", "missing") in [
        (p["rule"], p["field"], p["code"]) for p in no_subject["problems"]
    ]


def test_check_counts_sms_segments_and_previews_for_a_sample_client(
    web: TestClient, anna: Salon
) -> None:
    csrf = sign_in(web, "anna", "Mara")
    result = _check(web, csrf, sms_body=GOOD_SMS + " 💇", email_subject="Hallo {{ first_name }}",
                    email_html="<p>{{ first_name }}</p><a href=\"{{ unsubscribe_url }}\">x</a>",
                    email_text="{{ unsubscribe_url }}")  # fmt: skip
    assert result["valid"], result["problems"]
    assert result["sms"]["encoding"] == "UCS-2" and result["sms"]["segments"] == 2
    assert result["preview"]["sms_body"].startswith("Hallo Anna, 20% auf alles bei Salon Anna!")
    assert "/u/" in result["preview"]["sms_body"]
    assert result["preview"]["email_subject"] == "Hallo Anna"
    assert "data-rule" not in result["html"]


def test_check_without_javascript_draws_the_editor(web: TestClient, anna: Salon) -> None:
    csrf = sign_in(web, "anna", "Mara")
    answer = web.post(
        "/staff/campaigns/check", data={"csrf_token": csrf, "name": "x", "sms_body": NO_LINK_SMS}
    )
    assert answer.status_code == 200 and "text/html" in answer.headers["content-type"]
    assert 'data-rule="R1" data-field="sms"' in answer.text
    assert NO_LINK_SMS in answer.text  # the typed text is kept


@pytest.mark.parametrize("lang", ["en", "de"])
def test_every_page_renders_in_both_languages(
    web: TestClient, settings: Settings, anna: Salon, anna_clients: list[Client], lang: str
) -> None:
    sign_in(web, "anna", "Mara")
    campaign_id = _campaign(settings, anna)
    client_id = anna_clients[0].id
    pages = [
        "/staff/campaigns",
        "/staff/campaigns/new",
        f"/staff/campaigns/{campaign_id}",
        f"/staff/campaigns/{campaign_id}/edit",
        f"/staff/campaigns/{campaign_id}/audience",
        f"/staff/campaigns/{campaign_id}/audience?channel=sms&rule=R4",
        "/staff/clients?q=K",
        "/staff/clients/new",
        f"/staff/clients/{client_id}",
        f"/staff/clients/{client_id}/forget",
        "/staff/salon",
    ]
    for path in pages:
        answer = web.get(path, params={"lang": lang}, headers={"Accept-Language": "fr"})
        assert answer.status_code == 200, path
        assert f'<html lang="{lang}">' in answer.text
    assert ("Kampagnen" in web.get("/staff/campaigns").text) == (lang == "de")  # remembered
