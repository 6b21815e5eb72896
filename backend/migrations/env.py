"""Alembic environment: batch mode so every migration also runs on SQLite."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from backend.db import is_sqlite, make_engine
from backend.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url must be set by backend.migrate"
    engine = make_engine(url)
    with engine.connect() as connection:
        if is_sqlite(url):
            # Batch migrations rebuild tables; foreign keys are checked again afterwards.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        _run(connection)
    engine.dispose()


run_migrations_online()
