"""Errors as RFC 9457 problem details (application/problem+json), per the NL API Design Rules.

A problem never contains a traceback or personal data; validation problems list
each wrong field with where it is.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.errors import AppError
from ledger import LedgerError
from privacy import BsnError

PROBLEM_MEDIA_TYPE = "application/problem+json"


class InvalidParam(BaseModel):
    name: str
    reason: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    invalid_params: list[InvalidParam] | None = None


def problem_response(
    request: Request, *, status: int, title: str, detail: str | None, slug: str, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://huishoudboekje.example/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    body.update({key: value for key, value in extra.items() if value is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE)


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, error: AppError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if error.status_code == 401 else None
        response = problem_response(
            request,
            status=error.status_code,
            title=error.title,
            detail=error.detail,
            slug=error.slug,
            **error.extra,
        )
        if headers:
            response.headers.update(headers)
        return response

    @app.exception_handler(LedgerError)
    async def _ledger_error(request: Request, error: LedgerError) -> JSONResponse:
        return problem_response(
            request,
            status=422,
            title="Invalid amount or entry",
            detail=str(error),
            slug="invalid-input",
        )

    @app.exception_handler(BsnError)
    async def _bsn_error(request: Request, error: BsnError) -> JSONResponse:
        return problem_response(
            request, status=422, title="Invalid BSN", detail=str(error), slug="invalid-input"
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        invalid = [
            {"name": _location(item.get("loc", ())), "reason": str(item.get("msg", ""))}
            for item in error.errors()
        ]
        detail = "; ".join(f"{item['name']}: {item['reason']}" for item in invalid)
        return problem_response(
            request,
            status=422,
            title="Invalid input",
            detail=detail,
            slug="invalid-input",
            invalid_params=invalid,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        response = problem_response(
            request,
            status=error.status_code,
            title=str(error.detail),
            detail=None,
            slug="http-error",
        )
        if error.headers:
            response.headers.update(error.headers)
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        # Logged by the server; the caller gets no traceback and no data.
        return problem_response(
            request,
            status=500,
            title="Internal server error",
            detail="Something went wrong on our side; nothing was changed.",
            slug="internal-error",
        )
