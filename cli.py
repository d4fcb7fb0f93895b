"""The ``salonpost`` command: a contract that salons and operators script.

Commands, options, CSV columns and ``--json`` outputs stay stable: extend, never rename.
Every ``--json`` output is one JSON document on stdout; errors go to stderr with a non-zero exit.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from sqlalchemy.orm import Session

from cli_rights import StaffName, StaffPin, actor_for_campaign, actor_for_salon
from db.access import log_access
from db.clients import NotFound, get_client, get_salon
from db.imports import ImportError_, import_clients, import_visits
from db.models import Campaign, Salon, utcnow
from db.session import session_scope
from settings import Settings, get_settings
from templates.texts import text

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # locals in tracebacks would print client data
    help="Salonpost campaigns.",
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
salon_app = typer.Typer(no_args_is_help=True, help="Salons.")
clients_app = typer.Typer(no_args_is_help=True, help="Client lists.")
visits_app = typer.Typer(no_args_is_help=True, help="Visits and purchases.")
campaign_app = typer.Typer(no_args_is_help=True, help="Campaigns.")
client_app = typer.Typer(no_args_is_help=True, help="One client.")
consent_app = typer.Typer(no_args_is_help=True, help="Marketing consent.")
for sub, name in [
    (db_app, "db"),
    (salon_app, "salon"),
    (clients_app, "clients"),
    (visits_app, "visits"),
    (campaign_app, "campaign"),
    (client_app, "client"),
    (consent_app, "consent"),
]:
    app.add_typer(sub, name=name)

JsonOption = Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")]


def settings() -> Settings:
    return get_settings()


def say(key: str, **values: object) -> None:
    typer.echo(text(key, settings().language, **values))


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def emit_json(document: Any) -> None:
    typer.echo(json.dumps(document, ensure_ascii=False, indent=2, default=str))


@contextmanager
def session() -> Iterator[Session]:
    try:
        with session_scope(settings().database_url) as s:
            yield s
    except NotFound as exc:
        fail(text("not_found", settings().language, what=exc))


def read_file(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path}: {exc}")


# -- db ---------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every database migration (the Procfile's release step)."""
    from db.migrate import upgrade

    upgrade(settings().database_url)
    say("migrated")


# -- salon ------------------------------------------------------------------------------------


@salon_app.command("create")
def salon_create(
    slug: str,
    name: Annotated[str, typer.Option("--name")],
    gate_on: Annotated[
        str | None,
        typer.Option("--gate-on", help="YYYY-MM-DD; new clients from then on need consent"),
    ] = None,
    timezone: Annotated[str, typer.Option("--timezone")] = "Europe/Berlin",
    region: Annotated[str, typer.Option("--region", help="Default phone region")] = "DE",
) -> None:
    """Create a salon."""
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(timezone)
        day = (
            dt.date.fromisoformat(gate_on)
            if gate_on
            else utcnow().astimezone(ZoneInfo(timezone)).date()
        )
    except (ValueError, KeyError) as exc:
        fail(text("bad_option", settings().language, what=exc))
    with session() as s:
        if s.query(Salon).filter_by(slug=slug).first():
            fail(text("salon_exists", settings().language, slug=slug))
        salon = Salon(slug=slug, name=name, gate_on=day, timezone=timezone, default_region=region)
        s.add(salon)
        s.flush()
        say("salon_created", slug=slug, id=salon.id)


# -- imports ----------------------------------------------------------------------------------


def _import(
    slug: str, path: Path, importer: Callable[..., Any], done_key: str, actor: Any, action: str
) -> None:
    from db.forget import restore_suppressions

    content = read_file(path) or ""
    try:
        with session() as s:
            owner = get_salon(s, slug)
            result = importer(s, owner, content)
            if action == "clients.import":
                restore_suppressions(s, owner.id, secret_key=settings().secret_key)
            counts = {k: v for k, v in vars(result).items() if isinstance(v, int)}
            detail = " ".join(f"{k}={v}" for k, v in counts.items())
            log_access(s, owner.id, actor, action, detail=f"{path.name}: {detail}")
    except ImportError_ as exc:
        typer.echo(text("import_refused", settings().language), err=True)
        for problem in exc.problems:
            typer.echo(f"  {path.name}: {problem}", err=True)
        raise typer.Exit(1) from None
    for warning in result.warnings:
        typer.echo(f"  {path.name}: {warning}", err=True)
    say(done_key, **vars(result))


