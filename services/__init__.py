"""The use cases: one place for what staff, operators and (soon) the API do, for every edge.

The CLI (``cli/``), the staff pages (``web/``) and every later caller go through here; they
only parse input and turn results and :mod:`services.errors` into text, exit codes or HTTP.

    errors.py     the one error tree (NotFound, Refused, Forbidden, Conflict, BadInput,
                  Unavailable)
    config.py     ServiceConfig: what the use cases need of the deployment (edges build it)
    lookups.py    salon, client and campaign look-ups scoped to one salon
    campaigns.py  create, edit, check/validate, queue, test message
    steering.py   pause, resume, cancel, retry-failed, resolve-unknown
    documents.py  a campaign's status, report and audience (the ``--json`` documents)
    clients.py    create (C3), show, consent answers (C1), no reminders
    imports.py    CSV import of clients and visits
    rights.py     forget (G1), export (G3, format in export.py), automatic forgetting (G2)
    salons.py     create, settings
    staff.py      staff members, PINs, sign-in (G4), the access log
    messages.py   service messages (reminders, confirmations, review, reconnect)

Every use case takes the session, the acting :class:`db.access.Actor` and plain arguments, writes
its own access-log row and returns a typed result or raises from the error tree. The edges run
each one in :func:`transaction`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from db.session import session_scope
from services.errors import SalonpostError


@contextmanager
def transaction(database_url: str) -> Iterator[Session]:
    """One use case's session: committed when it returns, and also when it raises a
    :class:`SalonpostError` (a refusal keeps its access-log row and changed nothing else);
    rolled back on any other error."""
    with session_scope(database_url, commit_on=(SalonpostError,)) as session:
        yield session
