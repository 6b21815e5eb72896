"""Privacy tests: the seeded demo world and API client of tests/access, plus helpers."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from backend.cli import main
from backend.config import get_settings
from tests.access.conftest import (  # noqa: F401 - fixtures used by the tests here
    SEED_TODAY,
    Demo,
    as_user,
    client,
    demo,
    fast_password_hashing,
    token_for,
)

Cli = Callable[..., Result]


def sqlite_database_url(sqlite_template: Path, tmp_path: Path) -> str:
    """For tests whose subject does not depend on the database: SQLite only (fast).
    Use as `database_url = pytest.fixture(sqlite_database_url)` in a test module."""
    path = tmp_path / "test.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """The CLI in-process, in demo mode, on this test's database."""
    for key in [key for key in os.environ if key.startswith("HUISHOUDBOEKJE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HUISHOUDBOEKJE_DATABASE_URL", database_url)
    monkeypatch.setenv("HUISHOUDBOEKJE_DEMO", "1")
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        return runner.invoke(main, list(args), catch_exceptions=False)

    yield invoke
    get_settings.cache_clear()
