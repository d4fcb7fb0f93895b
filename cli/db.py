"""``salonpost db upgrade``: the Procfile's release step."""

from __future__ import annotations

import typer

from cli.common import say, settings

db_app = typer.Typer(no_args_is_help=True, help="Database schema.")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every database migration (the Procfile's release step)."""
    from db.migrate import upgrade

    upgrade(settings().database_url)
    say("cli.migrated")
