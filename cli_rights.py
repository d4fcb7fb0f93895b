"""``salonpost`` commands for staff PINs, client rights, transactional messages and retention.

Registered on the command tree by :mod:`cli` (``register``); the contract rules of ``cli`` apply.
A staff member acts with ``--staff NAME`` and a PIN (``--pin``, ``SALONPOST_STAFF_PIN`` or asked
for without echo); the PIN is never printed or logged. Without ``--staff`` the older commands act
as the "operator" (logged so); the commands here that read or change a client require a PIN.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from sqlalchemy.orm import Session

from db.clients import NotFound, get_client, get_salon
from db.models import Salon, Staff
from db.session import session_scope
from db.staff import OPERATOR, Actor, BadPin, PinRefused, StaffError
from settings import get_settings
from templates.texts import text

StaffName = Annotated[
    str | None,
    typer.Option(
        "--staff",
        envvar="SALONPOST_STAFF",
        help="Your staff PIN, or your name together with --pin",
    ),
]
StaffPin = Annotated[
    str | None,
    typer.Option(
        "--pin", envvar="SALONPOST_STAFF_PIN", show_envvar=True, help="The staff member's PIN"
    ),
]
SalonOption = Annotated[str, typer.Option("--salon")]
JsonOption = Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")]

staff_app = typer.Typer(no_args_is_help=True, help="Staff members and PINs.")
message_app = typer.Typer(no_args_is_help=True, help="Transactional messages (not marketing).")
retention_app = typer.Typer(no_args_is_help=True, help="Automatic forgetting (retention).")


def _say(key: str, **values: object) -> None:
    typer.echo(text(key, get_settings().language, **values))


def _fail(key: str, **values: object) -> NoReturn:
    typer.echo(text(key, get_settings().language, **values), err=True)
    raise typer.Exit(1)


@contextmanager
def _session() -> Iterator[Session]:
    try:
        with session_scope(get_settings().database_url) as s:
            yield s
    except NotFound as exc:
        _fail("not_found", what=exc)


def _pepper() -> str:
    try:
        return get_settings().checked_pin_pepper()
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def _ask_pin(pin: str | None) -> str:
    if pin is not None:
        return pin
    if not sys.stdin.isatty():
        _fail("pin_needed")
    return str(typer.prompt("PIN", hide_input=True, default="", show_default=False))


def actor_for(salon_id: int, staff: str | None, pin: str | None, *, required: bool) -> Actor:
    """The signed-in staff member, or the operator when ``staff`` is None and not ``required``."""
    if staff is None:
        if pin is not None:
            _fail("pin_without_staff")
        if required:
            _fail("staff_needed")
        return Actor(salon_id=salon_id, name=OPERATOR.name)
    from db.staff import is_pin, sign_in

    name: str | None = staff
    if pin is None and is_pin(staff):
        name, pin = None, staff  # `--staff PIN`: the PIN alone says who acts
    secret = _ask_pin(pin)
    try:
        return sign_in(get_settings().database_url, salon_id, name, secret, pepper=_pepper())
    except BadPin as exc:
        _fail("pin_bad", what=exc)
    except PinRefused as exc:
        if exc.locked_until is not None:
            _fail("pin_locked", until=exc.locked_until.isoformat(timespec="minutes"))
        _fail("pin_refused")


def actor_for_salon(slug: str, staff: str | None, pin: str | None, *, required: bool) -> Actor:
    with _session() as s:
        salon_id = get_salon(s, slug).id
    return actor_for(salon_id, staff, pin, required=required)


def actor_for_campaign(campaign_id: int, staff: str | None, pin: str | None) -> Actor:
    from db.campaigns import get_campaign

    with _session() as s:
        salon_id = get_campaign(s, campaign_id).salon_id
    return actor_for(salon_id, staff, pin, required=False)


def _emit(document: Any) -> None:
    typer.echo(json.dumps(document, ensure_ascii=False, indent=2, default=str))


# -- staff ------------------------------------------------------------------------------------


NewPin = Annotated[
    str,
    typer.Option(
        "--pin", prompt=True, hide_input=True, confirmation_prompt=True, help="4-6 digits"
    ),
]


def _on_staff(
    slug: str, action: str, change: Callable[[Session, Salon], Staff], done: str, name: str
) -> None:
    """An operator command on one staff member: the change and its access-log row commit
    together, a refusal is named and changes nothing."""
    from db.access import log_access

    try:
        with _session() as s:
            owner = get_salon(s, slug)
            staff = change(s, owner)
            detail = f"staff={staff.id} role={staff.role}"
            log_access(s, owner.id, Actor(owner.id), action, detail=detail)
    except BadPin as exc:
        _fail("pin_bad", what=exc)
    except StaffError as exc:
        _fail("bad_option", what=exc)
    _say(done, name=name)


@staff_app.command("add")
def staff_add(
    name: Annotated[str, typer.Argument()],
    salon: SalonOption,
    pin: NewPin,
    role: Annotated[str, typer.Option("--role")] = "marketing",
) -> None:
    """Add a staff member with a personal PIN (operator command)."""
    from db.staff import add_staff

    pepper = _pepper()

    def add(s: Session, owner: Salon) -> Staff:
        return add_staff(s, owner, name, pin, pepper=pepper, role=role)

    _on_staff(salon, "staff.add", add, "staff_added", name)


@staff_app.command("unlock")
def staff_unlock(name: Annotated[str, typer.Argument()], salon: SalonOption) -> None:
    """Lift a staff member's PIN lock-out early (operator command, logged)."""
    from db.staff import unlock_staff

    _on_staff(
        salon, "staff.unlock", lambda s, owner: unlock_staff(s, owner, name), "staff_unlocked", name
    )


