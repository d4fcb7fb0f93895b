"""The one error tree of the use cases; each edge turns it into text, an exit code or HTTP.

    SalonpostError              key + values of the text catalogue (templates.texts)
     ├── NotFound               no such salon, client, campaign or staff member, or another
     │                          salon's (which is the same to the caller)             HTTP 404
     ├── Refused                a rule says no (``rule`` R1..R11, ``problems``)       HTTP 409
     ├── Forbidden              the actor may not (PIN wrong or locked, no staff member,
     │                          ``permission`` names what is missing)                 HTTP 403
     ├── Conflict               the thing is in the wrong state ("not a draft")       HTTP 409
     ├── BadInput               a field or line is wrong (``field``, ``line``)        HTTP 422
     └── Unavailable            something the use case needs outside the database failed
                                (the outbox folder); nothing was changed              HTTP 503

A use case that raises has changed nothing but, where the rules ask for it, its access-log row
(a refused action is logged, G5): the edges commit on a SalonpostError and roll back on any
other error (:func:`services.transaction`). Every error carries a catalogue key and the values
of its placeholders, never a finished sentence, so the CLI and the web app say it in their
user's language; ``str(error)`` is the English text, for logs and tracebacks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from templates.texts import text


class SalonpostError(Exception):
    """Root of the use cases' errors: ``key`` in the text catalogue and its ``values``."""

    def __init__(self, key: str, **values: object) -> None:
        self.key = key
        self.values = values
        super().__init__(text(key, "en", **values))

    def message(self, language: str) -> str:
        return text(self.key, language, **self.values)


class NotFound(SalonpostError):
    """No such thing in this salon; ``what`` says which (``campaign 7``, ``client 'K1'``)."""

    def __init__(self, what: str) -> None:
        super().__init__("error.not_found", what=what)


@dataclass(frozen=True)
class Problem:
    """One reason for a refusal or bad input: the rule (or field), where, and what is wrong."""

    rule: str
    field: str
    code: str
    message: str
    line: int | None = None


class Refused(SalonpostError):
    """A rule refuses the action: ``rule`` (R1..R11, "NR" for no reminders) and its problems."""

    def __init__(
        self, key: str, *, rule: str, problems: Sequence[Problem] = (), **values: object
    ) -> None:
        self.rule = rule
        self.problems = list(problems)
        super().__init__(key, rule=rule, **values)

    def __str__(self) -> str:
        found = [f"{p.rule} [{p.field}] {p.code}: {p.message}" for p in self.problems]
        return "\n".join([super().__str__(), *found])


class Forbidden(SalonpostError):
    """The actor may not do this: ``permission`` names what is missing (a PIN, a staff member);
    ``locked_until`` is set when the PIN is locked."""

    def __init__(
        self,
        key: str,
        *,
        permission: str = "pin",
        locked_until: dt.datetime | None = None,
        **values: object,
    ) -> None:
        self.permission = permission
        self.locked_until = locked_until
        super().__init__(key, **values)


class Conflict(SalonpostError):
    """The thing is not in a state that allows the action (``status`` says which it is in)."""


class BadInput(SalonpostError):
    """A field or an input line is wrong; ``problems`` holds one entry per line for files."""

    def __init__(
        self,
        key: str,
        *,
        field: str | None = None,
        line: int | None = None,
        problems: Sequence[str] = (),
        **values: object,
    ) -> None:
        self.field = field
        self.line = line
        self.problems = list(problems)
        super().__init__(key, **values)

    def __str__(self) -> str:
        return "\n".join([super().__str__(), *self.problems])


class Unavailable(SalonpostError):
    """Storage or a service outside the database failed before anything was changed."""
