"""A live server with its own demo database, for browser tests that change the world
in ways the shared one must not see (a participant ended, money left in suspense, a
first plan expired). Import `live_server` into the test module to override the
session-wide one there; `new_page` and `log_in` then use this server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.fixtures import LiveServer, demo_server


@pytest.fixture(scope="module")
def live_server(
    browser_available: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with demo_server(tmp_path_factory.mktemp("own-live-server")) as server:
        yield server
