"""The seeded demo world (tests/access/conftest.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.access.conftest import demo, fast_password_hashing  # noqa: F401  (fixtures)
