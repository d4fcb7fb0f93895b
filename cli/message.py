"""``salonpost message send``: one service message (not marketing; DESIGN.md §1)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import (
    SalonOption,
    StaffName,
    StaffPin,
    actor_for_salon,
    fail,
    read_file,
    say,
    session,
    t,
)
from db.states import DeliveryStatus
from services.lookups import get_client, get_salon
from services.messages import send_message

message_app = typer.Typer(no_args_is_help=True, help="Transactional messages (not marketing).")


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

    source = read_file(template) or ""
    actor = actor_for_salon(salon, staff, pin, required=True)
    with session() as s:
        owner = get_salon(s, salon)
        outcome = send_message(
            s, actor, get_runtime(), owner, get_client(s, owner, ref),
            kind=kind, channel=channel, template=source, subject=subject,
        )  # fmt: skip
    if outcome.rule is not None:
        why = t(f"cli.skip.{outcome.rule}")
        fail("cli.message_skipped", kind=kind, ref=ref, rule=outcome.rule, why=why)
    say("cli.message_sent", kind=kind, ref=ref, status=outcome.status)
    if outcome.status != DeliveryStatus.SENT:
        raise typer.Exit(1)
