"""Reading untrusted bank files safely: size limit, hardened lxml parser, no DOCTYPE ever.

A bank statement never needs a DTD, entities or network access, so we refuse them
outright instead of trusting parser flags alone:

1. size: a file larger than `max_bytes` is refused from its size (``stat``), before
   anything is read; a stream that grows past the limit while read is cut off;
2. prolog: the bytes before the root element may hold only the XML declaration,
   comments and processing instructions — a ``<!DOCTYPE`` (or any ``<!`` declaration)
   is refused before the parser sees it; UTF-16/32 files are refused (ISO 20022 is UTF-8);
3. parser: lxml with ``resolve_entities=False, no_network=True, load_dtd=False,
   dtd_validation=False, huge_tree=False`` and comments/PIs dropped (so a comment inside
   an amount cannot make us read something else than the schema validated);
4. docinfo: after the root element is parsed, a DOCTYPE seen by the parser is refused
   again (defence in depth should the prolog scan ever be fooled).
"""

from __future__ import annotations

import io
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from lxml import etree

from backend.bank.errors import (
    FileTooLargeError,
    StatementError,
    UnsafeXmlError,
    UnsupportedFormatError,
)

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
"""Largest statement file accepted (100 MB); a 100,000-entry CAMT.053 is about 65 MB."""

HEAD_BYTES = 64 * 1024
"""How much of the start of a file is looked at to sniff the format and check the prolog."""

_READ_CHUNK_BYTES = 1024 * 1024

HARDENED_PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "attribute_defaults": False,
    "remove_comments": True,
    "remove_pis": True,
    "strip_cdata": True,
    "collect_ids": False,
}

_ASCII_COMPATIBLE_ENCODINGS = frozenset(
    {
        "utf-8",
        "utf8",
        "us-ascii",
        "ascii",
        "iso-8859-1",
        "iso8859-1",
        "latin1",
        "latin-1",
        "iso-8859-15",
        "windows-1252",
        "cp1252",
    }
)
_ENCODING_DECLARATION = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_NAME_START = re.compile(rb"<[A-Za-z_:\x80-\xff]")

Source = str | os.PathLike[str] | bytes
"""A statement file: a path on disk, or its content (e.g. an upload)."""


def hardened_parser() -> etree.XMLParser:
    """A fresh lxml parser for untrusted XML (parsers are not shared between threads)."""
    parser: etree.XMLParser = etree.XMLParser(**HARDENED_PARSER_OPTIONS)
    return parser


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


class _BoundedReader:
    """A binary stream that refuses to hand out more than `limit` bytes."""

    def __init__(self, raw: IO[bytes], limit: int, filename: str) -> None:
        self._raw = raw
        self._limit = limit
        self._filename = filename
        self._count = 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0 or size > _READ_CHUNK_BYTES:
            size = _READ_CHUNK_BYTES
        data = self._raw.read(size)
        self._count += len(data)
        if self._count > self._limit:
            raise FileTooLargeError(
                f"the file grew beyond the maximum of {megabytes(self._limit)} while it was read",
                filename=self._filename,
            )
        return data

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> _BoundedReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class StatementSource:
    """A statement file whose size has been checked; opened again for each pass."""

    filename: str
    size: int
    head: bytes
    max_bytes: int
    path: Path | None = None
    data: bytes | None = None

    def open(self) -> _BoundedReader:
        """A bounded binary stream over the whole file, from the start."""
        if self.data is not None:
            return _BoundedReader(io.BytesIO(self.data), self.max_bytes, self.filename)
        assert self.path is not None
        try:
            raw = self.path.open("rb")
        except OSError as error:
            raise StatementError(
                f"cannot read the file: {error.strerror or error}", filename=self.filename
            ) from error
        return _BoundedReader(raw, self.max_bytes, self.filename)

    def read_all(self) -> bytes:
        """The whole file (at most `max_bytes`)."""
        if self.data is not None:
            return self.data
        chunks: list[bytes] = []
        with self.open() as stream:
            while chunk := stream.read(_READ_CHUNK_BYTES):
                chunks.append(chunk)
        return b"".join(chunks)


def open_source(source: Source, *, filename: str, max_bytes: int) -> StatementSource:
    """Check the size of `source` (without reading a large file) and read its first bytes."""
    if max_bytes <= 0:
        raise ValueError("max_bytes must be positive")
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if len(data) > max_bytes:
            raise _too_large(len(data), max_bytes, filename)
        return StatementSource(
            filename=filename,
            size=len(data),
            head=data[:HEAD_BYTES],
            max_bytes=max_bytes,
            data=data,
        )
    if not isinstance(source, str | os.PathLike):
        raise TypeError(f"expected a path or bytes, not {type(source).__name__}")
    path = Path(source)
    try:
        status = path.stat()
    except OSError as error:
        raise StatementError(
            f"cannot read the file: {error.strerror or error}", filename=filename
        ) from error
    if not stat.S_ISREG(status.st_mode):
        raise StatementError("not a regular file", filename=filename)
    if status.st_size > max_bytes:
        raise _too_large(status.st_size, max_bytes, filename)
    result = StatementSource(
        filename=filename, size=status.st_size, head=b"", max_bytes=max_bytes, path=path
    )
    with result.open() as stream:
        head = stream.read(HEAD_BYTES)
    return StatementSource(
        filename=filename, size=status.st_size, head=head, max_bytes=max_bytes, path=path
    )


