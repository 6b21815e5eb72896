"""The single entry point: `read_statement_file` sniffs the format and reads every statement."""

from __future__ import annotations

import os
from pathlib import Path

from backend.bank.camt053 import read_camt053
from backend.bank.errors import UnsupportedFormatError
from backend.bank.mt940 import looks_like_mt940, read_mt940
from backend.bank.statement import Statement
from backend.bank.xml_safety import DEFAULT_MAX_BYTES, Source, open_source


def read_statement_file(
    path_or_bytes: Source,
    *,
    filename: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> list[Statement]:
    """Read a CAMT.053 (.001.02 / .001.08) or MT940 file into statements.

    `filename` names the file in messages (for bytes it defaults to ``upload``; for a path
    to its base name). A file larger than `max_bytes` is refused from its size alone.

    Returns every statement in file order; raises `StatementError` (a `ValueError`) for
    anything that is refused — never another exception for bad input.
    """
    if filename is None:
        if isinstance(path_or_bytes, bytes | bytearray | memoryview):
            filename = "upload"
        else:
            filename = Path(os.fsdecode(path_or_bytes)).name
    source = open_source(path_or_bytes, filename=filename, max_bytes=max_bytes)
    start = source.head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not start:
        raise UnsupportedFormatError("the file is empty", filename=filename)
    if start.startswith(b"<") or source.head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return read_camt053(source)
    if looks_like_mt940(source.head):
        return read_mt940(source)
    snippet = start[:20].decode("utf-8", "replace")
    raise UnsupportedFormatError(
        f"not a bank statement: neither CAMT.053 XML nor MT940 (the file starts with {snippet!r})",
        filename=filename,
        line=1,
    )


__all__ = ["read_statement_file"]
