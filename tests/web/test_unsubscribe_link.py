"""The unsubscribe link through the real ASGI app, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from web_support import BASE_URL, SECRET, events, withdrawals

from db.models import Client, Salon
from templates.links import UnsubscribeToken, read_token, unsubscribe_url

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def test_get_shows_the_confirmation_and_changes_nothing(
    web: TestClient, database_url: str, salon: Salon, anna: Client, token_for
) -> None:
    before = events(database_url, anna.id)
    page = web.get(f"/u/{token_for(salon.id, anna.id, 'sms')}")
    assert page.status_code == 200
    assert "Salon Anna" in page.text and "SMS" in page.text
    assert page.text.count("<button") == 1 and 'method="post"' in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "set-cookie" not in page.headers
    web.head(f"/u/{token_for(salon.id, anna.id, 'sms')}")
    assert events(database_url, anna.id) == before


@pytest.mark.parametrize(
    ("accept_language", "expected", "lang"),
    [
        ("de-DE,de;q=0.9,en;q=0.8", "Von Salon Anna abmelden", "de"),
        ("en-GB,en;q=0.9", "Unsubscribe from Salon Anna", "en"),
        ("fr-FR, de;q=0.5", "Von Salon Anna abmelden", "de"),
        ("", "Unsubscribe from Salon Anna", "en"),
    ],
)
def test_confirmation_speaks_german_or_english(
    web: TestClient, salon: Salon, anna: Client, token_for, accept_language, expected, lang
) -> None:
    page = web.get(
        f"/u/{token_for(salon.id, anna.id)}", headers={"Accept-Language": accept_language}
    )
    assert expected in page.text and f'<html lang="{lang}">' in page.text


def test_post_withdraws_with_source_link_and_campaign_once(
    web: TestClient, database_url: str, salon: Salon, anna: Client, token_for
) -> None:
    path = f"/u/{token_for(salon.id, anna.id, 'email')}"
    done = web.post(path, headers={"Accept-Language": "de"})
    assert done.status_code == 200
    assert "Sie sind abgemeldet" in done.text and "E-Mail" in done.text
    assert 'name="all"' in done.text  # the offer to unsubscribe from every channel
    assert web.post(path).status_code == 200  # a second POST is harmless
    assert withdrawals(database_url, anna.id) == [("email", "client", "withdrawn", "link")]


def test_the_event_names_the_campaign_of_the_link(
    web: TestClient, session, database_url: str, salon: Salon, anna: Client, token_for
) -> None:
    from db.models import Campaign, ConsentEvent

    campaign = Campaign(salon_id=salon.id, name="Herbst", sms_body="x {{ unsubscribe_url }}")
    session.add(campaign)
    session.commit()
    web.post(f"/u/{token_for(salon.id, anna.id, 'sms', campaign.id)}")
    session.expire_all()
    event = session.query(ConsentEvent).filter_by(client_id=anna.id, action="withdrawn").one()
    assert (event.campaign_id, event.source, event.salon_id) == (campaign.id, "link", salon.id)
    assert event.at is not None


def test_unsubscribe_from_all_channels(
    web: TestClient, database_url: str, salon: Salon, anna: Client, token_for
) -> None:
    path = f"/u/{token_for(salon.id, anna.id, 'sms')}"
    web.post(path)
    done = web.post(path, data={"all": "1"})
    assert done.status_code == 200 and 'name="all"' not in done.text
    assert sorted(withdrawals(database_url, anna.id)) == [
        ("email", "client", "withdrawn", "link"),
        ("sms", "client", "withdrawn", "link"),
    ]


def test_a_withdrawal_after_a_regrant_is_stored_again(
    web: TestClient, session, database_url: str, salon: Salon, anna: Client, token_for
) -> None:
    from db.consent import record_consent

    path = f"/u/{token_for(salon.id, anna.id, 'sms')}"
    web.post(path)
    record_consent(
        session,
        salon_id=salon.id,
        client_id=anna.id,
        channel="sms",
        action="granted",
        source="oral",
    )
    session.commit()
    web.post(path)
    assert [e[2] for e in events(database_url, anna.id) if e[0] == "sms"][-3:] == [
        "withdrawn",
        "granted",
        "withdrawn",
    ]


def _one_click(web: TestClient, path: str, multipart: bool) -> object:
    if multipart:
        return web.post(path, files={"List-Unsubscribe": (None, "One-Click")})
    return web.post(path, data={"List-Unsubscribe": "One-Click"})


@pytest.mark.parametrize("multipart", [False, True], ids=["urlencoded", "multipart"])
def test_rfc8058_one_click_withdraws_without_page_cookie_or_redirect(
    web: TestClient, database_url: str, salon: Salon, anna: Client, token_for, multipart: bool
) -> None:
    path = f"/u/{token_for(salon.id, anna.id, 'email')}"
    answer = _one_click(web, path, multipart)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert "set-cookie" not in answer.headers and "location" not in answer.headers
    assert withdrawals(database_url, anna.id) == [("email", "client", "withdrawn", "link")]


def test_one_click_over_plain_http_is_not_redirected(
    settings, salon: Salon, anna: Client, token_for
) -> None:
    from web.app import create_app

    plain = TestClient(create_app(settings), base_url="http://internal:8000")
    answer = plain.post(
        f"/u/{token_for(salon.id, anna.id)}",
        data={"List-Unsubscribe": "One-Click"},
        follow_redirects=False,
    )
    assert answer.status_code == 200


def _forged(token: str) -> str:
    """The same payload for another client, keeping the old signature."""
    payload, signature = token.split("~")
    salon, client, channel, campaign = payload.split("-")
    other = "z" if client != "z" else "y"
    return f"{salon}-{other}-{channel}-{campaign}~{signature}"


def test_forged_tampered_foreign_and_unknown_tokens_get_one_answer_and_change_nothing(
    web: TestClient,
    database_url: str,
    salon: Salon,
    anna: Client,
    other_salon: Salon,
    bella_client: Client,
    token_for,
) -> None:
    good = token_for(salon.id, anna.id, "sms")
    bad = {
        "forged": _forged(good),
        "bad signature": good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        "foreign": token_for(salon.id, bella_client.id, "sms"),  # salon A naming B's client
        "unknown client": token_for(salon.id, 999_999, "sms"),
        "foreign campaign": token_for(salon.id, anna.id, "sms", 424_242),
        "garbage": "not-a-token",
    }
    before = {c: events(database_url, c) for c in (anna.id, bella_client.id)}
    answers = set()
    for name, token in bad.items():
        for response in (
            web.get(f"/u/{token}"),
            web.post(f"/u/{token}"),
            web.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"}),
        ):
            assert response.status_code == 404, name
            answers.add(response.text)
    assert len(answers) == 1 and "This link is not valid" in answers.pop()
    assert {c: events(database_url, c) for c in (anna.id, bella_client.id)} == before


def test_invalid_page_is_german_for_german_browsers(web: TestClient) -> None:
    page = web.get("/u/nope", headers={"Accept-Language": "de"})
    assert page.status_code == 404 and "Dieser Link ist ungültig" in page.text


def test_pages_are_accessible_without_javascript(
    web: TestClient, salon: Salon, anna: Client, token_for
) -> None:
    path = f"/u/{token_for(salon.id, anna.id)}"
    for page in (web.get(path), web.post(path)):
        html = page.text
        assert "<script" not in html  # works without JavaScript
        assert re.search(r'<html lang="(de|en)">', html)
        assert "<main>" in html and html.count("<h1>") == 1
        assert "focus-visible" in html  # keyboard focus stays visible
        # Every visible control says what it does; hidden inputs need no label.
        assert all(
            re.search(r"<button[^>]*>[^<]+</button>", b)
            for b in re.findall(r"<button.*?</button>", html)
        )
        assert "script-src" not in page.headers["content-security-policy"]


def test_unsubscribe_url_of_the_dispatcher_opens_the_page(
    web: TestClient, salon: Salon, anna: Client
) -> None:
    token = UnsubscribeToken(salon.id, anna.id, "sms", None)
    url = unsubscribe_url(token, base_url=BASE_URL, secret_key=SECRET)
    assert read_token(url.rsplit("/", 1)[1], secret_key=SECRET) == token
    assert web.get(url.removeprefix(BASE_URL)).status_code == 200


def test_one_click_survives_the_database_closing_pooled_connections(
    web: TestClient, database_url: str, salon: Salon, anna: Client, token_for
) -> None:
    """A database restart closes every pooled connection; the next click still withdraws."""
    import psycopg
    from sqlalchemy import make_url

    assert web.post(f"/u/{token_for(salon.id, anna.id, 'sms')}", data=ONE_CLICK).status_code == 200
    if database_url.startswith("postgresql"):
        url = make_url(database_url).set(drivername="postgresql")
        with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as admin:
            cut = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()
        assert cut is not None and cut[0] >= 1  # the pooled connection(s) of the first click
    answer = web.post(f"/u/{token_for(salon.id, anna.id, 'email')}", data=ONE_CLICK)
    assert answer.status_code == 200
    assert withdrawals(database_url, anna.id) == [
        ("sms", "client", "withdrawn", "link"),
        ("email", "client", "withdrawn", "link"),
    ]


TRAILING_PUNCTUATION = [
    ".",
    ",",
    ")",
    "!",
    "?",
    ";",
    ":",
    '"',
    "'",
    ">",
    "”",
    "“",
    "’",
    "».",
    ").",
    "]",
]


@pytest.mark.parametrize("glued", TRAILING_PUNCTUATION)
def test_link_with_trailing_punctuation_from_a_mail_or_sms_client_still_works(
    web: TestClient, database_url: str, salon: Salon, anna: Client, token_for, glued: str
) -> None:
    token = token_for(salon.id, anna.id, "sms")
    page = web.get(f"/u/{token}{glued}")
    assert page.status_code == 200 and "Salon Anna" in page.text
    assert f'action="/u/{token}"' in page.text  # the form posts to the clean link
    assert web.post(f"/u/{token}{glued}").status_code == 200
    assert withdrawals(database_url, anna.id) == [("sms", "client", "withdrawn", "link")]


@pytest.mark.parametrize("glued", ["XYZ", ".html", "/", "a", "%00"])
def test_link_with_other_text_glued_to_it_is_not_valid(
    web: TestClient, database_url: str, salon: Salon, anna: Client, token_for, glued: str
) -> None:
    token = token_for(salon.id, anna.id, "sms")
    assert web.get(f"/u/{token}{glued}").status_code == 404
    assert web.post(f"/u/{token}{glued}").status_code == 404
    assert withdrawals(database_url, anna.id) == []