def _too_large(size: int, max_bytes: int, filename: str) -> FileTooLargeError:
    return FileTooLargeError(
        f"the file is {megabytes(size)}; the maximum is {megabytes(max_bytes)}",
        filename=filename,
    )


def check_xml_prolog(head: bytes, *, filename: str) -> None:
    """Refuse what may not precede the root element: a DOCTYPE, other encodings, text.

    Only the XML declaration, comments, processing instructions and whitespace may come
    before the root element of a bank statement.
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")) or b"\x00" in head[:4]:
        raise UnsupportedFormatError(
            "the XML is not UTF-8 encoded (UTF-16/32); ISO 20022 files are UTF-8",
            filename=filename,
            line=1,
        )
    text = head.removeprefix(b"\xef\xbb\xbf")
    declaration = re.match(rb"\s*<\?xml\b[^>]*\?>", text)
    if declaration:
        encoding = _ENCODING_DECLARATION.search(declaration.group(0))
        if (
            encoding
            and encoding.group(1).decode("ascii").lower() not in _ASCII_COMPATIBLE_ENCODINGS
        ):
            raise UnsupportedFormatError(
                f"the XML declares encoding {encoding.group(1).decode('ascii')!r}; "
                "ISO 20022 files are UTF-8",
                filename=filename,
                line=1,
            )
    position = 0
    while True:
        while position < len(text) and text[position : position + 1].isspace():
            position += 1
        if position >= len(text):
            if len(head) >= HEAD_BYTES:
                raise UnsupportedFormatError(
                    f"no root element in the first {HEAD_BYTES // 1024} KB of the file",
                    filename=filename,
                )
            raise UnsupportedFormatError("the file has no XML root element", filename=filename)
        line = text.count(b"\n", 0, position) + 1
        if text.startswith(b"<?", position):
            end = text.find(b"?>", position + 2)
            if end < 0:
                raise UnsupportedFormatError(
                    "unterminated processing instruction before the root element",
                    filename=filename,
                    line=line,
                )
            position = end + 2
        elif text.startswith(b"<!--", position):
            end = text.find(b"-->", position + 4)
            if end < 0:
                raise UnsupportedFormatError(
                    "unterminated comment before the root element", filename=filename, line=line
                )
            position = end + 3
        elif text.startswith(b"<!", position):
            declaration_name = re.match(rb"<!\s*([A-Za-z]*)", text[position : position + 20])
            name = declaration_name.group(1).decode("ascii", "replace") if declaration_name else ""
            raise UnsafeXmlError(
                f"a <!{name or '...'}> declaration is not accepted: a bank statement has no "
                "DOCTYPE, and DTDs enable entity expansion (billion laughs) and external "
                "entities (XXE)",
                filename=filename,
                line=line,
            )
        elif _NAME_START.match(text, position):
            return
        else:
            snippet = text[position : position + 20].decode("utf-8", "replace")
            raise UnsupportedFormatError(
                f"not XML: unexpected {snippet!r} before the root element",
                filename=filename,
                line=line,
            )


@dataclass(frozen=True, slots=True)
class RootElement:
    namespace: str | None
    local_name: str
    line: int | None


def inspect_root(source: StatementSource) -> RootElement:
    """Parse up to the root element's start tag (hardened) and refuse any DOCTYPE seen."""
    with source.open() as stream:
        context = etree.iterparse(stream, events=("start",), **HARDENED_PARSER_OPTIONS)
        try:
            _event, element = next(iter(context))
        except StopIteration:
            raise UnsupportedFormatError(
                "the file has no XML root element", filename=source.filename
            ) from None
        except etree.XMLSyntaxError as error:
            raise xml_syntax_error(error, source.filename) from None
        docinfo = element.getroottree().docinfo
        if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
            raise UnsafeXmlError(
                "a DOCTYPE is not accepted in a bank statement",
                filename=source.filename,
                line=1,
            )
        namespace, local_name = split_tag(element.tag)
        return RootElement(namespace, local_name, element.sourceline)


def split_tag(tag: object) -> tuple[str | None, str]:
    """``{namespace}local`` into its parts; never raises (libxml2 lets odd names through)."""
    if not isinstance(tag, str):
        return None, "?"
    if tag.startswith("{") and "}" in tag:
        namespace, local_name = tag[1:].split("}", 1)
        return namespace, local_name
    return None, tag


def xml_syntax_error(error: etree.XMLSyntaxError, filename: str) -> StatementError:
    """A parser error as a StatementError naming the line."""
    message = str(error.msg or error).strip()
    message = re.sub(r"\s*\(<string>, line \d+\)$", "", message)
    message = re.sub(r", line \d+, column \d+$", "", message)
    if "entity" in message.lower():
        return UnsafeXmlError(
            f"entities are not accepted in a bank statement: {message}",
            filename=filename,
            line=error.lineno,
        )
    return UnsupportedFormatError(
        f"not well-formed XML: {message}", filename=filename, line=error.lineno
    )


def iterparse_hardened(
    stream: _BoundedReader,
    *,
    tag: list[str] | None = None,
    schema: etree.XMLSchema | None = None,
) -> Iterator[tuple[str, Any]]:
    """`etree.iterparse` with the hardened options (end events only)."""
    return iter(
        etree.iterparse(stream, events=("end",), tag=tag, schema=schema, **HARDENED_PARSER_OPTIONS)
    )
