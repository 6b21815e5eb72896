"""Fixtures for the exit tests (the same as the participant-app tests).

Unit tests (TestClient) reuse the seeded demo world of tests/access: `demo`,
`client`, `as_user`... The browser test lives in tests/client_app, so it shares
the one live server and browser of the session.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.access.conftest import (  # noqa: F401  (fixtures)
    SEED_TODAY,
    Demo,
    as_user,
    client,
    demo,
    fast_password_hashing,
    token_for,
)

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


@pytest.fixture
def pages(client: TestClient, demo: Demo) -> TestClient:  # noqa: F811
    """The TestClient with the app's clock pinned to the day the demo was seeded."""
    client.app.state.client_today = SEED_TODAY  # type: ignore[attr-defined]
    return client


@pytest.fixture
def login(pages: TestClient) -> Callable[[str], TestClient]:
    """Log in through the login form (cookies stay on the client)."""

    def log_in_as(username: str, password: str = "demo") -> TestClient:
        pages.cookies.clear()
        token = csrf_from(pages.get("/").text)
        response = pages.post(
            "/",
            data={"username": username, "password": password, "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        return pages

    return log_in_as


@pytest.fixture
def anna_base(demo: Demo) -> str:  # noqa: F811
    return f"/deelnemer/{demo.participants['anna']}"
