"""Reading a large CAMT.053 file in a second process, one statement at a time.

A year's file is a dozen statements. The importer books statement k while this
process's child reads statement k + 1, so on two cores the reading (hardened parse, XSD
validation, field extraction: a third of an import) mostly overlaps the booking. Only
when configured (`pipeline_min_bytes`): it needs a core to spare.

The child reads with exactly the same reader (`read_camt053`), sends the entries in
chunks as they are read (unpickled here while it reads on, so a file of one large
statement costs no more than reading it here) and each statement once its ``Stmt``
element is read. A statement handed over is not final:
the file may still be refused further on. Then the iteration raises `ReadFailed` with the
reader's own `StatementError`, and the importer undoes what it booked (nothing of a
refused file is written). A child that dies (killed, out of memory) raises `ReadFailed`
without an error (also one silent for `SILENCE_SECONDS_MAX`): the caller reads the
file again in its own process.

Only where ``fork`` exists (Linux): the child gets the checked `StatementSource` (path
or bytes) without copying, runs only the reader and ends with ``os._exit`` (it never
touches the parent's database connections).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import queue
import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

try:
    import fcntl
except ImportError:  # not on Windows (where there is no fork either)
    fcntl = None  # type: ignore[assignment]

from backend.bank.camt053 import read_camt053
from backend.bank.errors import StatementError
from backend.bank.statement import BOOKED, BankEntry, Statement
from backend.bank.xml_safety import StatementSource
from backend.collector import collector_paused

PIPELINE_MIN_BYTES = 8 * 1024 * 1024
"""With ``auto``: files from this size on (about 12,000 entries) with more than one
statement are read in a second process. A file of one statement gains nothing (it can
only be booked once it is read whole) and would pay for sending its entries across."""

_ENVIRONMENT_MIN_BYTES = "HUISHOUDBOEKJE_IMPORT_PIPELINE_MIN_BYTES"
_STATEMENT_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?Stmt[\s>]")
_SCAN_BYTES = 1024 * 1024


def pipeline_min_bytes(default: str = "off") -> tuple[int, bool] | None:
    """(the size from which a CAMT.053 file is read in the background, whether only
    files of several statements are); None: never.

    ``HUISHOUDBOEKJE_IMPORT_PIPELINE_MIN_BYTES`` decides; without it `default` does:
    ``off`` for the library and the web app (a second process per upload, forked from a
    threaded server), ``auto`` for the `bank import` command. ``auto``: files of
    several statements from `PIPELINE_MIN_BYTES` on, on a machine with two cores or
    more (the reader needs a core of its own: measured on this 2-core machine,
    1,000,000 entries 78 s -> 53 s for ~10 % more CPU, docs/performance.md); a number
    of bytes: every CAMT.053 file from that size on (``0``: every file, as the tests
    do to send every import this way); ``off``: never."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    configured = os.environ.get(_ENVIRONMENT_MIN_BYTES, "").strip().lower() or default
    if configured == "auto":
        return (PIPELINE_MIN_BYTES, True) if (os.cpu_count() or 1) >= 2 else None
    if configured.isdigit():
        return int(configured), False
    return None


def worth_reading_in_background(source: StatementSource, default: str = "off") -> bool:
    """A CAMT.053 file (XML) at least `pipeline_min_bytes` large (with more than one
    statement, unless configured otherwise)."""
    setting = pipeline_min_bytes(default)
    if setting is None:
        return False
    minimum, several_statements_only = setting
    if source.size < minimum:
        return False
    if not source.head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"<"):
        return False
    return not several_statements_only or _has_several_statements(source)


def _has_several_statements(source: StatementSource) -> bool:
    """Whether a second ``Stmt`` start tag occurs (a quick look at the bytes, stopping
    there: in a year's file after a twelfth of it). Only decides how the file is read;
    the reader itself checks everything."""
    found = 0
    tail = b""
    with source.open() as stream:
        while chunk := stream.read(_SCAN_BYTES):
            window = tail + chunk
            seen = len(tail)  # tags ending in the tail were counted with the last chunk
            found += sum(1 for match in _STATEMENT_START.finditer(window) if match.end() > seen)
            if found >= 2:
                return True
            tail = window[-64:]
    return False


class ReadFailed(Exception):
    """The background reading did not end well: `error` is why the file is refused, or
    None when the child process died (read the file again in this process)."""

    def __init__(self, error: StatementError | None) -> None:
        super().__init__(str(error) if error is not None else "the reading process died")
        self.error = error


