"""Fixtures for onboarding: the seeded demo world of tests/access."""

from __future__ import annotations

from tests.access.conftest import (  # noqa: F401  (fixtures)
    SEED_TODAY,
    Demo,
    demo,
    fast_password_hashing,
)
