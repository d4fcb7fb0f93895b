"""``salonpost demo``: a salon with generated clients covering every rule, one campaign sent.

The data goes through the same CSV import as a salon's own file, and the campaign through the
same gate, planner and actors, on whatever database and broker the settings name (by default
SQLite, the in-process broker and the outbox folder).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from db.access import OPERATOR
from db.forget import anonymise
from db.models import Campaign, Salon, Suppression, utcnow
from db.session import session_scope
from db.states import Channel
from services import documents
from services.imports import CLIENT_COLUMNS, VISIT_COLUMNS, import_clients, import_visits
from services.lookups import get_client, get_salon
from services.staff import add_staff
from settings import Settings, get_settings
from templates.texts import text

SMS = (
    "Hallo {{ first_name }}, -20% auf Pflege bei {{ salon_name }}! Abmelden: {{ unsubscribe_url }}"
)
EMAIL_SUBJECT = "{{ first_name }}, Ihr Herbst-Angebot"
EMAIL_HTML = (
    "<p>Hallo {{ first_name }},</p><p>diesen Monat 20% auf alle Pflegeprodukte bei "
    '{{ salon_name }}.</p><p><a href="{{ unsubscribe_url }}">Abmelden</a></p>'
)
EMAIL_TEXT = (
    "Hallo {{ first_name }},\n\ndiesen Monat 20% auf alle Pflegeprodukte bei {{ salon_name }}.\n\n"
    "Abmelden: {{ unsubscribe_url }}\n"
)

# (profile, share of clients): every rule of the gate is hit by some profile.
PROFILES = [
    ("regular", 50),
    ("regular_granted", 10),
    ("lapsed", 8),
    ("imported_old", 4),
    ("imported_active", 4),
    ("withdrawn_sms", 4),
    ("withdrawn_email", 3),
    ("new_no_consent", 4),
    ("new_with_consent", 3),
    ("minor_no_guardian", 2),
    ("minor_with_guardian", 2),
    ("siblings", 2),
    ("forgotten", 1),
    ("landline", 1),
    ("no_email", 1),
    ("suppressed", 1),
]
FIRST = [
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Emma",
    "Felix",
    "Greta",
    "Hannah",
    "Jonas",
    "Lea",
    "Lukas",
    "Mia",
    "Noah",
    "Paul",
    "Sophie",
    "Tim",
]
LAST = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker"]


def _mobile(rng: random.Random) -> str:
    return f"0176 {rng.randrange(10_000_000, 99_999_999)}"


def _client_row(
    ref: str, profile: str, rng: random.Random, today: dt.date, gate_on: dt.date
) -> dict[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    created = gate_on - dt.timedelta(days=rng.randrange(30, 2000))
    row = dict.fromkeys(CLIENT_COLUMNS, "")
    row.update(
        ref=ref,
        first_name=first,
        last_name=last,
        phone=_mobile(rng),
        email=f"{first}.{last}.{ref}@example.com".lower().replace("ü", "ue"),
        birth_date=(today - dt.timedelta(days=rng.randrange(20 * 365, 70 * 365))).isoformat(),
        created_at=created.isoformat(),
    )
    if profile == "regular_granted" or profile == "new_with_consent":
        row.update(sms_marketing="granted", email_marketing="granted")
    if profile.startswith("new_"):
        row["created_at"] = (gate_on + dt.timedelta(days=rng.randrange(1, 200))).isoformat()
    if profile.startswith("imported"):
        row["imported_at"] = (today - dt.timedelta(days=400)).isoformat()
    if profile.startswith("withdrawn"):
        row[f"{profile.split('_')[1]}_marketing"] = "withdrawn"
    if profile.startswith("minor") or profile == "siblings":
        row["birth_date"] = (
            today - dt.timedelta(days=rng.randrange(8 * 365, 15 * 365))
        ).isoformat()
    if profile in ("minor_with_guardian", "siblings"):
        row.update(
            guardian_name=f"{rng.choice(FIRST)} {last}",
            guardian_consent="granted",
            guardian_phone=_mobile(rng),
            guardian_email=f"eltern.{ref}@example.com",
        )
    if profile == "landline":
        row["phone"] = "030 1234567"
    if profile == "no_email":
        row["email"] = ""
    return row


def _visits(ref: str, profile: str, rng: random.Random, now: dt.datetime) -> list[dict[str, str]]:
    if profile == "lapsed":
        days = [rng.randrange(4 * 365, 6 * 365)]
    elif profile == "imported_old":
        days = [rng.randrange(420, 900)]  # before the import 400 days ago: they do not count
    else:
        days = [rng.randrange(5, 380) for _ in range(rng.randrange(1, 4))]
    return [
        {
            "client_ref": ref,
            "visited_at": (now - dt.timedelta(days=d)).isoformat(timespec="seconds"),
            "amount": f"{rng.randrange(20, 180)}.00",
        }
        for d in days
    ]


def generate(
    count: int, *, now: dt.datetime, gate_on: dt.date, seed: int = 7
) -> tuple[str, str, dict[str, str]]:
    """(clients CSV, visits CSV, ref -> profile) for ``count`` clients."""
    rng = random.Random(seed)
    names, weights = zip(*PROFILES, strict=True)
    clients: list[dict[str, str]] = []
    visits: list[dict[str, str]] = []
    profiles: dict[str, str] = {}
    for n in range(count):
        ref = f"K{n + 1:05d}"
        profile = rng.choices(names, weights)[0]
        row = _client_row(ref, profile, rng, now.date(), gate_on)
        if profile == "siblings" and clients and clients[-1]["guardian_phone"]:
            # A second child on the same guardian's phone and email: one message only (R8).
            for key in ("guardian_name", "guardian_phone", "guardian_email", "last_name"):
                row[key] = clients[-1][key]
        clients.append(row)
        visits += _visits(ref, profile, rng, now)
        profiles[ref] = profile
    return _csv(CLIENT_COLUMNS, clients), _csv(VISIT_COLUMNS, visits), profiles


def _csv(columns: list[str], rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _unique_slug(session: Any) -> str:
    slug, n = "demo", 1
    while session.query(Salon).filter_by(slug=slug).first():
        n += 1
        slug = f"demo-{n}"
    return slug


DEMO_STAFF = "Demo"


def seed_demo(settings: Settings, clients: int) -> tuple[str, int]:
    """Create the demo salon, its clients, visits and one campaign; (salon slug, campaign id)."""
    now = utcnow()
    gate_on = (now - dt.timedelta(days=540)).date()
    clients_csv, visits_csv, profiles = generate(clients, now=now, gate_on=gate_on)
    with session_scope(settings.database_url) as session:
        # No quiet hours: the demo shows a campaign sent at any hour of the day.
        salon = Salon(
            slug=_unique_slug(session),
            name="Salon Haarmonie",
            gate_on=gate_on,
            quiet_start="00:00",
            quiet_end="00:00",
        )
        session.add(salon)
        session.flush()
        import_clients(session, salon, clients_csv)
        import_visits(session, salon, visits_csv)
        for ref, profile in profiles.items():
            client = get_client(session, salon, ref)
            if profile == "forgotten":
                anonymise(session, client, secret_key=settings.secret_key)
            elif profile == "suppressed" and client.phone_e164:
                session.add(
                    Suppression(
                        salon_id=salon.id,
                        channel=Channel.SMS,
                        address=client.phone_e164,
                        reason="provider 21610",
                    )
                )
        campaign = Campaign(
            salon_id=salon.id,
            name="Herbst-Aktion",
            sms_body=SMS,
            email_subject=EMAIL_SUBJECT,
            email_html=EMAIL_HTML,
            email_text=EMAIL_TEXT,
        )
        session.add(campaign)
        session.flush()
        return salon.slug, campaign.id


def add_demo_staff(settings: Settings, slug: str) -> tuple[str, str]:
    """A staff member to sign in with, with a fresh random PIN: (name, PIN)."""
    pin = f"{secrets.randbelow(10**6):06d}"
    with session_scope(settings.database_url) as session:
        salon = get_salon(session, slug)
        add_staff(
            session, salon, DEMO_STAFF, pin, pepper=settings.checked_pin_pepper(), role="owner"
        )
    return DEMO_STAFF, pin


def run_demo(*, clients: int, echo: Callable[[str], Any]) -> dict[str, Any]:
    from db.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    slug, campaign_id = seed_demo(settings, clients)
    name, pin = add_demo_staff(settings, slug)

    def say(key: str, **values: object) -> None:
        echo(text(key, settings.language, **values))

    say("cli.demo_salon", slug=slug, clients=clients, campaign=campaign_id)
    # The demo runs the commands a salon would type: the same output, the same access log.
    from cli.campaign import campaign_audience, campaign_queue

    campaign_audience(campaign_id, as_json=False, detail=False)
    campaign_queue(campaign_id, wait=True)
    with session_scope(settings.database_url) as session:
        report = documents.status(session, OPERATOR, campaign_id)
    say("cli.demo_deliveries", counts=report["deliveries"])
    say("cli.demo_outbox", path=Path(settings.outbox_dir).resolve())
    base_url, port = settings.base_url.rstrip("/"), served_port(settings.base_url)
    link = _first_link(settings) or text("cli.demo_no_sms", settings.language)
    say("cli.demo_link", link=link, port=port)
    say(
        "cli.demo_sign_in",
        port=port,
        login=f"{base_url}/staff/login",
        slug=slug,
        name=name,
        pin=pin,
    )
    return dict(report)


def served_port(base_url: str) -> int:
    """The port ``salonpost serve`` must listen on for the links of ``base_url`` to reach it."""
    url = urlsplit(base_url)
    return url.port or (443 if url.scheme == "https" else 80)


def _first_link(settings: Settings) -> str | None:
    import json

    for path in sorted(Path(settings.outbox_dir).glob("*.json"), reverse=True):
        body = json.loads(path.read_text(encoding="utf-8")).get("body")
        if body:  # a forgotten client's message keeps no body (db/forget.py)
            return str(body).rsplit(" ", 1)[-1]
    return None
