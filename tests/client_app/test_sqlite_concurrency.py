"""Many simultaneous page requests on SQLite: every one is answered, none waits for
the busy timeout.

Each page request on SQLite takes the one write lock up front (reading a
participant writes the access log) in a dependency, and then needs a thread for the
page itself. With more requests in flight than the threadpool has threads (40), the
requests waiting for the lock held every thread, the request holding the lock could
not get one to finish, and all of them ended after the 30-second busy timeout in
"database is locked" (the benchmark's 50 clients hit it, docs/performance.md).
backend.api.deps.sqlite_write_gate queues them in the event loop instead.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient

REQUESTS = 60  # more than the threadpool's 40 threads


def test_sixty_simultaneous_page_requests_on_sqlite_are_all_answered(
    login: Callable[[str], TestClient], anna_base: str
) -> None:
    pages = login("anna")
    if pages.app.state.engine.dialect.name != "sqlite":  # type: ignore[attr-defined]
        pytest.skip("the gate is for SQLite's single writer")

    async def all_at_once() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=pages.app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            cookies=dict(pages.cookies.items()),
            timeout=60,
        ) as client:
            return await asyncio.gather(
                *(client.get(f"{anna_base}/overzicht") for _ in range(REQUESTS))
            )

    started = time.monotonic()
    # A thread of its own: the browser tests' Playwright keeps an event loop running in
    # this thread for the whole session, and asyncio.run refuses to nest in it.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as thread:
        responses = thread.submit(
            lambda: asyncio.run(asyncio.wait_for(all_at_once(), timeout=25))
        ).result()
    elapsed = time.monotonic() - started
    assert [response.status_code for response in responses] == [200] * REQUESTS
    assert all("overzicht" in response.text.lower() for response in responses)
    # Far below the 30-second busy timeout that every request used to wait for.
    assert elapsed < 20, elapsed
