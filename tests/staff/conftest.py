"""Fixtures for the staff pages: the participant-app fixtures (seeded demo, login).

The staff browser tests live in tests/client_app/test_staff_browser.py, so they share
that package's one session-wide Chromium (two Playwright sessions in one process clash)."""

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
