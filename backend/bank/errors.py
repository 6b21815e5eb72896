"""The one error a bank file can cause: `StatementError`, naming file, line and element.

Bad input is expected and always ends in a `StatementError` (a `ValueError`), never in
another exception type: the caller shows `str(error)` to a finance user and writes nothing.
The subclasses only let callers tell a few kinds apart (for instance, to answer an upload
that is too large with HTTP 413); every one of them reads the same way.
"""

from __future__ import annotations

from typing import Any


class StatementError(ValueError):
    """A bank statement file that is refused, with where and why.

    `str(error)` reads like
    ``camt-nov.xml line 42, element Ntry/Amt: amount '12.345' has more than two decimals``.
    For MT940 the element is the field tag, e.g. ``MT940-BNG.txt line 17, field :86: — ...``.
    """

    def __init__(
        self,
        message: str,
        *,
        filename: str,
        line: int | None = None,
        element: str | None = None,
        details: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.filename = filename
        self.line = line if line is not None and line > 0 else None
        self.element = element or None
        self.details = details
        """Further problems found in the same file (e.g. every schema error), for display."""

    def location(self) -> str:
        """Where the problem is: ``file line 42, element Ntry/Amt`` (parts left out if unknown)."""
        where = self.filename
        if self.line is not None:
            where += f" line {self.line}"
        if self.element is not None:
            kind = "field" if self.element.startswith(":") else "element"
            where += f", {kind} {self.element}"
        return where

    def __str__(self) -> str:
        separator = " — " if self.element is not None and self.element.endswith(":") else ": "
        return f"{self.location()}{separator}{self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, filename={self.filename!r}, "
            f"line={self.line!r}, element={self.element!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments need help to survive pickling (multiprocessing, job queues).
        return (
            _rebuild,
            (type(self), self.message, self.filename, self.line, self.element, self.details),
        )


def _rebuild(
    cls: type[StatementError],
    message: str,
    filename: str,
    line: int | None,
    element: str | None,
    details: tuple[str, ...],
) -> StatementError:
    return cls(message, filename=filename, line=line, element=element, details=details)


class FileTooLargeError(StatementError):
    """The file is larger than the configured maximum; it was not read."""


class UnsafeXmlError(StatementError):
    """The XML uses a feature we never accept from a bank: a DOCTYPE, entities, ..."""


class UnsupportedFormatError(StatementError):
    """Not a CAMT.053 (.001.02 / .001.08) or MT940 file, or an unsupported namespace."""


class SchemaViolationError(StatementError):
    """The CAMT.053 file does not follow its ISO 20022 schema (XSD)."""


class BalanceMismatchError(StatementError):
    """Opening balance plus booked entries does not give the closing balance."""
