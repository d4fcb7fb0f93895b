"""``salonpost client show|create|forget|export|no-reminders`` and ``consent record``.

The commands that create, forget, export or change a client require a staff member with a PIN;
``client show`` and ``consent record`` without one act as the "operator" (logged so).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

from cli.common import (
    JsonOption,
    SalonOption,
    StaffName,
    StaffPin,
    actor_for_salon,
    emit_json,
    say,
    session,
    settings,
    t,
)
from services import clients, rights
from services.errors import BadInput
from services.lookups import get_client, get_salon

client_app = typer.Typer(no_args_is_help=True, help="One client.")
consent_app = typer.Typer(no_args_is_help=True, help="Marketing consent.")
Ref = Annotated[str, typer.Argument()]
# C3: the new-client prompt asks for the marketing answer per channel, in the staff's language.
PROMPT_SMS, PROMPT_EMAIL = t("cli.prompt_sms"), t("cli.prompt_email")


@client_app.command("show")
def client_show(
    ref: Ref,
    salon: SalonOption,
    as_json: JsonOption = False,
    staff: StaffName = None,
    pin: StaffPin = None,
) -> None:
    """The client with its consent history."""
    actor = actor_for_salon(salon, staff, pin, required=False)
    with session() as s:
        document = clients.show_by_ref(s, actor, get_salon(s, salon), ref)
    if as_json:
        emit_json(document)
        return
    typer.echo(f"{document['ref']}: {document['first_name'] or ''} {document['last_name'] or ''}")
    for key in ("phone", "email", "birth_date", "guardian_name"):
        if document[key]:
            typer.echo(f"  {t(f'cli.field.{key}')}: {document[key]}")
    say("cli.client_consent", consent=document["consent"])
    for event in document["consent_history"]:
        evidence = f", {event['evidence']}" if event["evidence"] else ""
        typer.echo(
            f"  {event['at']}  {event['party']} {event['channel']} {event['action']} "
            f"({event['source']}{evidence})"
        )


@consent_app.command("record")
def consent_record(
    ref: Ref,
    salon: SalonOption,
    channel: Annotated[str, typer.Option("--channel", help="sms or email")],
    grant: Annotated[bool, typer.Option("--grant/--withdraw")],
    source: Annotated[str, typer.Option("--source", help="oral or form")] = "oral",
    evidence: Annotated[str | None, typer.Option("--evidence", help="Form reference")] = None,
    staff: StaffName = None,
    pin: StaffPin = None,
) -> None:
    """Record a client's marketing consent answer given in the salon (C1)."""
    action = "granted" if grant else "withdrawn"
    answer = clients.ConsentAnswer(channel, action, source, evidence)
    answer.check()  # a wrong option is named before any PIN is asked for
    actor = actor_for_salon(salon, staff, pin, required=False)
    with session() as s:
        owner = get_salon(s, salon)
        clients.record_answer(s, actor, owner, get_client(s, owner, ref), answer)
    say("cli.consent_recorded", channel=channel, action=action, source=source)


@client_app.command("create")
def client_create(
    ref: Ref,
    salon: SalonOption,
    sms_consent: Annotated[
        str,
        typer.Option("--sms-consent", prompt=PROMPT_SMS),
    ],
    email_consent: Annotated[
        str,
        typer.Option("--email-consent", prompt=PROMPT_EMAIL),
    ],
    staff: StaffName = None,
    pin: StaffPin = None,
    first_name: Annotated[str | None, typer.Option("--first-name")] = None,
    last_name: Annotated[str | None, typer.Option("--last-name")] = None,
    phone: Annotated[str | None, typer.Option("--phone")] = None,
    email: Annotated[str | None, typer.Option("--email")] = None,
    birth_date: Annotated[str | None, typer.Option("--birth-date", help="YYYY-MM-DD")] = None,
    guardian_name: Annotated[str | None, typer.Option("--guardian-name")] = None,
    guardian_phone: Annotated[str | None, typer.Option("--guardian-phone")] = None,
    guardian_email: Annotated[str | None, typer.Option("--guardian-email")] = None,
    form_ref: Annotated[str | None, typer.Option("--form-ref", help="Signed intake form")] = None,
) -> None:
    """Create a client; the marketing consent answer per channel is required (C3)."""
    try:
        born = dt.date.fromisoformat(birth_date) if birth_date else None
    except ValueError as exc:
        raise BadInput("error.bad_option", field="birth_date", what=exc) from None
    new = clients.NewClient(
        ref, first_name, last_name, phone, email, born, guardian_name, guardian_phone,
        guardian_email,
    )  # fmt: skip
    answers = clients.ConsentAnswers(sms_consent, email_consent, form_ref)
    answers.check()
    actor = actor_for_salon(salon, staff, pin, required=True)
    with session() as s:
        owner = get_salon(s, salon)
        clients.create(s, actor, owner, new, answers, secret_key=settings().secret_key)
    say("cli.client_created", ref=ref)


@client_app.command("forget")
def client_forget(
    ref: Ref, salon: SalonOption, staff: StaffName = None, pin: StaffPin = None
) -> None:
    """Forget a client on request (G1): irreversible; visits and counts stay for the reports."""
    from dispatcher.forgetting import outbox_forgetter

    actor = actor_for_salon(salon, staff, pin, required=True)
    files = outbox_forgetter(settings().outbox_dir)  # the outbox's copies go too (G1)
    with session() as s:
        owner = get_salon(s, salon)
        client = get_client(s, owner, ref)
        rights.forget(
            s, actor, owner, client, secret_key=settings().secret_key, forget_messages=files
        )
    say("cli.client_forgotten", ref=ref)


@client_app.command("export")
def client_export(
    ref: Ref,
    salon: SalonOption,
    staff: StaffName = None,
    pin: StaffPin = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to a file, not stdout")
    ] = None,
) -> None:
    """Everything stored about a client as one JSON document (G3; format in services/export.py)."""
    actor = actor_for_salon(salon, staff, pin, required=True)
    with session() as s:
        owner = get_salon(s, salon)
        document = rights.export(s, actor, owner, get_client(s, owner, ref))
    body = json.dumps(document, ensure_ascii=False, indent=2)
    if output is None:
        typer.echo(body)
    else:
        output.write_text(body + "\n", encoding="utf-8")


@client_app.command("no-reminders")
def client_no_reminders(
    ref: Ref,
    salon: SalonOption,
    on: Annotated[bool, typer.Option("--on/--off", help="No reminders (on) or reminders again")],
    staff: StaffName = None,
    pin: StaffPin = None,
) -> None:
    """Set or clear the client's "no reminders" flag (staff in the salon only)."""
    actor = actor_for_salon(salon, staff, pin, required=True)
    with session() as s:
        owner = get_salon(s, salon)
        clients.set_no_reminders(s, actor, owner, get_client(s, owner, ref), on=on)
    say("cli.no_reminders_set", ref=ref, state=t("cli.on" if on else "cli.off"))
