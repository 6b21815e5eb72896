"""Request dependencies: one database session per request, committed on success."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

# One gate per event loop (a test may run the same app on several loops).
_GATES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


async def sqlite_write_gate(request: Request) -> AsyncIterator[None]:
    """On SQLite, one request of this process at a time holds a database session.

    Requests on SQLite take the one write lock up front (BEGIN IMMEDIATE: reading a
    participant writes the access log). Without this gate, 40 requests waiting for
    that lock fill the whole threadpool, and the request holding the lock cannot get
    a thread to finish and commit: every request hangs until the busy timeout ends
    in "database is locked" (measured with 50 clients, docs/performance.md). Here the
    waiting requests queue in the event loop, first come first served, holding no
    thread. PostgreSQL has row locks and needs no gate."""
    async with database_turn(request):
        yield


@asynccontextmanager
async def database_turn(request: Request) -> AsyncIterator[None]:
    """This worker's turn at SQLite (the gate above); on PostgreSQL at once."""
    if request.app.state.engine.dialect.name != "sqlite":
        yield
        return
    loop = asyncio.get_running_loop()
    gate = _GATES.get(loop)
    if gate is None:
        gate = _GATES[loop] = asyncio.Lock()
    async with gate:
        yield


def get_session(
    request: Request,
    _gate: Annotated[None, Depends(sqlite_write_gate, scope="function")],
) -> Iterator[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# scope="function": commit before the response is sent, so a client never sees
# success for a change that then fails to commit.
DbSession = Annotated[Session, Depends(get_session, scope="function")]