_ENTRIES = "entries"
_STATEMENT = "statement"
_DONE = "done"
_REFUSED = "refused"
_CRASHED = "crashed"
ENTRIES_PER_MESSAGE = 2_000
SILENCE_SECONDS_MAX = 120.0
"""A child that sends nothing for this long is given up (a message comes every ~0.1 s).
Forking a process with threads can leave the child waiting for a lock another thread
held at that moment; the file is then read in this process instead of waiting forever."""


def _read_in_child(source: StatementSource, connection: Connection) -> None:
    """Read the file, sending its entries in chunks as they are read (so the parent
    unpickles them while this process reads on) and each statement, without its
    entries, when its ``Stmt`` element ends."""
    pending: list[BankEntry] = []

    def send(message: tuple[str, Any]) -> None:
        connection.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))

    def on_entry(entry: BankEntry) -> None:
        pending.append(entry)
        if len(pending) >= ENTRIES_PER_MESSAGE:
            send((_ENTRIES, pending[:]))
            pending.clear()

    def on_statement(statement: Statement) -> None:
        if pending:
            send((_ENTRIES, pending[:]))
            pending.clear()
        send((_STATEMENT, replace(statement, entries=(), skipped_entries=())))

    try:
        read_camt053(source, on_entry=on_entry, on_statement=on_statement)
    except StatementError as error:
        send((_REFUSED, error))
    except BaseException as error:  # reported, and the parent reads the file itself
        send((_CRASHED, repr(error)))
    else:
        send((_DONE, None))
    finally:
        connection.close()


PIPE_BYTES = 1024 * 1024


def _widen(connection: Connection) -> None:
    """Linux: a 1 MB pipe instead of 64 KB, so a message is taken in one read (each read
    of the receiving thread waits for the interpreter lock while a statement is booked)."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if set_size is None:
        return
    with contextlib.suppress(OSError):  # above /proc/sys/fs/pipe-max-size: keep the default
        fcntl.fcntl(connection.fileno(), set_size, PIPE_BYTES)


class BackgroundReader:
    """``with BackgroundReader(source) as reader: for statement in reader: ...``

    A thread of this process takes the child's messages off the pipe as they come (the
    child never waits while a statement is booked here); they are unpickled when the
    statements are asked for."""

    def __init__(self, source: StatementSource) -> None:
        self.source = source
        self._connection: Connection | None = None
        self._process: Any = None
        self._receiver: threading.Thread | None = None
        self._messages: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._finished = False

    def __enter__(self) -> BackgroundReader:
        context = multiprocessing.get_context("fork")
        receiving, sending = context.Pipe(duplex=False)
        _widen(receiving)
        self._process = context.Process(
            target=_read_in_child,
            args=(self.source, sending),
            name="statement-reader",
            daemon=True,
        )
        self._process.start()
        sending.close()  # only the child writes: its end of file is the child's end
        self._connection = receiving
        self._receiver = threading.Thread(
            target=self._receive, name="statement-receiver", daemon=True
        )
        self._receiver.start()
        return self

    def _receive(self) -> None:
        connection = self._connection
        assert connection is not None
        try:
            while True:
                self._messages.put(connection.recv_bytes())
        except (EOFError, OSError):
            self._messages.put(None)

    def __iter__(self) -> Iterator[Statement]:
        assert self._receiver is not None, "use BackgroundReader in a with block"
        entries: list[BankEntry] = []
        while not self._finished:
            try:
                data = self._messages.get(timeout=SILENCE_SECONDS_MAX)
            except queue.Empty:
                data = None  # a child that hangs is treated as one that died
            if data is None:
                self._finished = True
                raise ReadFailed(None)
            with collector_paused(len(data) // 300):  # ~300 bytes per pickled entry
                kind, payload = pickle.loads(data)  # noqa: S301 (our own child, a private pipe)
            if kind == _ENTRIES:
                entries.extend(payload)
                continue
            if kind == _STATEMENT:
                yield replace(
                    payload,
                    entries=tuple(entry for entry in entries if entry.status == BOOKED),
                    skipped_entries=tuple(entry for entry in entries if entry.status != BOOKED),
                )
                entries = []
                continue
            self._finished = True
            if kind == _DONE:
                return
            raise ReadFailed(payload if kind == _REFUSED else None)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        process = self._process
        if process is not None:
            if process.is_alive():
                process.terminate()  # stopped early, or silent: its reading is not needed
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()
            process.close()
        if self._receiver is not None:
            self._receiver.join(timeout=10)  # ends at the child's end of file
        if self._connection is not None:
            self._connection.close()
