"""The daily cycle's chunks in more than one process.

Per participant the cycle costs about as much Python time to load and evaluate as it
costs to write (docs/performance.md), and only the writing needs the cycle lock. With
two processes, one evaluates its chunk while the other writes: each takes the next
chunk from a shared counter, loads and evaluates it without the lock and writes it
under the lock (`service.process_chunk_prepared`, which evaluates again whatever
changed in between).

Why this is safe:
- Chunks are disjoint sets of participants, and each chunk is written whole or not
  at all, under the same lock as before; idempotency keys still make a chunk written
  twice pay nothing twice.
- A chunk a child took but did not report written (the child was killed, ran out of
  memory or raised) is run again by the parent under the lock, after the child ended.
- Only where ``fork`` exists (Linux). The parent closes its idle connections before
  forking; the child builds its own engine from the URL and ends with ``os._exit``.
  Only for databases another process can open: not an in-memory SQLite database.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from backend.db import make_engine, make_session_factory

log = logging.getLogger(__name__)

# What a chunk's slot in the shared array says.
_FREE, _TAKEN_BY_CHILD, _WRITTEN = 0, 1, 2

ChunkRunner = Callable[[sessionmaker[Session], Sequence[int]], None]


def workers_possible(session_factory: sessionmaker[Session]) -> bool:
    """Whether the cycle can run in more than one process against this database."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    bind = session_factory.kw.get("bind")
    if not isinstance(bind, Engine):
        return False
    url = bind.url
    if url.get_backend_name() == "sqlite":
        return url.database not in (None, "", ":memory:") and "mode=memory" not in str(url)
    return True


def auto_workers(session_factory: sessionmaker[Session], chunks: int) -> int:
    """Two processes where they can help (two cores, two chunks at least), else one."""
    if chunks < 2 or (os.cpu_count() or 1) < 2 or not workers_possible(session_factory):
        return 1
    return 2


def run_chunks(
    session_factory: sessionmaker[Session],
    chunks: Sequence[Sequence[int]],
    *,
    workers: int,
    run_chunk: ChunkRunner,
    make_child_state: Callable[[], Any],
    child_result: Callable[[Any], Any],
    merge_child_result: Callable[[Any], None],
    run_chunk_locked: ChunkRunner,
) -> None:
    """Run every chunk once: `workers - 1` forked children and this process take chunks
    in turn. `run_chunk(factory, ids)` runs in whichever process took the chunk (in a
    child, with the child's own session factory and the state `make_child_state` made
    there: it is called in the child right after the fork); `child_result(state)` is
    what the child sends back when it ends and `merge_child_result` takes it in here.
    Chunks a child left unfinished are run here with `run_chunk_locked`."""
    context = multiprocessing.get_context("fork")
    counter: Synchronized[int] = context.Value("l", 0)
    slots = context.Array("b", len(chunks))
    url = _url(session_factory)
    # No open connection crosses the fork: SQLite keeps per-process state about the
    # files it has open (its locks are not inherited), and a PostgreSQL socket must
    # have one owner. The pool opens new ones here as needed.
    session_factory.kw["bind"].dispose()
    children: list[tuple[Any, Connection]] = []
    for _ in range(workers - 1):
        receiving, sending = context.Pipe(duplex=False)
        child = context.Process(
            target=_child_main,
            args=(sending, counter, slots, chunks, url, run_chunk, make_child_state, child_result),
            daemon=True,
        )
        child.start()
        sending.close()
        children.append((child, receiving))
    try:
        while (index := _take(counter, len(chunks))) is not None:
            run_chunk(session_factory, chunks[index])
            slots[index] = _WRITTEN
    except BaseException:
        _stop_taking(counter, len(chunks))
        _collect(children, merge_child_result)
        raise
    _collect(children, merge_child_result)
    for index in range(len(chunks)):
        if slots[index] != _WRITTEN:
            log.warning("cycle: chunk %d was left unfinished by a worker; running it here", index)
            run_chunk_locked(session_factory, chunks[index])
            slots[index] = _WRITTEN


def _url(session_factory: sessionmaker[Session]) -> str:
    bind = session_factory.kw["bind"]
    return str(bind.url.render_as_string(hide_password=False))


def _take(counter: Synchronized[int], total: int) -> int | None:
    with counter.get_lock():
        index = int(counter.value)
        if index >= total:
            return None
        counter.value = index + 1
    return index


def _stop_taking(counter: Synchronized[int], total: int) -> None:
    with counter.get_lock():
        counter.value = total


def _collect(children: list[tuple[Any, Connection]], merge: Callable[[Any], None]) -> None:
    """Wait for every child; take in what each sent (nothing from one that died)."""
    for child, receiving in children:
        try:
            kind, payload = receiving.recv()
        except (EOFError, OSError):
            kind, payload = "died", None
        child.join()
        receiving.close()
        if kind == "result":
            merge(payload)
        elif kind == "error":
            log.error("cycle: a worker process failed; its chunk runs again here:\n%s", payload)
        else:
            log.error("cycle: a worker process ended without a result (exit %s)", child.exitcode)


def _child_main(
    sending: Connection,
    counter: Synchronized[int],
    slots: Any,
    chunks: Sequence[Sequence[int]],
    url: str,
    run_chunk: ChunkRunner,
    make_child_state: Callable[[], Any],
    child_result: Callable[[Any], Any],
) -> None:
    code = 1
    try:
        engine = make_engine(url, pool_size=1)
        factory = make_session_factory(engine)
        state = make_child_state()
        while (index := _take(counter, len(chunks))) is not None:
            slots[index] = _TAKEN_BY_CHILD
            run_chunk(factory, chunks[index])
            slots[index] = _WRITTEN
        engine.dispose()
        sending.send(("result", child_result(state)))
        code = 0
    except BaseException:
        # When even this fails the parent reads "died"; the chunk still runs again.
        with contextlib.suppress(Exception):
            sending.send(("error", traceback.format_exc()))
    finally:
        sending.close()
        os._exit(code)
