"""Fixtures for browser tests: the real app under uvicorn, headless Chromium, login.

- `live_server` (session): a migrated, demo-seeded SQLite database in a temporary
  folder and the app served from it by uvicorn (`backend.app:create_app`, demo
  mode) on 127.0.0.1 and a free port, in a subprocess. `live_server.url(path)`.
  Its log is printed when a test fails to start it; `live_server.log_path`.
- `browser` (session): Chromium from the Debian package (/usr/bin/chromium),
  driven by Playwright (no browser download). Every browser test is skipped,
  with the reason, when Chromium or Playwright is missing.
- `new_page` (function): `new_page(width=1280, lang=None)` opens a page in a new
  browser context (its own cookies: two contexts are two people).
- `log_in` (function): `log_in(page, "anna")` logs in through the login form
  with the demo password and waits for the landing page.

Accessibility and screenshots: tests.browser.axe.assert_accessible and
tests.browser.screenshots.capture (or both: tests.browser.check_page.check_page).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("HUISHOUDBOEKJE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
DEMO_PASSWORD = "demo"
SERVER_START_SECONDS = 60
ROOT = Path(__file__).resolve().parents[2]


def browser_unavailable() -> str | None:
    """Why browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (apt-get install chromium; .ci/run does this)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="session")
def browser_available() -> None:
    reason = browser_unavailable()
    if reason:
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class LiveServer:
    base_url: str
    database_url: str
    log_path: Path
    process: subprocess.Popen[bytes]

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _seed(database_url: str, today: dt.date) -> None:
    from backend.config import Settings
    from backend.db import make_engine, make_session_factory, transaction
    from backend.demo.seed import seed_demo
    from backend.migrate import upgrade

    upgrade(database_url)
    settings = Settings(database_url=database_url, demo=True)
    engine = make_engine(database_url)
    try:
        with transaction(make_session_factory(engine), write=True) as session:
            seed_demo(session, settings.field_cipher(), today=today)
    finally:
        engine.dispose()


@contextlib.contextmanager
def demo_server(folder: Path) -> Iterator[LiveServer]:
    """A seeded demo database in `folder` served by uvicorn on a free port, stopped on
    exit. The session's shared server and the servers of tests that must not change
    the shared world (tests/client_app/own_live_server.py) both start here."""
    from backend.clock import today_amsterdam

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


@pytest.fixture(scope="session")
def live_server(
    browser_available: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with demo_server(tmp_path_factory.mktemp("live-server")) as server:
        yield server


def _wait_until_up(server: LiveServer) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the app did not start:\n{server.log()}")
        try:
            with urllib.request.urlopen(server.url("/health"), timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the app did not answer within {SERVER_START_SECONDS} s:\n{server.log()}")


@pytest.fixture(scope="session")
def browser(browser_available: None) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_page(browser: Any, live_server: LiveServer) -> Iterator[Callable[..., Any]]:
    contexts: list[Any] = []

    def open_page(width: int = 1280, height: int = 900) -> Any:
        context = browser.new_context(
            viewport={"width": width, "height": height},
            base_url=live_server.base_url,
            locale="nl-NL",
            timezone_id="Europe/Amsterdam",
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def log_in(live_server: LiveServer) -> Callable[..., None]:
    def submit(page: Any, username: str, password: str = DEMO_PASSWORD) -> None:
        page.goto(live_server.url("/"))
        page.fill("#username", username)
        page.fill("#password", password)
        with page.expect_navigation():
            page.click(
                "button[type=submit]:has-text('Inloggen'), button[type=submit]:has-text('Log in')"
            )

    return submit


def chromium_path() -> str | None:
    return str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")


__all__ = [
    "CHROMIUM",
    "LiveServer",
    "browser",
    "browser_available",
    "browser_unavailable",
    "live_server",
    "log_in",
    "new_page",
]
