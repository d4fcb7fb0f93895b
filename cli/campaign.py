"""``salonpost campaign create|validate|audience|queue|status`` (steering: :mod:`cli.steering`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import (
    JsonOption,
    StaffName,
    StaffPin,
    actor_for_campaign,
    actor_for_salon,
    config,
    emit_json,
    print_problems,
    read_file,
    say,
    session,
    settings,
    t,
    warn,
)
from cli.running import run
from db.access import OPERATOR
from db.states import MAX_WINDOW_MONTHS
from gate.campaign import CampaignTexts
from services import campaigns, documents
from services.lookups import get_salon

campaign_app = typer.Typer(no_args_is_help=True, help="Campaigns.")


@campaign_app.command("create")
def campaign_create(
    salon: Annotated[str, typer.Option("--salon")],
    name: Annotated[str, typer.Option("--name")],
    sms: Annotated[Path | None, typer.Option("--sms", help="SMS template file")] = None,
    email_subject: Annotated[str | None, typer.Option("--email-subject")] = None,
    email_html: Annotated[Path | None, typer.Option("--email-html")] = None,
    email_text: Annotated[Path | None, typer.Option("--email-text")] = None,
    window_months: Annotated[
        int,
        typer.Option(
            "--window-months",
            min=1,
            max=MAX_WINDOW_MONTHS,
            help=f"Narrow the {MAX_WINDOW_MONTHS}-month window (R3)",
        ),
    ] = MAX_WINDOW_MONTHS,
    staff: StaffName = None,
    pin: StaffPin = None,
) -> None:
    """Create a draft campaign and print its id."""
    actor = actor_for_salon(salon, staff, pin, required=False)
    texts = CampaignTexts(
        sms_body=read_file(sms),
        email_subject=email_subject,
        email_html=read_file(email_html),
        email_text=read_file(email_text),
    )
    with session() as s:
        draft = campaigns.Draft(name=name, texts=texts, window_months=window_months)
        campaign = campaigns.create(s, actor, get_salon(s, salon), draft)
        typer.echo(campaign.id)


@campaign_app.command("validate")
def campaign_validate(
    campaign_id: Annotated[int, typer.Argument()],
    as_json: JsonOption = False,
    staff: StaffName = None,
    pin: StaffPin = None,
) -> None:
    """Check R1/R2 and the SMS size; exit 1 with every problem named by rule."""
    actor = actor_for_campaign(campaign_id, staff, pin)
    with session() as s:
        validation = campaigns.validate(s, actor, campaign_id, config())
    check, totals = validation.check, validation.sms_total
    if as_json:
        emit_json(documents.validation_document(validation))
    else:
        if check.ok:
            say("cli.campaign_valid", id=campaign_id)
        if check.sms:
            sms = check.sms
            say("cli.sms_size", encoding=sms.encoding, units=sms.units, segments=sms.segments)
        if totals:
            say("cli.sms_total", segments=totals["segments"], recipients=totals["recipients"])
    if not check.ok:
        if not as_json:
            warn("cli.campaign_invalid", id=campaign_id)
            print_problems(campaigns.problems_of(check))
        raise typer.Exit(1)


@campaign_app.command("audience")
def campaign_audience(
    campaign_id: Annotated[int, typer.Argument()],
    as_json: JsonOption = False,
    detail: Annotated[bool, typer.Option("--detail", help="List every excluded client")] = False,
    staff: StaffName = None,
    pin: StaffPin = None,
) -> None:
    """Recipients per channel and exclusions per rule (live for drafts, the snapshot after)."""
    actor = actor_for_campaign(campaign_id, staff, pin)
    with session() as s:
        document = documents.audience(s, actor, campaign_id, detail=detail).document()
    if as_json:
        emit_json(document)
        return
    for channel, recipients in document["recipients"].items():
        rules = ", ".join(f"{r}: {n}" for r, n in sorted(document["exclusions"][channel].items()))
        say("cli.audience_line", channel=channel, recipients=recipients, rules=rules or "-")
    for row in document.get("excluded", []):
        typer.echo(f"  {row['client']} {row['channel']} {row['rule']} {row['reason']}")


@campaign_app.command("queue")
def campaign_queue(
    campaign_id: Annotated[int, typer.Argument()],
    wait: Annotated[
        bool, typer.Option("--wait", help="Run to the end with a progress bar")
    ] = False,
    staff: StaffName = None,
    pin: StaffPin = None,
) -> None:
    """Queue a valid draft campaign for sending (refused when any rule fails)."""
    from dispatcher.runtime import refuse_public_links

    # Before anything is queued: no worker would send links signed with the public secret.
    current = settings()
    refuse_public_links(
        secret_key=current.secret_key, base_url=current.base_url, language=current.language
    )
    actor = actor_for_campaign(campaign_id, staff, pin)
    with session() as s:
        campaigns.queue(s, actor, campaign_id, config())
    say("cli.queued", id=campaign_id)
    run(campaign_id, wait=wait)


@campaign_app.command("status")
def campaign_status(
    campaign_id: Annotated[int, typer.Argument()], as_json: JsonOption = False
) -> None:
    """Counts of deliveries by state."""
    with session() as s:
        report = documents.status(s, OPERATOR, campaign_id)
    if as_json:
        emit_json(report)
        return
    say("cli.status_line", id=report["campaign"], name=report["name"], status=report["status"])
    for state, count in sorted(report["deliveries"].items()):
        typer.echo(f"  {state}: {count}")
    done = report["progress"]
    eta = t("cli.eta", seconds=done["eta_seconds"]) if done["eta_seconds"] is not None else ""
    say(
        "cli.progress", done=done["done"], total=done["total"], percent=done["percent"],
        rate=done["rate_per_second"], eta=eta,
    )  # fmt: skip
    if done["unknown"]:
        say("cli.in_doubt", count=done["unknown"])
    if done["pause_reason"]:
        say("cli.paused_because", reason=done["pause_reason"])