@clients_app.command("import")
def clients_import(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    salon: Annotated[str, typer.Option("--salon")],
    staff: StaffName = None,
    pin: StaffPin = None,
) -> None:
    """Import clients from CSV (re-importing a ref updates it); all rows or none."""
    actor = actor_for_salon(salon, staff, pin, required=False)
    _import(salon, path, import_clients, "clients_imported", actor, "clients.import")


@visits_app.command("import")
def visits_import(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    salon: Annotated[str, typer.Option("--salon")],
    staff: StaffName = None,
    pin: StaffPin = None,
) -> None:
    """Import visits from CSV (client_ref,visited_at,amount); all rows or none."""
    actor = actor_for_salon(salon, staff, pin, required=False)
    _import(salon, path, import_visits, "visits_imported", actor, "visits.import")


# -- campaigns --------------------------------------------------------------------------------


def _check(s: Session, campaign: Any) -> Any:
    from db.campaigns import validate

    return validate(s, campaign, base_url=settings().base_url, secret_key=settings().secret_key)


def _sms_totals(s: Session, campaign: Any) -> dict[str, Any]:
    from dispatcher.sending import sms_totals

    salon_row = s.get_one(Salon, campaign.salon_id)
    return sms_totals(
        s, salon_row, campaign, base_url=settings().base_url, secret_key=settings().secret_key
    )


def _print_problems(campaign_id: int, check: Any) -> None:
    typer.echo(text("campaign_invalid", settings().language, id=campaign_id), err=True)
    for p in check.problems:
        where = f"{p.field}" + (f", line {p.line}" if p.line else "")
        typer.echo(f"  {p.rule} [{where}] {p.code}: {p.message}", err=True)
    if any(p.rule == "R1" for p in check.problems):
        typer.echo("  " + text("recreate", settings().language), err=True)


@campaign_app.command("create")
def campaign_create(
    salon: Annotated[str, typer.Option("--salon")],
    name: Annotated[str, typer.Option("--name")],
    sms: Annotated[Path | None, typer.Option("--sms", help="SMS template file")] = None,
    email_subject: Annotated[str | None, typer.Option("--email-subject")] = None,
    email_html: Annotated[Path | None, typer.Option("--email-html")] = None,
    email_text: Annotated[Path | None, typer.Option("--email-text")] = None,
    window_months: Annotated[
        int, typer.Option("--window-months", min=1, max=36, help="Narrow the 36-month window (R3)")
    ] = 36,
    staff: StaffName = None,
    pin: StaffPin = None,
) -> None:
    """Create a draft campaign and print its id."""
    from db.models import Campaign

    actor = actor_for_salon(salon, staff, pin, required=False)
    with session() as s:
        owner = get_salon(s, salon)
        campaign = Campaign(
            salon_id=owner.id,
            name=name,
            sms_body=read_file(sms),
            email_subject=email_subject,
            email_html=read_file(email_html),
            email_text=read_file(email_text),
            window_months=window_months,
            created_by=actor.staff_id,
        )
        s.add(campaign)
        s.flush()
        log_access(s, owner.id, actor, "campaign.create", campaign_id=campaign.id)
        typer.echo(campaign.id)


