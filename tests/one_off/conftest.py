"""The seeded demo world and the page client (tests/client_app/conftest.py), on SQLite
and PostgreSQL."""

from __future__ import annotations

from tests.client_app.conftest import (  # noqa: F401  (fixtures)
    SEED_TODAY,
    Demo,
    as_user,
    client,
    csrf_from,
    demo,
    fast_password_hashing,
    login,
    pages,
    token_for,
)
