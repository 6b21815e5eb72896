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

ChunkRunner = Callable[[sessionmaker[Session], Sequence[int], Any], None]
"""run_chunk(session_factory, participant_ids, summary): runs one chunk and adds what
it did to `summary`."""


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
    summary: Any,
    run_chunk: ChunkRunner,
    run_chunk_locked: ChunkRunner,
    new_summary: Callable[[], Any],
    merge: Callable[[Any], None],
) -> None:
    """Run every chunk once: `workers - 1` forked children and this process take chunks
    in turn. Here a chunk adds to `summary`; in a child to a `new_summary()` of its own,
    sent back right after the chunk committed and `merge`d here, so the run's counts
    hold the chunks of a child that dies later. Chunks a child took and did not report
    are run here with `run_chunk_locked` once it ended (a chunk it committed just
    before dying then finds nothing left to do: its counts are the only thing lost)."""
    context = multiprocessing.get_context("fork")
    counter: Synchronized[int] = context.Value("l", 0)
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
            args=(sending, counter, chunks, url, run_chunk, new_summary),
            daemon=True,
        )
        child.start()
        sending.close()
        children.append((child, receiving))
    done: set[int] = set()

    def take_in(receiving: Connection, *, until_end: bool) -> None:
        """What a child sent: as much as is waiting, or everything until it ends."""
        while until_end or receiving.poll():
            try:
                kind, index, payload = receiving.recv()
            except (EOFError, OSError):
                return
            if kind == "chunk":
                merge(payload)
                done.add(index)
            elif kind == "error":
                log.error("cycle: a worker process failed; its chunk runs again here:\n%s", payload)
            if kind != "chunk":
                return

    try:
        while (index := _take(counter, len(chunks))) is not None:
            run_chunk(session_factory, chunks[index], summary)
            done.add(index)
            for _, receiving in children:  # a full pipe would hold a child up
                take_in(receiving, until_end=False)
    except BaseException:
        _stop_taking(counter, len(chunks))
        _wait(children, take_in)
        raise
    _wait(children, take_in)
    for index in range(len(chunks)):
        if index not in done:
            log.warning("cycle: chunk %d was left unfinished by a worker; running it here", index)
            run_chunk_locked(session_factory, chunks[index], summary)


def _wait(children: list[tuple[Any, Connection]], take_in: Callable[..., None]) -> None:
    for child, receiving in children:
        take_in(receiving, until_end=True)
        child.join()
        receiving.close()
        if child.exitcode:
            log.error("cycle: a worker process ended with exit code %s", child.exitcode)


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


def _child_main(
    sending: Connection,
    counter: Synchronized[int],
    chunks: Sequence[Sequence[int]],
    url: str,
    run_chunk: ChunkRunner,
    new_summary: Callable[[], Any],
) -> None:
    code = 1
    index: int | None = None
    try:
        engine = make_engine(url, pool_size=1)
        factory = make_session_factory(engine)
        while (index := _take(counter, len(chunks))) is not None:
            part = new_summary()
            run_chunk(factory, chunks[index], part)
            sending.send(("chunk", index, part))
        engine.dispose()
        sending.send(("end", None, None))
        code = 0
    except BaseException:
        # When even this fails the parent reads the end of the pipe; the chunk runs again.
        with contextlib.suppress(Exception):
            sending.send(("error", index, traceback.format_exc()))
    finally:
        sending.close()
        os._exit(code)