@staff_app.command("reset-pin")
def staff_reset_pin(
    name: Annotated[str, typer.Argument()], salon: SalonOption, pin: NewPin
) -> None:
    """Give a staff member who forgot their PIN a new one (operator command, logged)."""
    from db.staff import reset_pin

    pepper = _pepper()

    def reset(s: Session, owner: Salon) -> Staff:
        return reset_pin(s, owner, name, pin, pepper=pepper)

    _on_staff(salon, "staff.pin_reset", reset, "staff_pin_reset", name)


def access_log(
    salon: SalonOption,
    staff_name: Annotated[
        str | None, typer.Option("--staff", help="Only this staff member")
    ] = None,
    client: Annotated[str | None, typer.Option("--client", help="Only this client ref")] = None,
    as_json: JsonOption = False,
) -> None:
    """Who read or changed which client or campaign, and when (newest first)."""
    from db.access import access_entries

    with _session() as s:
        entries = access_entries(
            s, get_salon(s, salon).id, staff_name=staff_name, client_ref=client
        )
    if as_json:
        _emit({"salon": salon, "entries": entries})
        return
    for e in entries:
        about = e["client"] or (f"campaign {e['campaign']}" if e["campaign"] else "")
        typer.echo(f"{e['at']}  {e['staff']:<12} {e['action']:<20} {about} {e['detail'] or ''}")


# -- one client -------------------------------------------------------------------------------


