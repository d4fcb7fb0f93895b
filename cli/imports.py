"""``salonpost clients import`` and ``salonpost visits import``: CSV files, all rows or none."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import StaffName, StaffPin, actor_for_salon, read_file, say, session, settings
from services.imports import import_client_file, import_visit_file
from services.lookups import get_salon

clients_app = typer.Typer(no_args_is_help=True, help="Client lists.")
visits_app = typer.Typer(no_args_is_help=True, help="Visits and purchases.")
CsvFile = Annotated[Path, typer.Argument(exists=True, dir_okay=False)]


@clients_app.command("import")
def clients_import(
    path: CsvFile,
    salon: Annotated[str, typer.Option("--salon")],
    staff: StaffName = None,
    pin: StaffPin = None,
) -> None:
    """Import clients from CSV (re-importing a ref updates it); all rows or none."""
    actor = actor_for_salon(salon, staff, pin, required=False)
    content = read_file(path) or ""
    with session() as s:
        result = import_client_file(
            s, actor, get_salon(s, salon), content, name=path.name,
            secret_key=settings().secret_key,
        )  # fmt: skip
    for warning in result.warnings:
        typer.echo(f"  {path.name}: {warning}", err=True)
    say("cli.clients_imported", **vars(result))


@visits_app.command("import")
def visits_import(
    path: CsvFile,
    salon: Annotated[str, typer.Option("--salon")],
    staff: StaffName = None,
    pin: StaffPin = None,
) -> None:
    """Import visits from CSV (client_ref,visited_at,amount); all rows or none."""
    actor = actor_for_salon(salon, staff, pin, required=False)
    content = read_file(path) or ""
    with session() as s:
        result = import_visit_file(s, actor, get_salon(s, salon), content, name=path.name)
    say("cli.visits_imported", **vars(result))
