"""Shared fixtures: a migrated database per test, on SQLite always and on
PostgreSQL when HUISHOUDBOEKJE_TEST_POSTGRES_URL is set.

The schema is built by the migrations (not `create_all`), once per session;
each test then starts from empty tables.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.db import make_engine, make_session_factory
from backend.migrate import upgrade
from backend.models import Base

POSTGRES_URL = os.environ.get("HUISHOUDBOEKJE_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> str:
    if not POSTGRES_URL:
        pytest.skip("HUISHOUDBOEKJE_TEST_POSTGRES_URL is not set")
    engine = make_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade(POSTGRES_URL)
    return POSTGRES_URL


def _truncate_postgres(engine: Engine) -> None:
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        # TRUNCATE does not fire the row-level append-only triggers.
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_migrated")
    engine = make_engine(url)
    _truncate_postgres(engine)
    engine.dispose()
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    session = session_factory()
    yield session
    session.rollback()
    session.close()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, demo=True)


@pytest.fixture
def fresh_database(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Callable[[], AbstractContextManager[sessionmaker[Session]]]:
    """For hypothesis tests: an empty migrated database per example."""
    counter = iter(range(1_000_000))

    @contextmanager
    def fresh() -> Iterator[sessionmaker[Session]]:
        if database_url.startswith("sqlite"):
            path = tmp_path / f"example-{next(counter)}.db"
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
            url = f"sqlite:///{path}"
        else:
            url = database_url
        engine = make_engine(url)
        if not url.startswith("sqlite"):
            _truncate_postgres(engine)
        try:
            yield make_session_factory(engine)
        finally:
            engine.dispose()

    return fresh


@contextmanager
def append_only_guard_dropped(engine: Engine) -> Iterator[None]:
    """Simulate an attacker with database access; the guard is restored afterwards."""
    from backend.models import append_only

    dialect = engine.dialect.name
    with engine.begin() as connection:
        for statement in append_only.drop_statements(dialect):
            connection.exec_driver_sql(statement)
    try:
        yield
    finally:
        with engine.begin() as connection:
            for statement in append_only.create_statements(dialect):
                connection.exec_driver_sql(statement)