@campaign_app.command("validate")
def campaign_validate(
    campaign_id: Annotated[int, typer.Argument()],
    as_json: JsonOption = False,
    staff: StaffName = None,
    pin: StaffPin = None,
) -> None:
    """Check R1/R2 and the SMS size; exit 1 with every problem named by rule."""
    from db.campaigns import get_campaign

    actor = actor_for_campaign(campaign_id, staff, pin)
    with session() as s:
        campaign = get_campaign(s, campaign_id)
        check = _check(s, campaign)
        totals = _sms_totals(s, campaign) if check.ok and check.sms else None
        outcome = "valid" if check.ok else "invalid"
        log_access(
            s,
            campaign.salon_id,
            actor,
            "campaign.validate",
            campaign_id=campaign_id,
            detail=outcome,
        )
    if as_json:
        emit_json({"campaign": campaign_id, **check.as_json(), "sms_total": totals})
    elif check.ok:
        say("campaign_valid", id=campaign_id)
    if check.sms and not as_json:
        typer.echo(
            f"  SMS: {check.sms.encoding}, {check.sms.units} chars, {check.sms.segments} segment(s)"
        )
    if totals and not as_json:
        typer.echo(
            f"  SMS total: {totals['segments']} segment(s) for {totals['recipients']} recipient(s)"
        )
    if not check.ok:
        if not as_json:
            _print_problems(campaign_id, check)
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
    from db.campaigns import get_campaign, stored_exclusions
    from dispatcher.planning import live_audience, live_exclusions

    actor = actor_for_campaign(campaign_id, staff, pin)
    with session() as s:
        campaign = get_campaign(s, campaign_id)
        log_access(
            s,
            campaign.salon_id,
            actor,
            "campaign.audience",
            campaign_id=campaign_id,
            detail="detail" if detail else "summary",
        )
        salon_row = s.get_one(Salon, campaign.salon_id)
        if campaign.planned_at is None:
            summary, source = live_audience(s, salon_row, campaign), "live"
        else:
            summary, source = _snapshot_summary(s, campaign.id, stored_exclusions), "snapshot"
        excluded = live_exclusions(s, salon_row, campaign) if detail else []
        refs = _refs(s, {cid for cid, _, _ in excluded})
    document = _audience_document(campaign_id, source, summary)
    if detail:
        document["excluded"] = [
            {"client": refs[cid], "channel": ch, "rule": code[:2], "reason": code[3:]}
            for cid, ch, code in excluded
        ]
    if as_json:
        emit_json(document)
        return
    for channel, recipients in document["recipients"].items():
        rules = ", ".join(f"{r}: {n}" for r, n in sorted(document["exclusions"][channel].items()))
        typer.echo(f"{channel}: {recipients} recipients; excluded {rules or '-'}")
    for row in document.get("excluded", []):
        typer.echo(f"  {row['client']} {row['channel']} {row['rule']} {row['reason']}")


def _snapshot_summary(
    s: Session, campaign_id: int, stored: Callable[..., Any]
) -> dict[str, dict[str, int]]:
    from db.campaigns import delivery_counts

    summary: dict[str, dict[str, int]] = {}
    for channel, per_status in delivery_counts(s, campaign_id).items():
        summary.setdefault(channel, {})["recipients"] = sum(per_status.values())
    for channel, rules in stored(s, campaign_id).items():
        summary.setdefault(channel, {"recipients": 0}).update(rules)
    return summary


def _refs(s: Session, client_ids: set[int]) -> dict[int, str]:
    from sqlalchemy import select

    from db.models import Client

    if not client_ids:
        return {}
    return dict(s.execute(select(Client.id, Client.ref).where(Client.id.in_(client_ids))).all())


def _audience_document(
    campaign_id: int, source: str, summary: dict[str, dict[str, int]]
) -> dict[str, Any]:
    totals: dict[str, int] = {}
    exclusions: dict[str, dict[str, int]] = {}
    for channel, counts in summary.items():
        exclusions[channel] = {r: n for r, n in counts.items() if r != "recipients"}
        for rule, count in exclusions[channel].items():
            totals[rule] = totals.get(rule, 0) + count
    return {
        "campaign": campaign_id,
        "source": source,
        "recipients": {channel: counts["recipients"] for channel, counts in summary.items()},
        "exclusions": exclusions,
        "exclusions_total": totals,
    }


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
    from db.campaigns import get_campaign
    from db.models import Campaign
    from exposure import refuse_public_links

    # Before anything is queued: no worker would send links signed with the public secret.
    current = settings()
    refuse_public_links(
        secret_key=current.secret_key, base_url=current.base_url, language=current.language
    )
    actor = actor_for_campaign(campaign_id, staff, pin)
    with session() as s:
        campaign = get_campaign(s, campaign_id)
        if campaign.kind != "marketing":
            fail(text("not_draft", settings().language, id=campaign_id, status=campaign.kind))
        if campaign.status != "draft":
            fail(text("not_draft", settings().language, id=campaign_id, status=campaign.status))
        check = _check(s, campaign)
        if not check.ok:
            _print_problems(campaign_id, check)
            raise typer.Exit(1)
        updated = (
            s.query(Campaign)
            .filter_by(id=campaign_id, status="draft")
            .update({"status": "queued", "queued_at": utcnow()})
        )
        if updated != 1:
            fail(text("not_draft", settings().language, id=campaign_id, status="queued"))
        log_access(s, campaign.salon_id, actor, "campaign.queue", campaign_id=campaign_id)
    say("queued", id=campaign_id)
    _run(campaign_id, wait=wait)


