"""OpenAPI documentation of problem+json error responses.

    @router.get(..., responses=problem_responses(401, 404))

Problems are documented with the `Problem` schema under the media type they are
sent with, application/problem+json (fixed up in `document_problems`), and a
documented 422 replaces FastAPI's default validation schema, which we never send.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from backend.api.problems import PROBLEM_MEDIA_TYPE, Problem

_DESCRIPTIONS = {
    400: "Bad request",
    401: "Not logged in, or the token is not valid (problem+json)",
    403: "Logged in, but this role may not do this (problem+json)",
    404: "Not found, or not yours to see (problem+json)",
    409: "Conflicts with the current state (problem+json)",
    422: "Invalid input; `invalid_params` lists each wrong field (problem+json)",
    429: "Too many failed attempts; try again later (problem+json)",
}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {
        code: {"model": Problem, "description": _DESCRIPTIONS.get(code, "Problem")}
        for code in sorted({*codes, 422})
    }


def document_problems(app: FastAPI) -> None:
    """Move the Problem schema of error responses to application/problem+json."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                for code, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    body = content.get("application/json", {})
                    is_problem = body.get("schema", {}).get("$ref", "").endswith("/Problem")
                    if code.startswith(("4", "5")) and is_problem:
                        content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
