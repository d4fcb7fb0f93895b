"""What every command group shares: settings, texts, the session, the acting staff member and
the ONE handler that turns :mod:`services.errors` into a message on stderr and an exit code.

The command groups only parse options, call a use case and print its result; every message
goes through the text catalogue (``templates.texts``) in ``SALONPOST_LANGUAGE``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from sqlalchemy.orm import Session
from typer.core import TyperGroup

from db.access import OPERATOR, Actor
from services import transaction
from services.config import ServiceConfig
from services.errors import BadInput, Forbidden, Problem, Refused, SalonpostError
from services.lookups import get_salon, salon_of_campaign
from services.staff import is_pin, sign_in
from settings import Settings, get_settings
from templates.texts import has, text

if TYPE_CHECKING:  # the click typer ships and types its groups against (not needed at run time)
    from typer._click.core import Context

# Exit codes: 1 the action was refused or failed (any error of services.errors); 2 the
# deployment is misconfigured (a development secret outside development).
EXIT_REFUSED = 1
EXIT_CONFIGURATION = 2

JsonOption = Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")]
SalonOption = Annotated[str, typer.Option("--salon")]
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


def settings() -> Settings:
    return get_settings()


def lang() -> str:
    return settings().language


def config() -> ServiceConfig:
    s = settings()
    return ServiceConfig(base_url=s.base_url, secret_key=s.secret_key)


def t(key: str, /, **values: object) -> str:
    """A text of the catalogue in the CLI's language."""
    return text(key, lang(), **values)


def say(key: str, /, **values: object) -> None:
    typer.echo(t(key, **values))


def warn(key: str, /, **values: object) -> None:
    typer.echo(text(key, lang(), **values), err=True)


def fail(key: str, /, *, code: int = EXIT_REFUSED, **values: object) -> NoReturn:
    warn(key, **values)
    raise typer.Exit(code)


def emit_json(document: Any) -> None:
    typer.echo(json.dumps(document, ensure_ascii=False, indent=2, default=str))


@contextmanager
def session() -> Iterator[Session]:
    """One use case's transaction (a refusal keeps its access-log row, see services)."""
    with transaction(settings().database_url) as s:
        yield s


def read_file(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput("error.bad_file", field=str(path), path=path, what=exc) from None


# -- errors -------------------------------------------------------------------------------------


def print_problems(problems: list[Problem]) -> None:
    for p in problems:
        where = p.field + (text("cli.at_line", lang(), line=p.line) if p.line else "")
        message = p.message  # the template analysis names the detail in English
        if lang() != "en" and has(f"problem.{p.code}"):
            message = f"{text(f'problem.{p.code}', lang())} ({p.message})"
        typer.echo(f"  {p.rule} [{where}] {p.code}: {message}", err=True)
    if any(p.rule == "R1" for p in problems):
        warn("cli.recreate")


def report_error(error: SalonpostError) -> None:
    """The one rendering of every use-case error on the command line (stderr)."""
    typer.echo(error.message(lang()), err=True)
    if isinstance(error, Refused):
        print_problems(error.problems)
    elif isinstance(error, BadInput):
        for problem in error.problems:
            typer.echo(f"  {problem}", err=True)


class SalonpostGroup(TyperGroup):
    """The root command: every :class:`SalonpostError` of any command ends here, once."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except SalonpostError as error:
            report_error(error)
            raise typer.Exit(EXIT_REFUSED) from None


# -- who acts -----------------------------------------------------------------------------------


def pepper() -> str:
    try:
        return settings().checked_pin_pepper()
    except ValueError:
        fail("cli.pin_pepper_default", code=EXIT_CONFIGURATION)


def _ask_pin(pin: str | None) -> str:
    if pin is not None:
        return pin
    if not sys.stdin.isatty():
        raise Forbidden("error.pin_needed")
    return str(typer.prompt(t("cli.pin_prompt"), hide_input=True, default="", show_default=False))


def actor_for(salon_id: int, staff: str | None, pin: str | None, *, required: bool) -> Actor:
    """The signed-in staff member, or the operator when ``staff`` is None and not ``required``."""
    if staff is None:
        if pin is not None:
            raise Forbidden("error.pin_without_staff")
        if required:
            raise Forbidden("error.staff_needed", permission="staff")
        return Actor(salon_id=salon_id, name=OPERATOR.name)
    name: str | None = staff
    if pin is None and is_pin(staff):
        name, pin = None, staff  # `--staff PIN`: the PIN alone says who acts
    secret = _ask_pin(pin)
    return sign_in(settings().database_url, salon_id, name, secret, pepper=pepper())


def actor_for_salon(slug: str, staff: str | None, pin: str | None, *, required: bool) -> Actor:
    with session() as s:
        salon_id = get_salon(s, slug).id
    return actor_for(salon_id, staff, pin, required=required)


def actor_for_campaign(campaign_id: int, staff: str | None, pin: str | None) -> Actor:
    with session() as s:
        salon_id = salon_of_campaign(s, campaign_id).id
    return actor_for(salon_id, staff, pin, required=False)
