"""What the caseworker and finance pages share: paging, remembered filters, flashes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.access.policy import Principal
from client_app.staff_filters import StaffListFilter

PAGE_SIZE = 25
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


# Page sizes a staff user may choose (query "per"); remembered with the filters.
PAGE_SIZES = ("10", "25", "50", "100")
CLEAR_PARAMETER = "wis"


def page_size(filters: dict[str, str]) -> int:
    """The page size chosen for a list (remembered with its filters), or PAGE_SIZE."""
    chosen = filters.get("per", "")
    return int(chosen) if chosen in PAGE_SIZES else PAGE_SIZE


def clear_link(path: str) -> str:
    """The "Wis filters" link of a list: forgets the user's filters and page size."""
    return f"{path}?{CLEAR_PARAMETER}=1"


def remembered_filters(
    request: Request,
    user: Principal,
    page: str,
    allowed: dict[str, tuple[str, ...]],
    session: Session,
) -> dict[str, str]:
    """The filters of a list page, remembered per staff user on the server
    (`staff_list_filter`, one row per user and list).

    - `?wis=1` forgets them (the "Wis filters" link) and shows the list unfiltered;
    - a query with a known filter key sets that filter (an empty or unknown value
      means "no filter" for that key); the other remembered filters stay;
    - otherwise: the remembered filters. Only known keys and values ever count, so a
      stale row (a value no longer offered) is ignored, never an error.
    """
    row = session.scalar(
        select(StaffListFilter).where(
            StaffListFilter.user_id == user.user_id, StaffListFilter.list_name == page
        )
    )
    if request.query_params.get(CLEAR_PARAMETER) is not None:
        if row is not None:
            session.delete(row)
            session.flush()
        return {}
    stored: dict[str, Any] = dict(row.filters) if row is not None else {}
    remembered = {
        key: str(value)
        for key, value in stored.items()
        if key in allowed and str(value) in allowed[key]
    }
    given = {key: request.query_params.get(key) for key in allowed}
    if any(value is not None for value in given.values()):
        # A key in the query sets (or, empty, clears) that filter; the others stay.
        chosen = {key: value for key, value in remembered.items() if given[key] is None}
        chosen.update(
            {
                key: value
                for key, value in given.items()
                if value is not None and value in allowed[key]
            }
        )
        if row is None:
            session.add(StaffListFilter(user_id=user.user_id, list_name=page, filters=chosen))
        elif dict(row.filters) != chosen:
            row.filters = chosen
        session.flush()
        return chosen
    return remembered


def filter_form(
    path: str,
    filters: dict[str, str],
    fields: list[tuple[str, str, list[tuple[str, str]], str]],
    *,
    lang: str,
) -> dict[str, Any]:
    """What `_list_filters.html` shows: one select per filter (name, label, options of
    (value, label), default: "" adds an "all" option, else the value shown when nothing
    is chosen), the page size, and the "Wis filters" link when anything is remembered."""
    from client_app.i18n import translate

    sizes = [(size, translate(lang, "staff.filters.per_option", count=size)) for size in PAGE_SIZES]
    every = [*fields, ("per", translate(lang, "staff.filters.per"), sizes, str(PAGE_SIZE))]
    return {
        "action": path,
        "fields": [
            {
                "name": name,
                "label": label,
                "options": options,
                "with_all": not default,
                "selected": filters.get(name) or default,
            }
            for name, label, options, default in every
        ],
        "active": bool(filters),
        "clear_link": clear_link(path),
    }
