"""CSV import of clients and visits: every row checked first, then all written or none.

A bad row is reported with its line number and column; nothing of the file is stored then, so a
salon never ends up with half an import. What passes is written in bulk statements in the
caller's transaction, and the tables it changed are analysed before the commit.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, insert, select, text, update
from sqlalchemy.orm import Session

from db.access import Actor, log_access
from db.forget import PERSONAL_FIELDS, restore_suppressions
from db.models import Client, ConsentEvent, Salon, Visit, utcnow
from db.session import analyse_bulk_write
from gate.contacts import normalise_email, normalise_phone
from services.errors import BadInput

CLIENT_COLUMNS = [
    "ref",
    "first_name",
    "last_name",
    "phone",
    "email",
    "birth_date",
    "guardian_name",
    "guardian_phone",
    "guardian_email",
    "created_at",
    "imported_at",
    "sms_marketing",
    "email_marketing",
    "guardian_consent",
]
VISIT_COLUMNS = ["client_ref", "visited_at", "amount"]
CONSENT_VALUES = {"": None, "granted": "granted", "withdrawn": "withdrawn"}


class ImportError_(BadInput):
    """The file was refused; ``problems`` lists every bad row as 'line N: column: problem'."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("error.import_refused", problems=problems)


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    consent_events: int = 0
    kept_withdrawals: int = 0
    visits: int = 0
    warnings: list[str] = field(default_factory=list)


class RowError(ValueError):
    pass


def _rows(text: str, columns: list[str]) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise ImportError_([f"line 1: missing column(s): {', '.join(missing)}"])
    for row in reader:
        if None in row:
            raise ImportError_([f"line {reader.line_num}: more fields than columns"])
        yield reader.line_num, {k: (v or "").strip() for k, v in row.items() if k in columns}