def client_create(
    ref: Annotated[str, typer.Argument()],
    salon: SalonOption,
    sms_consent: Annotated[
        str,
        typer.Option("--sms-consent", prompt="Marketing SMS? (oral/form/declined/not-asked)"),
    ],
    email_consent: Annotated[
        str,
        typer.Option("--email-consent", prompt="Marketing email? (oral/form/declined/not-asked)"),
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
    import datetime as dt

    from db.intake import ConsentAnswers, IntakeError, NewClient, create_client

    try:
        born = dt.date.fromisoformat(birth_date) if birth_date else None
    except ValueError as exc:
        _fail("bad_option", what=exc)
    new = NewClient(
        ref, first_name, last_name, phone, email, born, guardian_name, guardian_phone,
        guardian_email,
    )  # fmt: skip
    answers = ConsentAnswers(sms_consent, email_consent, form_ref)
    try:
        answers.check()
        actor = actor_for_salon(salon, staff, pin, required=True)
        with _session() as s:
            owner = get_salon(s, salon)
            create_client(s, owner, new, answers, actor, secret_key=get_settings().secret_key)
    except IntakeError as exc:
        _fail("client_refused", what=exc)
    _say("client_created", ref=ref)


def client_forget(
    ref: Annotated[str, typer.Argument()],
    salon: SalonOption,
    staff: StaffName = None,
    pin: StaffPin = None,
) -> None:
    """Forget a client on request (G1): irreversible; visits and counts stay for the reports."""
    from db.forget import AlreadyForgotten
    from db.rights import forget
    from dispatcher.forgetting import outbox_forgetter

    actor = actor_for_salon(salon, staff, pin, required=True)
    files = outbox_forgetter(get_settings().outbox_dir)  # the outbox's copies go too (G1)
    try:
        with _session() as s:
            owner = get_salon(s, salon)
            client = get_client(s, owner, ref)
            forget(
                s, owner, client, actor, secret_key=get_settings().secret_key, forget_messages=files
            )
    except AlreadyForgotten:
        _fail("already_forgotten")
    except OSError as exc:  # an outbox file could not be rewritten: nothing was forgotten
        _fail("forget_files_failed", what=exc)
    _say("client_forgotten", ref=ref)


def client_export(
    ref: Annotated[str, typer.Argument()],
    salon: SalonOption,
    staff: StaffName = None,
    pin: StaffPin = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to a file, not stdout")
    ] = None,
) -> None:
    """Everything stored about a client as one JSON document (G3; format in db/export.py)."""
    from db.export import export_client

    actor = actor_for_salon(salon, staff, pin, required=True)
    with _session() as s:
        owner = get_salon(s, salon)
        document = export_client(s, owner, get_client(s, owner, ref), actor)
    body = json.dumps(document, ensure_ascii=False, indent=2)
    if output is None:
        typer.echo(body)
    else:
        output.write_text(body + "\n", encoding="utf-8")


def client_no_reminders(
    ref: Annotated[str, typer.Argument()],
    salon: SalonOption,
    on: Annotated[bool, typer.Option("--on/--off", help="No reminders (on) or reminders again")],
    staff: StaffName = None,
    pin: StaffPin = None,
) -> None:
    """Set or clear the client's "no reminders" flag (staff in the salon only)."""
    from db.rights import set_no_reminders

    actor = actor_for_salon(salon, staff, pin, required=True)
    with _session() as s:
        owner = get_salon(s, salon)
        set_no_reminders(s, owner, get_client(s, owner, ref), actor, on=on)
    _say("no_reminders_set", ref=ref, state="on" if on else "off")


# -- transactional messages -------------------------------------------------------------------

SKIP_REASONS = {
    "R7": "forgotten",
    "NR": "no reminders",
    "R8": "no valid address",
    "R9": "suppressed",
}


@message_app.command("send")
def message_send(
    ref: Annotated[str, typer.Argument()],
    salon: SalonOption,
    kind: Annotated[str, typer.Option("--kind", help="reminder|confirmation|review|reconnect")],
    template: Annotated[Path, typer.Option("--template", exists=True, dir_okay=False)],
    channel: Annotated[str, typer.Option("--channel", help="sms or email")] = "sms",
    subject: Annotated[str | None, typer.Option("--subject", help="Email subject")] = None,
    staff: StaffName = None,
    pin: StaffPin = None,
) -> None:
    """Send one transactional message (no marketing consent needed; never to forgotten clients,
    never to clients with "no reminders")."""
    from dispatcher.runtime import get_runtime
    from dispatcher.transactional import TransactionalError, send_message

    source = template.read_text(encoding="utf-8")
    actor = actor_for_salon(salon, staff, pin, required=True)
    try:
        with _session() as s:
            owner = get_salon(s, salon)
            outcome = send_message(
                s, get_runtime(), owner, get_client(s, owner, ref), actor,
                kind=kind, channel=channel, template=source, subject=subject,
            )  # fmt: skip
    except TransactionalError as exc:
        typer.echo(text("message_refused", get_settings().language, what=exc), err=True)
        for p in exc.problems:
            typer.echo(f"  {p.rule} [{p.field}] {p.code}: {p.message}", err=True)
        raise typer.Exit(1) from None
    if outcome.rule is not None:
        _fail(
            "message_skipped", kind=kind, ref=ref, rule=outcome.rule, why=SKIP_REASONS[outcome.rule]
        )
    _say("message_sent", kind=kind, ref=ref, status=outcome.status)
    if outcome.status != "sent":
        raise typer.Exit(1)


# -- salon settings and retention -------------------------------------------------------------


def salon_set(
    slug: Annotated[str, typer.Argument()],
    retention_months: Annotated[
        int | None,
        typer.Option("--retention-months", help="Forget clients inactive this long; 0 = off"),
    ] = None,
    staff: StaffName = None,
    pin: StaffPin = None,
) -> None:
    """Change a salon's settings (automatic forgetting: first run the following night)."""
    from dispatcher.retention import set_retention

    if retention_months is None:
        _fail("bad_option", what="nothing to set (--retention-months N)")
    actor = actor_for_salon(slug, staff, pin, required=False)
    months = retention_months or None
    try:
        with _session() as s:
            set_retention(s, get_salon(s, slug), months, actor)
    except ValueError as exc:
        _fail("bad_option", what=exc)
    state = f"{months} months" if months else "off"
    _say("retention_set", slug=slug, state=state)


@retention_app.command("run")
def retention_run() -> None:
    """Run every due retention run now (the scheduler does this hourly); safe to repeat."""
    from dispatcher.retention import retention_tick

    current = get_settings()
    reports = retention_tick(
        current.database_url, secret_key=current.secret_key, outbox_dir=current.outbox_dir
    )
    if not reports:
        _say("retention_nothing")
    for r in reports:
        again = " (already done)" if r.already_done else ""
        _say(
            "retention_ran",
            salon=r.salon_id,
            night=r.due_at.isoformat(),
            count=r.anonymised,
            again=again,
        )


def register(app: typer.Typer, salon_app: typer.Typer, client_app: typer.Typer) -> None:
    """Add these commands to ``salonpost``."""
    app.add_typer(staff_app, name="staff")
    app.add_typer(message_app, name="message")
    app.add_typer(retention_app, name="retention")
    app.command("access-log")(access_log)
    salon_app.command("set")(salon_set)
    client_app.command("create")(client_create)
    client_app.command("forget")(client_forget)
    client_app.command("export")(client_export)
    client_app.command("no-reminders")(client_no_reminders)
