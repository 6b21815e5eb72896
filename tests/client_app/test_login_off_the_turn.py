"""A login checks its password (argon2, ~0.45 s by design) without holding the
worker's turn at SQLite (backend.api.login_check): other people's pages go on while
someone logs in. And a password checked early still counts for nothing when the
account changed in between."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import time
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

import backend.api.login_check as login_check
from backend.auth.passwords import hash_password
from backend.auth.service import CheckedPassword, LoginFailed, log_in, start_log_in
from backend.config import Settings
from backend.db import transaction
from backend.models import UserAccount
from tests.access.conftest import Demo
from tests.client_app.conftest import csrf_from

SLOW_CHECK_SECONDS = 1.5


def test_pages_go_on_while_someone_logs_in(
    login: Callable[[str], TestClient], anna_base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = login("anna")
    if pages.app.state.engine.dialect.name != "sqlite":  # type: ignore[attr-defined]
        pytest.skip("the turn is SQLite's single writer")
    real_check = login_check.verify_password

    def slow_check(password_hash: str | None, password: str) -> bool:
        time.sleep(SLOW_CHECK_SECONDS)  # a slow machine, or a stronger hash
        return real_check(password_hash, password)

    monkeypatch.setattr(login_check, "verify_password", slow_check)

    async def race() -> tuple[httpx.Response, httpx.Response, dict[str, float]]:
        transport = httpx.ASGITransport(app=pages.app)
        finished: dict[str, float] = {}
        async with (
            httpx.AsyncClient(
                transport=transport,
                base_url="http://testserver",
                cookies=dict(pages.cookies.items()),
                timeout=30,
            ) as anna,
            httpx.AsyncClient(
                transport=transport, base_url="http://testserver", timeout=30
            ) as bram,
        ):
            token = csrf_from((await bram.get("/")).text)

            async def bram_logs_in() -> httpx.Response:
                response = await bram.post(
                    "/",
                    data={"csrf_token": token, "username": "bram", "password": "demo"},
                    follow_redirects=False,
                )
                finished["login"] = time.monotonic()
                return response

            async def anna_reads() -> httpx.Response:
                await asyncio.sleep(0.3)  # bram's password is being checked now
                response = await anna.get(f"{anna_base}/overzicht")
                finished["page"] = time.monotonic()
                return response

            logged_in, page = await asyncio.gather(bram_logs_in(), anna_reads())
        return logged_in, page, finished

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as thread:
        logged_in, page, finished = thread.submit(lambda: asyncio.run(race())).result()
    assert logged_in.status_code == 303, logged_in.text[-500:]
    assert page.status_code == 200
    # anna's page did not wait for bram's password check
    assert finished["page"] < finished["login"] - SLOW_CHECK_SECONDS / 2, finished


def test_a_password_changed_while_it_was_checked_does_not_log_in(
    demo: Demo, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    from backend.auth.service import LoginThrottles

    throttles = LoginThrottles.from_settings(settings)
    now = dt.datetime.now(dt.UTC)
    with session_factory() as session:
        check = start_log_in(session, throttles, username="anna", address="test", now=now)
    checked = CheckedPassword(check, verified=True)  # "demo" was right a moment ago
    with transaction(session_factory) as session:
        session.execute(
            update(UserAccount)
            .where(UserAccount.username == "anna")
            .values(password_hash=hash_password("een ander wachtwoord 2026"))
        )
    with transaction(session_factory) as session, pytest.raises(LoginFailed):
        log_in(
            session,
            settings,
            throttles,
            username="anna",
            password="demo",
            address="test",
            now=now,
            checked=checked,
        )
    with session_factory() as session:
        failures = session.scalar(
            select(UserAccount.failed_login_count).where(UserAccount.username == "anna")
        )
    assert failures == 1  # counted like any wrong password


def test_a_form_the_handler_refuses_costs_no_password_check(
    pages: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Otherwise forms without a valid token (or an API login with a wrong grant_type)
    could each take half a second of a thread without ever being throttled."""
    checks: list[str | None] = []
    real_check = login_check.verify_password

    def counting(password_hash: str | None, password: str) -> bool:
        checks.append(password_hash)
        return real_check(password_hash, password)

    monkeypatch.setattr(login_check, "verify_password", counting)
    no_token = pages.post("/", data={"username": "bram", "password": "demo"})
    assert no_token.status_code == 403
    wrong_token = pages.post(
        "/", data={"csrf_token": "0" * 64, "username": "bram", "password": "demo"}
    )
    assert wrong_token.status_code == 403
    api = pages.post(
        "/api/auth/token", data={"username": "bram", "password": "demo", "grant_type": "x"}
    )
    assert api.status_code == 422
    assert checks == []
    # a valid form is checked early, once
    token = csrf_from(pages.get("/").text)
    ok = pages.post(
        "/",
        data={"csrf_token": token, "username": "bram", "password": "demo"},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and len(checks) == 1


def test_attempts_checked_side_by_side_meet_the_address_throttle_afterwards(
    demo: Demo, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    from backend.auth.service import LoginLocked, LoginThrottles

    throttles = LoginThrottles.from_settings(settings)
    now = dt.datetime.now(dt.UTC)
    with session_factory() as session:
        check = start_log_in(session, throttles, username="anna", address="burst", now=now)
    # while anna's password was checked, the same address failed often enough
    for _ in range(settings.login_address_failures_max):
        throttles.by_address.record_failure("address:burst", now)
    with transaction(session_factory) as session, pytest.raises(LoginLocked):
        log_in(
            session,
            settings,
            throttles,
            username="anna",
            password="demo",
            address="burst",
            now=now,
            checked=CheckedPassword(check, verified=True),
        )
