"""Test data shared by the test folders: a client who would get a campaign today."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.orm import Session

from db.consent import record_consent
from db.models import Client, Salon, Visit, utcnow


def add_client(
    session: Session,
    salon: Salon,
    ref: str,
    *,
    phone: str = "+4917611111111",
    consent: bool = True,
    **fields: object,
) -> Client:
    """A client with a purchase 30 days ago and a signed-form answer per channel; committed."""
    values: dict[str, object] = {
        "first_name": ref,
        "phone": phone,
        "phone_e164": phone,
        "email": f"{ref.lower()}@example.com",
        "email_normalized": f"{ref.lower()}@example.com",
        "created_at": dt.datetime(2023, 1, 1, tzinfo=dt.UTC),
    }
    values.update(fields)
    client = Client(salon_id=salon.id, ref=ref, **values)
    session.add(client)
    session.flush()
    session.add(
        Visit(
            salon_id=salon.id,
            client_id=client.id,
            visited_at=utcnow() - dt.timedelta(days=30),
            amount=Decimal("40.00"),
            source="pos",
        )
    )
    for channel in ("sms", "email"):
        record_consent(
            session,
            salon_id=salon.id,
            client_id=client.id,
            channel=channel,
            action="granted" if consent else "withdrawn",
            source="form",
            at=utcnow() - dt.timedelta(days=60),
        )
    session.commit()
    return client


def send_to_outbox(session: Session, salon: Salon, env: dict[str, str]) -> int:
    """A campaign (SMS and email) sent to every client of ``salon`` by ``salonpost campaign
    queue --wait`` in its own process, on the embedded default (the outbox of ``env``)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from db.models import Campaign

    campaign = Campaign(
        salon_id=salon.id,
        name="Herbst",
        sms_body="Hallo {{ first_name }}! Abmelden: {{ unsubscribe_url }}",
        email_subject="{{ first_name }}, Ihr Herbst-Angebot",
        email_html='<p>Hallo {{ first_name }}</p><a href="{{ unsubscribe_url }}">Abmelden</a>',
        email_text="Hallo {{ first_name }}! Abmelden: {{ unsubscribe_url }}",
    )
    session.add(campaign)
    session.commit()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SALONPOST_")}
    salonpost = str(Path(sys.executable).parent / "salonpost")
    subprocess.run(
        [salonpost, "campaign", "queue", str(campaign.id), "--wait"],
        env={**clean, "SALONPOST_QUIET_HOURS": "false", **env},
        check=True,
        capture_output=True,
        timeout=180,
    )
    return campaign.id
