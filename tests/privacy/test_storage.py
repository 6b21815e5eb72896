"""What is on disk: no BSN in plain text; the privacy tables exactly as the models say."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.db import transaction
from backend.demo.seed import DEMO_PARTICIPANTS, seed_demo
from backend.models import Base
from tests.privacy.conftest import SEED_TODAY

PRIVACY_TABLES = {"access_log", "pseudonymisation"}


def test_the_database_file_holds_no_bsn_in_plain_text_after_seeding(
    database_url: str,
    engine: Engine,
    session_factory: sessionmaker[Session],
    settings: Settings,
    fast_password_hashing: None,
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("scans the bytes of the SQLite file")
    with transaction(session_factory, write=True) as session:
        seed_demo(session, settings.field_cipher(), today=SEED_TODAY)
    path = Path(database_url.removeprefix("sqlite:///"))
    wal = path.with_name(path.name + "-wal")
    # Before and after moving the write-ahead log into the main file.
    for _ in range(2):
        raw = b"".join(candidate.read_bytes() for candidate in (path, wal) if candidate.exists())
        assert len(raw) > 10_000
        for seeded in DEMO_PARTICIPANTS:
            bsn = seeded.bsn
            for spelling in (
                bsn,
                f"{bsn[:3]}.{bsn[3:6]}.{bsn[6:]}",
                f"{bsn[:4]}.{bsn[4:6]}.{bsn[6:]}",
            ):
                assert spelling.encode() not in raw
                assert spelling.encode("utf-16-le") not in raw
            assert seeded.display_name.encode() in raw  # the scan does see plain text
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _table_of(diff: Any) -> str | None:
    if isinstance(diff, list):
        return _table_of(diff[0])
    for item in diff[1:]:
        table = getattr(item, "table", None)
        if table is not None and getattr(table, "name", None):
            return str(table.name)
        name = getattr(item, "name", None)
        if name in PRIVACY_TABLES:
            return str(name)
        if isinstance(item, str) and item in PRIVACY_TABLES:
            return item
    return None


def test_the_0005_migration_builds_exactly_the_privacy_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        diffs = compare_metadata(context, Base.metadata)
    assert [diff for diff in diffs if _table_of(diff) in PRIVACY_TABLES] == []
    assert set(inspect(engine).get_table_names()) >= PRIVACY_TABLES