def parse_date(value: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise RowError(f"not a date (YYYY-MM-DD): {value!r}") from exc


def parse_time(value: str, timezone: str) -> dt.datetime | None:
    """ISO date or date-time; without an offset it is the salon's local time."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise RowError(f"not a date or time (ISO 8601): {value!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(timezone))
    return parsed.astimezone(dt.UTC)


def _consent_value(value: str) -> str | None:
    if value.lower() not in CONSENT_VALUES:
        raise RowError(f"must be 'granted', 'withdrawn' or blank, not {value!r}")
    return CONSENT_VALUES[value.lower()]


def _check_field(problems: list[str], line: int, column: str, parse: Any, value: str) -> Any:
    try:
        return parse(value)
    except RowError as exc:
        problems.append(f"line {line}: {column}: {exc}")
        return None


def _parse_client(
    line: int, row: dict[str, str], salon: Salon, problems: list[str], warnings: list[str]
) -> dict[str, Any]:
    tz = salon.timezone
    parsed: dict[str, Any] = {"ref": row["ref"], "line": line}
    if not row["ref"]:
        problems.append(f"line {line}: ref: must not be empty")
    for name in ("first_name", "last_name", "guardian_name"):
        parsed[name] = row[name] or None
    parsed["birth_date"] = _check_field(problems, line, "birth_date", parse_date, row["birth_date"])
    for name in ("created_at", "imported_at"):
        parsed[name] = _check_field(problems, line, name, lambda v: parse_time(v, tz), row[name])
    for name in ("sms_marketing", "email_marketing", "guardian_consent"):
        parsed[name] = _check_field(problems, line, name, _consent_value, row[name])
    for prefix in ("", "guardian_"):
        phone, email = row[f"{prefix}phone"], row[f"{prefix}email"]
        parsed[f"{prefix}phone"] = phone or None
        parsed[f"{prefix}phone_e164"] = normalise_phone(phone, region=salon.default_region)
        parsed[f"{prefix}email"] = email or None
        parsed[f"{prefix}email_normalized"] = normalise_email(email)
        # Kept as entered: the client is still a client, only unreachable on that channel (R8).
        if phone and parsed[f"{prefix}phone_e164"] is None:
            warnings.append(f"line {line}: {prefix}phone: not a valid mobile number {phone!r} (R8)")
        if email and parsed[f"{prefix}email_normalized"] is None:
            warnings.append(f"line {line}: {prefix}email: not a valid address {email!r} (R8)")
    return parsed


# What an import writes: every personal field a CSV row carries (notes are staff-only).
CONTACT_FIELDS = [name for name in PERSONAL_FIELDS if name != "notes"]
_TABLES: dict[str, Table] = {model.__tablename__: model.__table__  # type: ignore[misc]
                             for model in (Client, ConsentEvent, Visit)}  # fmt: skip
# Ids or refs per IN list: far below PostgreSQL's 65,535 parameters a statement.
IN_CHUNK = 10_000


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), IN_CHUNK):
        yield values[start : start + IN_CHUNK]


def _existing(session: Session, salon: Salon, refs: list[str]) -> dict[str, Any]:
    """ref -> (id, anonymised_at) of the salon's clients among `refs`."""
    found: dict[str, Any] = {}
    for refs_chunk in _chunks(refs):
        found.update(
            (row.ref, row)
            for row in session.execute(
                select(Client.ref, Client.id, Client.anonymised_at).where(
                    Client.salon_id == salon.id, Client.ref.in_(refs_chunk)
                )
            )
        )
    return found


def _consent_states(session: Session, client_ids: list[int]) -> dict[int, dict[Any, str]]:
    """client id -> {(party, channel): latest action}, from the log (C2), in one pass."""
    states: dict[int, dict[Any, str]] = {}
    for ids in _chunks(client_ids):
        rows = session.execute(
            select(ConsentEvent.client_id, ConsentEvent.party, ConsentEvent.channel,
                   ConsentEvent.action)
            .where(ConsentEvent.client_id.in_(ids))
            .order_by(ConsentEvent.id)
        )  # fmt: skip
        for client_id, party, channel, action in rows:
            states.setdefault(client_id, {})[(party, channel)] = action
    return states


def _consent_events(
    salon: Salon, row: dict[str, Any], client_id: int, state: dict[Any, str], result: ImportResult
) -> list[dict[str, Any]]:
    """The consent events a row asks for that change the client's state; withdrawals stay."""
    wanted = [("client", "sms", row["sms_marketing"]), ("client", "email", row["email_marketing"])]
    wanted += [("guardian", ch, row["guardian_consent"]) for ch in ("sms", "email")]
    events = []
    for party, channel, action in wanted:
        now_state = state.get((party, channel))
        if action is None or action == now_state:
            continue
        if now_state == "withdrawn" and action == "granted":
            # A withdrawal always wins (R4): an import never re-grants what a client withdrew.
            result.kept_withdrawals += 1
            result.warnings.append(
                f"line {row['line']}: {party} {channel} consent stays withdrawn "
                "(a withdrawal is only lifted by the client or by staff with a PIN)"
            )
            continue
        events.append({"salon_id": salon.id, "client_id": client_id, "channel": channel,
                       "party": party, "action": action, "source": "import",
                       "evidence": f"import line {row['line']}"})  # fmt: skip
    return events


def _client_values(row: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    values = {name: row[name] for name in CONTACT_FIELDS}
    return values | {"imported_at": row["imported_at"], "updated_at": now}


def _write_clients(
    session: Session, salon: Salon, rows: list[dict[str, Any]], existing: dict[str, Any]
) -> dict[str, int]:
    """Insert the new clients and update the known ones, each in bulk; ref -> id of all."""
    now = utcnow()
    ids = {ref: found.id for ref, found in existing.items()}
    updates = [
        _client_values(row, now)
        | {"id": ids[row["ref"]]}
        | ({"created_at": row["created_at"]} if row["created_at"] else {})
        for row in rows
        if row["ref"] in ids
    ]
    # One statement per shape (with or without created_at): executemany needs equal keys.
    for shape in (True, False):
        same = [values for values in updates if ("created_at" in values) is shape]
        if same:
            session.execute(update(Client), same)
    created = [
        _client_values(row, now)
        | {"salon_id": salon.id, "ref": row["ref"], "no_reminders": False,
           "created_at": row["created_at"] or row["imported_at"] or now}
        for row in rows
        if row["ref"] not in ids
    ]  # fmt: skip
    if created and session.get_bind().dialect.name == "postgresql":
        reserved = _reserve_ids(session, "client", len(created))
        for values, client_id in zip(created, reserved, strict=True):
            values["id"] = ids[values["ref"]] = client_id
        copy_rows(session, _TABLES["client"], created)
    elif created:
        inserted = session.execute(insert(Client).returning(Client.ref, Client.id), created)
        ids.update((ref, client_id) for ref, client_id in inserted)
    return ids


def _insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        copy_rows(session, table, rows)
    else:
        session.execute(insert(table), rows)


def _reserve_ids(session: Session, table: str, count: int) -> list[int]:
    """`count` ids from the table's own sequence, as its INSERTs would take them."""
    return list(
        session.scalars(
            text(
                "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
            ),
            {"table": table, "n": count},
        )
    )


def copy_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Write `rows` with PostgreSQL's COPY, in the session's transaction.

    Why COPY: an INSERT of many rows is text that psycopg and the server both parse, a dozen
    parameters a row; COPY streams the values. Times go in as the columns store them (naive
    UTC, see `db.models.UTCDateTime`): COPY into a timestamp column would drop an offset."""
    columns = list(rows[0])
    dbapi = session.connection().connection.driver_connection
    assert dbapi is not None
    with dbapi.cursor() as cursor:
        names = ", ".join(f'"{name}"' for name in columns)
        with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([_stored(row[name]) for name in columns])


def _stored(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def import_clients(session: Session, salon: Salon, text: str) -> ImportResult:
    """Create or update (same ``ref``) the clients of a CSV file; all or nothing.

    Written in bulk (a few statements per 1,000 rows, not a round trip per row), then the
    written tables are analysed (`db.session.analyse_bulk_write`): a new salon's first campaign
    is planned right after its import, before autovacuum would have looked at the tables."""
    problems: list[str] = []
    warnings: list[str] = []
    rows = [
        _parse_client(line, row, salon, problems, warnings)
        for line, row in _rows(text, CLIENT_COLUMNS)
    ]
    seen: dict[str, int] = {}
    for row in rows:
        if row["ref"] in seen:
            problems.append(
                f"line {row['line']}: ref: {row['ref']!r} already on line {seen[row['ref']]}"
            )
        seen.setdefault(row["ref"], row["line"])
    existing = _existing(session, salon, list(seen)) if not problems else {}
    problems += [
        f"line {row['line']}: ref: client {row['ref']!r} was forgotten"
        for row in rows
        if row["ref"] in existing and existing[row["ref"]].anonymised_at is not None
    ]
    if problems:
        raise ImportError_(problems)
    result = ImportResult(
        warnings=warnings, updated=len(existing), created=len(rows) - len(existing)
    )
    ids = _write_clients(session, salon, rows, existing)
    states = _consent_states(session, [found.id for found in existing.values()])
    events = [
        event
        for row in rows
        for event in _consent_events(salon, row, ids[row["ref"]], states.get(ids[row["ref"]], {}),
                                     result)
    ]  # fmt: skip
    if events:
        at = utcnow()
        _insert_rows(session, _TABLES["consent_event"], [event | {"at": at} for event in events])
    result.consent_events = len(events)
    analyse_bulk_write(session, {"client": len(rows), "consent_event": len(events)})
    return result


def _parse_amount(value: str) -> Decimal:
    try:
        amount = Decimal(value.replace(",", ".")) if value else Decimal("0")
    except InvalidOperation as exc:
        raise RowError(f"not an amount: {value!r}") from exc
    if amount < 0 or not amount.is_finite():
        raise RowError(f"must be zero or more: {value!r}")
    return amount


def import_visits(session: Session, salon: Salon, text: str) -> ImportResult:
    """Add visits (a visit with an amount above zero is a purchase, R3); all or nothing."""
    problems: list[str] = []
    parsed = []
    for line, row in _rows(text, VISIT_COLUMNS):
        at = _check_field(
            problems, line, "visited_at", lambda v: parse_time(v, salon.timezone), row["visited_at"]
        )
        if row["visited_at"] == "":
            problems.append(f"line {line}: visited_at: must not be empty")
        amount = _check_field(problems, line, "amount", _parse_amount, row["amount"])
        parsed.append((line, row["client_ref"], at, amount))
    refs = {ref for _, ref, _, _ in parsed}
    ids = {ref: found.id for ref, found in _existing(session, salon, sorted(refs)).items()}
    for line, ref, _, _ in parsed:
        if ref not in ids:
            problems.append(f"line {line}: client_ref: no client {ref!r} in this salon")
    if problems:
        raise ImportError_(problems)
    keys = {(ids[ref], at, amount) for _, ref, at, amount in parsed}
    stored: set[Any] = set()
    for client_ids in _chunks(sorted({key[0] for key in keys})):
        stored.update(
            session.execute(
                select(Visit.client_id, Visit.visited_at, Visit.amount).where(
                    Visit.salon_id == salon.id, Visit.client_id.in_(client_ids)
                )
            ).all()
        )
    new = sorted(keys - stored, key=lambda k: (k[0], k[1]))
    if new:
        rows = [{"salon_id": salon.id, "client_id": client_id, "visited_at": at,
                 "amount": amount, "source": "import"}
                for client_id, at, amount in new]  # fmt: skip
        _insert_rows(session, _TABLES["visit"], rows)
    analyse_bulk_write(session, {"visit": len(new)})
    return ImportResult(visits=len(new))


# -- the use cases: an import with its access-log row ------------------------------------------


def _logged(
    session: Session, actor: Actor, salon: Salon, action: str, name: str, result: ImportResult
) -> ImportResult:
    counts = {k: v for k, v in vars(result).items() if isinstance(v, int)}
    detail = " ".join(f"{k}={v}" for k, v in counts.items())
    log_access(session, salon.id, actor, action, detail=f"{name}: {detail}")
    return result


def import_client_file(
    session: Session, actor: Actor, salon: Salon, content: str, *, name: str, secret_key: str
) -> ImportResult:
    """``clients import``: all rows or none; an address that a forgotten client's suppression
    kept only as a hash is suppressed in clear again (see :mod:`db.forget`)."""
    with _named(name):
        result = import_clients(session, salon, content)
    restore_suppressions(session, salon.id, secret_key=secret_key)
    return _logged(session, actor, salon, "clients.import", name, result)


def import_visit_file(
    session: Session, actor: Actor, salon: Salon, content: str, *, name: str
) -> ImportResult:
    """``visits import``: all rows or none."""
    with _named(name):
        result = import_visits(session, salon, content)
    return _logged(session, actor, salon, "visits.import", name, result)


@contextmanager
def _named(name: str) -> Iterator[None]:
    """Each refused line names its file, as staff import several at once."""
    try:
        yield
    except ImportError_ as exc:
        raise ImportError_([f"{name}: {problem}" for problem in exc.problems]) from None