def _run(campaign_id: int, *, wait: bool) -> None:
    from dispatcher import actors
    from dispatcher.embedded import run_in_process

    if not settings().embedded:
        actors.plan_campaign.send(campaign_id)
        if wait:
            _watch(campaign_id, lambda poll: _poll_until_done(poll))
        return
    # Embedded: no worker exists elsewhere, so this process sends the campaign to the end.
    if wait:
        _watch(campaign_id, lambda poll: run_in_process(campaign_id, is_finished=poll))
    else:
        run_in_process(campaign_id, is_finished=lambda: _progress(campaign_id)[0])
    with session() as s:
        from db.campaigns import get_campaign

        say("finished", id=campaign_id, status=get_campaign(s, campaign_id).status)


def _progress(campaign_id: int) -> tuple[bool, int, int]:
    """(finished, handled deliveries, all deliveries)."""
    from db.campaigns import delivery_counts, get_campaign

    with session() as s:
        status = get_campaign(s, campaign_id).status
        counts = delivery_counts(s, campaign_id)
    total = sum(sum(c.values()) for c in counts.values())
    open_ = sum(c.get("pending", 0) + c.get("sending", 0) for c in counts.values())
    return status in ("done", "cancelled"), total - open_, total


def _poll_until_done(poll: Callable[[], bool]) -> None:
    while not poll():
        time.sleep(0.5)


def _watch(campaign_id: int, runner: Callable[[Callable[[], bool]], None]) -> None:
    with typer.progressbar(length=1, label=f"campaign {campaign_id}", file=sys.stderr) as bar:

        def poll() -> bool:
            finished, done, total = _progress(campaign_id)
            bar.length = max(total, 1)
            bar.update(done - bar.pos)
            return finished

        runner(poll)


@campaign_app.command("status")
def campaign_status(
    campaign_id: Annotated[int, typer.Argument()], as_json: JsonOption = False
) -> None:
    """Counts of deliveries by state."""
    from db.campaigns import get_campaign, status_report
    from dispatcher.control import progress

    with session() as s:
        campaign = get_campaign(s, campaign_id)
        report = status_report(s, campaign)
        report["progress"] = progress(s, campaign)
    if as_json:
        emit_json(report)
        return
    typer.echo(f"campaign {report['campaign']} ({report['name']}): {report['status']}")
    for state, count in sorted(report["deliveries"].items()):
        typer.echo(f"  {state}: {count}")
    _echo_progress(report["progress"])


def _echo_progress(done: dict[str, Any]) -> None:
    eta = f", about {done['eta_seconds']} s left" if done["eta_seconds"] is not None else ""
    typer.echo(
        f"  progress: {done['done']}/{done['total']} ({done['percent']}%), "
        f"{done['rate_per_second']}/s{eta}"
    )
    if done["unknown"]:
        typer.echo(f"  in doubt: {done['unknown']} (settled with the provider, or by you)")
    if done["pause_reason"]:
        typer.echo(f"  paused: {done['pause_reason']}")


def _control(
    campaign_id: int,
    action: Callable[[Session, int], Any],
    *,
    enqueue: bool,
    logged_as: str,
    staff: str | None,
    pin: str | None,
) -> Any:
    """Run a dispatcher control action (logged, G4), then for resume/retry enqueue the work."""
    from db.access import log_access
    from dispatcher.control import ControlError

    actor = actor_for_campaign(campaign_id, staff, pin)
    try:
        with session() as s:
            result = action(s, campaign_id)
            salon_id = s.get_one(Campaign, campaign_id).salon_id
            log_access(s, salon_id, actor, logged_as, campaign_id=campaign_id)
    except ControlError as exc:
        fail(str(exc))
    if enqueue:
        _run(campaign_id, wait=False)
    return result


