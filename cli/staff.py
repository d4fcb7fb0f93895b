"""``salonpost staff add|unlock|reset-pin`` (operator commands) and ``salonpost access-log``."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import JsonOption, SalonOption, emit_json, pepper, say, session, t
from db.access import Actor
from services import staff as staff_cases
from services.lookups import get_salon

staff_app = typer.Typer(no_args_is_help=True, help="Staff members and PINs.")
Name = Annotated[str, typer.Argument()]
NewPin = Annotated[
    str,
    typer.Option(
        "--pin", prompt=True, hide_input=True, confirmation_prompt=True, help="4-6 digits"
    ),
]


@staff_app.command("add")
def staff_add(
    name: Name,
    salon: SalonOption,
    pin: NewPin,
    role: Annotated[str, typer.Option("--role")] = "marketing",
) -> None:
    """Add a staff member with a personal PIN (operator command)."""
    secret = pepper()
    with session() as s:
        owner = get_salon(s, salon)
        staff_cases.add(s, Actor(owner.id), owner, name, pin, pepper=secret, role=role)
    say("cli.staff_added", name=name)


@staff_app.command("unlock")
def staff_unlock(name: Name, salon: SalonOption) -> None:
    """Lift a staff member's PIN lock-out early (operator command, logged)."""
    with session() as s:
        owner = get_salon(s, salon)
        staff_cases.unlock(s, Actor(owner.id), owner, name)
    say("cli.staff_unlocked", name=name)


@staff_app.command("reset-pin")
def staff_reset_pin(name: Name, salon: SalonOption, pin: NewPin) -> None:
    """Give a staff member who forgot their PIN a new one (operator command, logged)."""
    secret = pepper()
    with session() as s:
        owner = get_salon(s, salon)
        staff_cases.reset(s, Actor(owner.id), owner, name, pin, pepper=secret)
    say("cli.staff_pin_reset", name=name)


def access_log(
    salon: SalonOption,
    staff_name: Annotated[
        str | None, typer.Option("--staff", help="Only this staff member")
    ] = None,
    client: Annotated[str | None, typer.Option("--client", help="Only this client ref")] = None,
    as_json: JsonOption = False,
) -> None:
    """Who read or changed which client or campaign, and when (newest first)."""
    with session() as s:
        document = staff_cases.access_log(
            s, get_salon(s, salon), staff_name=staff_name, client_ref=client
        )
    if as_json:
        emit_json(document)
        return
    for e in document["entries"]:
        about = e["client"] or (t("cli.campaign_ref", id=e["campaign"]) if e["campaign"] else "")
        typer.echo(f"{e['at']}  {e['staff']:<12} {e['action']:<20} {about} {e['detail'] or ''}")
