"""``salonpost salon create|set`` and ``salonpost retention run``."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import StaffName, StaffPin, actor_for_salon, say, session, settings, t
from services import rights, salons
from services.errors import BadInput
from services.lookups import get_salon

salon_app = typer.Typer(no_args_is_help=True, help="Salons.")
retention_app = typer.Typer(no_args_is_help=True, help="Automatic forgetting (retention).")


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
    with session() as s:
        salon = salons.create(s, slug, name, gate_on=gate_on, timezone=timezone, region=region)
        say("cli.salon_created", slug=slug, id=salon.id)


@salon_app.command("set")
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
    if retention_months is None:
        raise BadInput("error.nothing_to_set", field="retention_months")
    actor = actor_for_salon(slug, staff, pin, required=False)
    months = retention_months or None
    with session() as s:
        rights.set_retention(s, actor, get_salon(s, slug), months)
    state = t("cli.months", months=months) if months else t("cli.off")
    say("cli.retention_set", slug=slug, state=state)


@retention_app.command("run")
def retention_run() -> None:
    """Run every due retention run now (the scheduler does this hourly); safe to repeat."""
    from dispatcher.retention import retention_tick

    current = settings()
    reports = retention_tick(
        current.database_url, secret_key=current.secret_key, outbox_dir=current.outbox_dir
    )
    if not reports:
        say("cli.retention_nothing")
    for r in reports:
        again = t("cli.already_done") if r.already_done else ""
        say(
            "cli.retention_ran", salon=r.salon_id, night=r.due_at.isoformat(),
            count=r.anonymised, again=again,
        )  # fmt: skip
