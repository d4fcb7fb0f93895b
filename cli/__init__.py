"""The ``salonpost`` command: a contract that salons and operators script.

Commands, options, CSV columns and ``--json`` outputs stay stable: extend, never rename.
Every ``--json`` output is one JSON document on stdout; errors go to stderr with a non-zero exit
(one handler for all of them: :class:`cli.common.SalonpostGroup`). One module per group:

    common.py    settings, texts, sessions, the acting staff member, the error handler
    db.py        db upgrade                       salon.py     salon create|set, retention run
    imports.py   clients import, visits import    campaign.py  campaign create|validate|...
    steering.py  campaign pause|resume|...        running.py   handing campaigns to workers
    client.py    client ..., consent record       staff.py     staff ..., access-log
    message.py   message send                     ops.py       serve, scheduler, queues
    demo.py      demo (``make demo``)

Staff act with ``--staff NAME`` and a PIN (``--pin``, ``SALONPOST_STAFF_PIN`` or asked for
without echo); the PIN is never printed or logged. Without ``--staff`` the older commands act as
the "operator" (logged so); the commands that read or change a client require a PIN.
"""

from __future__ import annotations

import typer

from cli import ops, steering
from cli.campaign import campaign_app
from cli.client import client_app, consent_app
from cli.common import SalonpostGroup
from cli.db import db_app
from cli.imports import clients_app, visits_app
from cli.message import message_app
from cli.salon import retention_app, salon_app
from cli.staff import access_log, staff_app

app = typer.Typer(
    cls=SalonpostGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # locals in tracebacks would print client data
    help="Salonpost campaigns.",
)
steering.register(campaign_app)
for sub, name in [
    (db_app, "db"),
    (salon_app, "salon"),
    (clients_app, "clients"),
    (visits_app, "visits"),
    (campaign_app, "campaign"),
    (client_app, "client"),
    (consent_app, "consent"),
    (staff_app, "staff"),
    (message_app, "message"),
    (retention_app, "retention"),
]:
    app.add_typer(sub, name=name)
app.command("serve")(ops.serve)
app.command("scheduler")(ops.scheduler)
app.command("queues")(ops.queues)
app.command("access-log")(access_log)


@app.command("demo")
def demo(
    clients: int = typer.Option(1000, "--clients"),
) -> None:
    """Create a demo salon with generated clients and send one campaign in-process."""
    from cli.demo import run_demo

    run_demo(clients=clients, echo=typer.echo)


def main() -> None:
    app()