@campaign_app.command("pause")
def campaign_pause(
    campaign_id: Annotated[int, typer.Argument()], staff: StaffName = None, pin: StaffPin = None
) -> None:
    """Pause a sending campaign: nothing new is handed to the provider until resume."""
    from dispatcher.control import pause

    _control(campaign_id, pause, enqueue=False, logged_as="campaign.pause", staff=staff, pin=pin)
    typer.echo(f"campaign {campaign_id} paused")


@campaign_app.command("resume")
def campaign_resume(
    campaign_id: Annotated[int, typer.Argument()], staff: StaffName = None, pin: StaffPin = None
) -> None:
    """Resume a paused campaign where it stopped."""
    from dispatcher.control import resume

    _control(campaign_id, resume, enqueue=True, logged_as="campaign.resume", staff=staff, pin=pin)
    typer.echo(f"campaign {campaign_id} resumed")


@campaign_app.command("cancel")
def campaign_cancel(
    campaign_id: Annotated[int, typer.Argument()], staff: StaffName = None, pin: StaffPin = None
) -> None:
    """Cancel a campaign: deliveries not yet sent end as cancelled."""
    from dispatcher.control import cancel

    count = _control(
        campaign_id, cancel, enqueue=False, logged_as="campaign.cancel", staff=staff, pin=pin
    )
    typer.echo(f"campaign {campaign_id} cancelled ({count} deliveries not sent)")


@campaign_app.command("retry-failed")
def campaign_retry_failed(
    campaign_id: Annotated[int, typer.Argument()], staff: StaffName = None, pin: StaffPin = None
) -> None:
    """Send again the deliveries that failed for a passing cause (provider down, set-up)."""
    from dispatcher.control import retry_failed

    count = _control(
        campaign_id, retry_failed, enqueue=True, logged_as="campaign.retry", staff=staff, pin=pin
    )
    typer.echo(f"campaign {campaign_id}: {count} deliveries queued again")


@campaign_app.command("resolve-unknown")
def campaign_resolve_unknown(
    campaign_id: Annotated[int, typer.Argument()],
    sent: Annotated[
        bool, typer.Option("--sent/--resend", help="Record them as sent, or send them again")
    ],
    staff: StaffName = None,
    pin: StaffPin = None,
) -> None:
    """Decide deliveries the provider could not settle (SMTP): sent, or send again."""
    from dispatcher.control import resolve_unknown

    count = _control(
        campaign_id,
        lambda s, cid: resolve_unknown(s, cid, sent=sent),
        enqueue=not sent,
        logged_as="campaign.resolve",
        staff=staff,
        pin=pin,
    )
    typer.echo(f"campaign {campaign_id}: {count} deliveries resolved")


# -- one client, consent ----------------------------------------------------------------------


@client_app.command("show")
def client_show(
    ref: Annotated[str, typer.Argument()],
    salon: Annotated[str, typer.Option("--salon")],
    as_json: JsonOption = False,
    staff: StaffName = None,
    pin: StaffPin = None,
) -> None:
    """The client with its consent history."""
    from db.rights import show

    actor = actor_for_salon(salon, staff, pin, required=False)
    with session() as s:
        owner = get_salon(s, salon)
        document = show(s, owner, get_client(s, owner, ref), actor)
    if as_json:
        emit_json(document)
        return
    typer.echo(f"{document['ref']}: {document['first_name'] or ''} {document['last_name'] or ''}")
    for key in ("phone", "email", "birth_date", "guardian_name"):
        if document[key]:
            typer.echo(f"  {key}: {document[key]}")
    typer.echo(f"  consent: {document['consent']}")
    for event in document["consent_history"]:
        typer.echo(
            f"  {event['at']}  {event['party']} {event['channel']} {event['action']} "
            f"({event['source']}{', ' + event['evidence'] if event['evidence'] else ''})"
        )


