"""Shared fixtures: databases (SQLite and the real PostgreSQL), Redis, sessions, a salon.

Real-service fixtures FAIL, never skip, when the service is not reachable: CI must not go green
without having run them. ``.ci/run`` starts PostgreSQL and Redis before the tests.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from sqlalchemy import text
from sqlalchemy.orm import Session

from db.migrate import upgrade
from db.models import Base, Salon
from db.session import get_engine, session_factory

PG_HOST = os.environ.get("SALONPOST_TEST_PG_HOST", "127.0.0.1")
REDIS_TEST_URL = os.environ.get("SALONPOST_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _pg_admin() -> tuple[psycopg.Connection, str]:
    errors = []
    for user in ("postgres", "root"):
        try:
            conn = psycopg.connect(
                host=PG_HOST, user=user, dbname="test", autocommit=True, connect_timeout=5
            )
            return conn, user
        except psycopg.OperationalError as exc:
            errors.append(f"{user}: {exc}")
    pytest.fail(
        "PostgreSQL is not reachable on 127.0.0.1:5432 (start it: pg_ctlcluster "
        "--skip-systemctl-redirect $(ls /etc/postgresql) main start): " + "; ".join(errors)
    )


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session; dropped at the end."""
    admin, user = _pg_admin()
    name = f"salonpost_test_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://{user}@{PG_HOST}/{name}"
    upgrade(url)
    yield url
    get_engine(url).dispose()
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    upgrade(f"sqlite:///{path}")
    get_engine(f"sqlite:///{path}").dispose()
    return path


def _truncate_pg(url: str) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with get_engine(url).begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "salonpost.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def pg_url(pg_database: str) -> str:
    _truncate_pg(pg_database)
    return pg_database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using it runs twice: on SQLite and on the real PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    s = session_factory(database_url)()
    try:
        yield s
    finally:
        s.rollback()
        s.close()


@pytest.fixture
def salon(session: Session) -> Salon:
    row = Salon(
        slug="anna", name="Salon Anna", gate_on=dt.date(2024, 1, 1), timezone="Europe/Berlin"
    )
    session.add(row)
    session.commit()
    return row


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The real Redis (database 15), emptied before and after the test."""
    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_TEST_URL}: {exc}")
    client.flushdb()
    yield REDIS_TEST_URL
    client.flushdb()
    client.close()
