"""A live server with its own demo database, for browser tests that change the world
in ways the shared one must not see (a participant ended, money left in suspense, a
first plan expired). Import `live_server` into the test module to override the
session-wide one there; `new_page` and `log_in` then use this server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.browser.fixtures import ROOT, LiveServer, _free_port, _seed, _wait_until_up


@pytest.fixture(scope="module")
def live_server(
    browser_available: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    from backend.clock import today_amsterdam

    folder = tmp_path_factory.mktemp("own-live-server")
    database_url = f"sqlite:///{folder / 'demo.db'}"
    _seed(database_url, today_amsterdam())
    port = _free_port()
    log_path = folder / "server.log"
    env = {
        **os.environ,
        "HUISHOUDBOEKJE_DEMO": "1",
        "HUISHOUDBOEKJE_DATABASE_URL": database_url,
        "PYTHONUNBUFFERED": "1",
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "backend.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "info",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", database_url, log_path, process)
    try:
        _wait_until_up(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
