"""Automatic forgetting (G2): anonymise clients inactive for longer than the salon's setting.

When: the first run is the night after the setting is switched on (03:00 in the salon's time
zone), then monthly on the same day of the month (the last day when a month is shorter). The
``scheduler`` process calls :func:`retention_tick` hourly; :func:`due_slot` is a pure function of
(switched on at, last finished run, now, time zone), so it is tested with any clock.

Inactive: not created or imported, and no visit, within the last N months before the run's night.

Safe to run twice and after a crash: a ``retention_run`` row per salon and night (UNIQUE) records
the cutoff; clients are anonymised in chunks, each committed with the run's count, and the run is
marked finished at the end. A finished night is a no-op; an unfinished one continues where it
stopped. The log says how many clients were anonymised, never who.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.access import Actor, log_access
from db.forget import ForgetMessages, anonymise
from db.models import Client, RetentionRun, Salon, Visit, utcnow
from db.session import session_scope
from dispatcher.forgetting import outbox_forgetter

log = logging.getLogger("salonpost.retention")

RUN_AT = dt.time(3, 0)
CHUNK_SIZE = 200


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months`` (negative: back), clamped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def _night(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, RUN_AT, tzinfo=tz).astimezone(dt.UTC)


def _slot(first_day: dt.date, month: int, tz: ZoneInfo) -> dt.datetime:
    return _night(add_months(first_day, month), tz)


def due_slot(
    enabled_at: dt.datetime, last_run: dt.datetime | None, now: dt.datetime, timezone: str
) -> dt.datetime | None:
    """The night (UTC) whose run is due at ``now``, or None.

    The first night is the one after ``enabled_at`` (salon time), then one a month. Nights the
    scheduler missed collapse into the latest: one run covers them all.
    """
    tz = ZoneInfo(timezone)
    first_day = enabled_at.astimezone(tz).date() + dt.timedelta(days=1)
    if now < _night(first_day, tz):
        return None
    local_now = now.astimezone(tz)
    month = (local_now.year - first_day.year) * 12 + local_now.month - first_day.month
    while _slot(first_day, month, tz) > now:
        month -= 1
    latest = _slot(first_day, month, tz)
    if last_run is not None and latest <= last_run:
        return None
    return latest


def cutoff_for(due_at: dt.datetime, months: int, timezone: str) -> dt.datetime:
    local = due_at.astimezone(ZoneInfo(timezone))
    day = add_months(local.date(), -months)
    return dt.datetime.combine(day, local.timetz()).astimezone(dt.UTC)


@dataclass(frozen=True)
class RunReport:
    salon_id: int
    due_at: dt.datetime
    anonymised: int
    already_done: bool = False


RETENTION = Actor(salon_id=None, name="retention")


def _start(session: Session, salon: Salon, due_at: dt.datetime) -> RetentionRun:
    assert salon.retention_months is not None
    values = {
        "salon_id": salon.id,
        "due_at": due_at,
        "cutoff": cutoff_for(due_at, salon.retention_months, salon.timezone),
        "anonymised": 0,
        "started_at": utcnow(),
    }
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(RetentionRun).values(values).on_conflict_do_nothing())
    return session.scalars(
        select(RetentionRun).where(RetentionRun.salon_id == salon.id, RetentionRun.due_at == due_at)
    ).one()


def inactive_clients(session: Session, salon_id: int, cutoff: dt.datetime, limit: int) -> list[int]:
    recent_visit = exists().where(Visit.client_id == Client.id, Visit.visited_at >= cutoff)
    query = (
        select(Client.id)
        .where(
            Client.salon_id == salon_id,
            Client.anonymised_at.is_(None),
            Client.created_at < cutoff,
            or_(Client.imported_at.is_(None), Client.imported_at < cutoff),
            ~recent_visit,
        )
        .order_by(Client.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def _chunk(
    session: Session,
    run: RetentionRun,
    *,
    secret_key: str,
    chunk_size: int,
    forget_messages: ForgetMessages | None,
) -> int:
    ids = inactive_clients(session, run.salon_id, run.cutoff, chunk_size)
    now = utcnow()
    for client_id in ids:
        client = session.get_one(Client, client_id, with_for_update=True)
        anonymise(session, client, secret_key=secret_key, now=now, forget_messages=forget_messages)
        detail = f"retention run {run.id}"
        log_access(
            session, run.salon_id, RETENTION, "client.forget", client_id=client_id, detail=detail
        )
    run.anonymised += len(ids)
    return len(ids)


def run_retention(
    database_url: str,
    salon_id: int,
    due_at: dt.datetime,
    *,
    secret_key: str,
    chunk_size: int = CHUNK_SIZE,
    outbox_dir: str | None = None,
) -> RunReport | None:
    """Run (or resume) the salon's retention run for the night ``due_at``.

    ``outbox_dir``: the outbox folder, whose files of forgotten clients are rewritten (G1).
    """
    forget_messages = outbox_forgetter(outbox_dir) if outbox_dir else None
    with session_scope(database_url) as session:
        salon = session.get_one(Salon, salon_id)
        if salon.retention_months is None:
            return None
        run = _start(session, salon, due_at)
        if run.finished_at is not None:
            return RunReport(salon_id, due_at, run.anonymised, already_done=True)
        run_id = run.id
    while True:
        with session_scope(database_url) as session:
            run = session.get_one(RetentionRun, run_id, with_for_update=True)
            done = _chunk(
                session,
                run,
                secret_key=secret_key,
                chunk_size=chunk_size,
                forget_messages=forget_messages,
            )
            if done == 0:
                run.finished_at = utcnow()
                total = run.anonymised
                break
    log.info("retention salon=%s night=%s: %d clients anonymised", salon_id, due_at, total)
    return RunReport(salon_id, due_at, total)


def _last_finished(session: Session, salon_id: int) -> dt.datetime | None:
    return session.scalar(
        select(func.max(RetentionRun.due_at)).where(
            RetentionRun.salon_id == salon_id, RetentionRun.finished_at.is_not(None)
        )
    )


def due_runs(session: Session, now: dt.datetime) -> list[tuple[int, dt.datetime]]:
    """(salon id, night) of every salon whose retention run is due at ``now``."""
    salons = session.scalars(
        select(Salon).where(
            Salon.retention_months.is_not(None), Salon.retention_enabled_at.is_not(None)
        )
    ).all()
    due = []
    for salon in salons:
        assert salon.retention_enabled_at is not None
        last = _last_finished(session, salon.id)
        slot = due_slot(salon.retention_enabled_at, last, now, salon.timezone)
        if slot is not None:
            due.append((salon.id, slot))
    return due


def retention_tick(
    database_url: str,
    *,
    secret_key: str,
    now: dt.datetime | None = None,
    outbox_dir: str | None = None,
) -> list[RunReport]:
    """The scheduler's hourly job: run every due retention run."""
    with session_scope(database_url) as session:
        due = due_runs(session, now or utcnow())
    reports = []
    for salon_id, night in due:
        report = run_retention(
            database_url, salon_id, night, secret_key=secret_key, outbox_dir=outbox_dir
        )
        if report is not None:
            reports.append(report)
    return reports
