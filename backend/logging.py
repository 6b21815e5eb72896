"""Structured logging (structlog), configured here and nowhere else, with no personal data.

    from backend.logging import get_logger
    log = get_logger(__name__)
    log.info("statement imported", entries=12)

Every line, from structlog or from the standard library (uvicorn, SQLAlchemy,
`logging.getLogger(__name__)` in older modules), goes through one chain of
processors that ends in `redact_personal_data`: BSN-like numbers that pass the
11-proef, IBANs and the names of known participants are replaced by [BSN],
[IBAN] and [NAAM] before anything is written, tracebacks included.

Each HTTP request gets a W3C trace id (taken from an incoming `traceparent`
header, else new); it is on every log line of that request, in the access log
(backend.privacy_store) and in the `X-Trace-Id` response header.
"""

from __future__ import annotations

import contextvars
import logging
import os
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from privacy.redaction import name_tokens, redact_text

LOG_LEVEL_VARIABLE = "HUISHOUDBOEKJE_LOG_LEVEL"
LOG_FORMAT_VARIABLE = "HUISHOUDBOEKJE_LOG_FORMAT"  # "json" (default) or "console"
NAMES_REFRESH_SECONDS = 300
# Values under these keys are ours and never personal data; everything else is scanned.
_SAFE_KEYS = frozenset(
    {"timestamp", "level", "logger", "trace_id", "operation_id", "duration_ms", "status"}
)
_HANDLER_MARK = "_huishoudboekje_handler"
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")


# Names to redact


class KnownNames:
    """The name words of participants; refreshed from the database now and then.

    The processor only reads a frozenset, so a refresh in one thread never blocks
    logging in another.
    """

    def __init__(self) -> None:
        self._words: frozenset[str] = frozenset()
        self._loaded_at = 0.0
        self._loader: Callable[[], Iterable[str]] | None = None
        self._lock = threading.Lock()

    @property
    def words(self) -> frozenset[str]:
        return self._words

    def set_loader(self, loader: Callable[[], Iterable[str]] | None) -> None:
        self._loader = loader
        self._loaded_at = 0.0

    def replace(self, names: Iterable[str]) -> None:
        self._words = name_tokens(names)
        self._loaded_at = time.monotonic()

    def add(self, names: Iterable[str]) -> None:
        with self._lock:
            self._words = self._words | name_tokens(names)

    def is_stale(self) -> bool:
        return (
            self._loader is not None and time.monotonic() - self._loaded_at > NAMES_REFRESH_SECONDS
        )

    def refresh(self) -> None:
        """Reload from the loader; a failing loader keeps the names we had."""
        loader = self._loader
        if loader is None:
            return
        try:
            names = list(loader())
        except Exception:  # logging must never take the service down
            self._loaded_at = time.monotonic()
            return
        with self._lock:
            self.replace(names)


KNOWN_NAMES = KnownNames()


# Processors


def _redact_value(value: Any, words: frozenset[str]) -> Any:
    if isinstance(value, str):
        return redact_text(value, name_words=words)
    if isinstance(value, Mapping):
        return {key: _redact_value(item, words) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_redact_value(item, words) for item in value]
    if isinstance(value, (int, float, bool)) or value is None:
        text = str(value)
        redacted = redact_text(text)
        return value if redacted == text else redacted
    return redact_text(str(value), name_words=words)


def redact_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: BSNs, IBANs and known names out of every value."""
    words = KNOWN_NAMES.words
    for key in list(event_dict):
        if key in _SAFE_KEYS:
            continue
        event_dict[key] = _redact_value(event_dict[key], words)
    return event_dict


def _renderer(fmt: str) -> structlog.typing.Processor:
    if fmt == "console":
        return structlog.dev.ConsoleRenderer(colors=False)
    return structlog.processors.JSONRenderer(sort_keys=True)


class _StandardError:
    """Whatever sys.stderr is at the moment of writing (test runners swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(
    *, level: str | None = None, fmt: str | None = None, stream: TextIO | None = None
) -> None:
    """One handler on the root logger; structlog and stdlib lines share its processors.

    Safe to call again (each app and each CLI run does): the previous handler is replaced.
    """
    level_name = (level or os.environ.get(LOG_LEVEL_VARIABLE) or "INFO").upper()
    fmt = (fmt or os.environ.get(LOG_FORMAT_VARIABLE) or "json").lower()
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_personal_data,
            _renderer(fmt),
        ],
    )
    handler = logging.StreamHandler(stream or _StandardError())
    handler.setFormatter(formatter)
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, _HANDLER_MARK, False):
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level_name)
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger


# Trace context


@dataclass(frozen=True, slots=True)
class RequestTrace:
    """The trace of the current unit of work (an HTTP request or a CLI command)."""

    trace_id: str
    operation_id: str
    method: str | None = None
    # The ASGI scope: the router writes the matched route into it after we bound it.
    scope: Mapping[str, Any] | None = field(default=None, repr=False)
    resource: str | None = None  # set for jobs; requests use the route template

    @property
    def route(self) -> str | None:
        if self.resource is not None:
            return self.resource
        if self.scope is None:
            return None
        route = self.scope.get("route")
        path = getattr(route, "path", None)
        return str(path) if path is not None else None


CURRENT_TRACE: contextvars.ContextVar[RequestTrace | None] = contextvars.ContextVar(
    "huishoudboekje_trace", default=None
)


def new_trace_id() -> str:
    return secrets.token_hex(16)


def new_operation_id() -> str:
    return secrets.token_hex(8)


def trace_from_headers(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name.lower() == b"traceparent":
            match = _TRACEPARENT.match(value.decode("latin-1").strip().lower())
            if match and match.group(1) != "0" * 32:
                return match.group(1)
    return None


@contextmanager
def bind_job_trace(resource: str) -> Iterator[RequestTrace]:
    """A trace for work outside HTTP (a CLI command, a scheduled job)."""
    trace = RequestTrace(new_trace_id(), new_operation_id(), resource=resource)
    token = CURRENT_TRACE.set(trace)
    structlog.contextvars.bind_contextvars(trace_id=trace.trace_id)
    try:
        yield trace
    finally:
        CURRENT_TRACE.reset(token)
        structlog.contextvars.unbind_contextvars("trace_id")


class TraceMiddleware:
    """Pure ASGI middleware: trace id per request, one log line per request.

    The line names the route template (ids in the path stay out of it), the status
    and the duration; never query strings, bodies or headers.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = get_logger("huishoudboekje.http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if KNOWN_NAMES.is_stale():
            import anyio.to_thread

            await anyio.to_thread.run_sync(KNOWN_NAMES.refresh)
        trace = RequestTrace(
            trace_id=trace_from_headers(scope.get("headers", [])) or new_trace_id(),
            operation_id=new_operation_id(),
            method=scope.get("method"),
            scope=scope,
        )
        token = CURRENT_TRACE.set(trace)
        structlog.contextvars.bind_contextvars(trace_id=trace.trace_id)
        started = time.perf_counter()
        status: list[int] = []

        async def send_with_trace(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
                headers = list(message.get("headers", []))
                headers.append((b"x-trace-id", trace.trace_id.encode("ascii")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_trace)
        finally:
            self.log.info(
                "request",
                method=trace.method,
                route=trace.route or "(no route)",
                status=status[0] if status else 500,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
            CURRENT_TRACE.reset(token)
            structlog.contextvars.unbind_contextvars("trace_id")
