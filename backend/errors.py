"""One error base class with a status code; one handler renders them all as
RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """An expected failure the caller can act on. The message is safe to show."""

    status_code = 400
    title = "Bad request"
    slug = "bad-request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidInput(AppError):
    status_code = 422
    title = "Invalid input"
    slug = "invalid-input"


class NotFound(AppError):
    status_code = 404
    title = "Not found"
    slug = "not-found"


class Conflict(AppError):
    status_code = 409
    title = "Conflict"
    slug = "conflict"


class Forbidden(AppError):
    status_code = 403
    title = "Forbidden"
    slug = "forbidden"


class Unauthorized(AppError):
    status_code = 401
    title = "Not authenticated"
    slug = "unauthorized"


class IdempotencyConflict(Conflict):
    title = "Idempotency key reused with different content"
    slug = "idempotency-conflict"
