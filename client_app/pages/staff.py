"""What the caseworker and finance pages share: paging, remembered filters, flashes."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from fastapi import Request

from backend.access.policy import Principal
from client_app.web.cookies import queue_cookie

PAGE_SIZE = 25
FILTER_COOKIE_SECONDS = 180 * 24 * 60 * 60
FILTER_VALUE_LENGTH_MAX = 40


@dataclass(frozen=True, slots=True)
class Paging:
    page: int
    size: int
    total: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def page_number(request: Request) -> int:
    text = request.query_params.get("pagina", "1")
    return int(text) if text.isdigit() and 0 < int(text) < 100_000 else 1


def page_link(path: str, filters: dict[str, str], page: int) -> str:
    values = {key: value for key, value in filters.items() if value}
    values["pagina"] = str(page)
    return f"{path}?{urlencode(values)}"


def _cookie_name(user: Principal, page: str) -> str:
    return f"hb_filter_{page}_{user.user_id}"


def remembered_filters(
    request: Request, user: Principal, page: str, allowed: dict[str, tuple[str, ...]]
) -> dict[str, str]:
    """The filters of a list page: from the query when given (and then remembered in a
    cookie for this user), otherwise the remembered ones. Only known values count."""
    given = {key: request.query_params.get(key) for key in allowed}
    if any(value is not None for value in given.values()):
        chosen = {
            key: value
            for key, value in given.items()
            if value is not None and value in allowed[key]
        }
        queue_cookie(
            request,
            _cookie_name(user, page),
            urlencode(chosen) or "-",
            max_age=FILTER_COOKIE_SECONDS,
        )
        return chosen
    raw = request.cookies.get(_cookie_name(user, page)) or ""
    stored = dict(parse_qsl(raw[:500]))
    return {key: value for key, value in stored.items() if key in allowed and value in allowed[key]}
