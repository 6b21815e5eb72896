"""Fixtures for the exit tests: the seeded demo world and the page client of the
participant-app tests (tests/client_app/conftest.py), on SQLite and PostgreSQL. The
browser test lives in tests/client_app, so it shares the session's one live server."""

from __future__ import annotations

from tests.client_app.conftest import (  # noqa: F401  (fixtures)
    SEED_TODAY,
    Demo,
    anna_base,
    as_user,
    client,
    csrf_from,
    demo,
    fast_password_hashing,
    login,
    pages,
    token_for,
)