@consent_app.command("record")
def consent_record(
    ref: Annotated[str, typer.Argument()],
    salon: Annotated[str, typer.Option("--salon")],
    channel: Annotated[str, typer.Option("--channel", help="sms or email")],
    grant: Annotated[bool, typer.Option("--grant/--withdraw")],
    source: Annotated[str, typer.Option("--source", help="oral or form")] = "oral",
    evidence: Annotated[str | None, typer.Option("--evidence", help="Form reference")] = None,
    staff: StaffName = None,
    pin: StaffPin = None,
) -> None:
    """Record a client's marketing consent answer given in the salon (C1)."""
    from db.consent import record_consent

    if channel not in ("sms", "email") or source not in ("oral", "form"):
        fail(text("bad_option", settings().language, what=f"--channel {channel} --source {source}"))
    action = "granted" if grant else "withdrawn"
    actor = actor_for_salon(salon, staff, pin, required=False)
    with session() as s:
        owner = get_salon(s, salon)
        client = get_client(s, owner, ref)
        record_consent(
            s,
            salon_id=owner.id,
            client_id=client.id,
            channel=channel,
            action=action,
            source=source,
            evidence=evidence,
            staff_id=actor.staff_id,
        )
        detail = f"{channel} {action} {source}"
        log_access(s, owner.id, actor, "consent.record", client_id=client.id, detail=detail)
    say("consent_recorded", channel=channel, action=action, source=source)


# -- web and demo -----------------------------------------------------------------------------


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
) -> None:
    """Run the web app (unsubscribe pages, provider webhooks)."""
    import uvicorn

    from exposure import refuse_exposed_web
    from web.app import serving_lines

    refuse_exposed_web(settings(), bind=host)  # the development secret on loopback only
    for line in serving_lines(settings(), host=host, port=port):
        typer.echo(line)
    # Forwarded headers are trusted only from SALONPOST_TRUSTED_PROXIES (web/proxy.py), never
    # by uvicorn's own default of 127.0.0.1.
    uvicorn.run("web.app:create_app", factory=True, host=host, port=port, proxy_headers=False)


@app.command("demo")
def demo(
    clients: Annotated[int, typer.Option("--clients")] = 1000,
) -> None:
    """Create a demo salon with generated clients and send one campaign in-process."""
    from db.demo import run_demo

    run_demo(clients=clients, echo=typer.echo)


def main() -> None:
    app()


@app.command("scheduler")
def scheduler(
    sweep_seconds: Annotated[int, typer.Option("--sweep-seconds")] = 60,
) -> None:
    """Run periodic jobs: the sweep that re-enqueues stalled campaigns (Procfile 'scheduler')."""
    import datetime as _dt
    import logging

    from apscheduler.schedulers.blocking import BlockingScheduler

    from dispatcher.sweep import sweep

    if settings().embedded:
        fail("The scheduler needs SALONPOST_REDIS_URL: the embedded default has no shared queue.")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    jobs = BlockingScheduler(timezone="UTC")
    jobs.add_job(
        sweep,
        "interval",
        seconds=sweep_seconds,
        kwargs={
            "database_url": settings().database_url,
            "batch_size": settings().batch_size,
            "stale_after": _dt.timedelta(seconds=2 * sweep_seconds),
            "lease": _dt.timedelta(seconds=settings().claim_timeout),
        },
        max_instances=1,
        coalesce=True,
    )
    from dispatcher.retention import retention_tick

    # Hourly, so each salon's 03:00 night (in its own time zone) is caught within the hour.
    jobs.add_job(
        retention_tick,
        "cron",
        minute=7,
        kwargs={
            "database_url": settings().database_url,
            "secret_key": settings().secret_key,
            "outbox_dir": settings().outbox_dir,
        },
        max_instances=1,
        coalesce=True,
    )
    jobs.start()


@app.command("queues")
def queues(as_json: JsonOption = False) -> None:
    """Queues, workers, dead letters, send rates and running campaigns (as the ops page)."""
    from web.queues import as_lines, snapshot

    with session() as s:
        document = snapshot(s, settings().redis_url)
    if as_json:
        emit_json(document)
        return
    for line in as_lines(document):
        typer.echo(line)


def _register_rights_commands() -> None:
    from cli_rights import register

    register(app, salon_app, client_app)


_register_rights_commands()
