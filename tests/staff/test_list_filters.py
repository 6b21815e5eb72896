"""Staff lists paginate, and filters and page size are remembered per user on the server."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.access.users import find_user
from backend.db import transaction
from backend.models import Alert
from client_app.staff_filters import StaffListFilter
from tests.staff.conftest import Demo

Login = Callable[..., TestClient]


def _stored(session_factory: sessionmaker[Session], username: str) -> dict[str, dict[str, str]]:
    with transaction(session_factory) as session:
        user = find_user(session, username)
        assert user is not None
        return {
            row.list_name: dict(row.filters)
            for row in session.scalars(
                select(StaffListFilter).where(StaffListFilter.user_id == user.id)
            )
        }


def _selected(html: str, name: str) -> str:
    select_html = html.split(f'name="{name}"', 1)[1].split("</select>", 1)[0]
    found = re.search(r'<option value="([^"]*)" selected>', select_html)
    return found.group(1) if found else ""


def test_the_queue_filter_is_remembered_on_the_server_not_in_the_browser(
    login: Login, session_factory: sessionmaker[Session]
) -> None:
    client = login("carla")
    assert 'data-testid="clear-filters"' not in client.get("/hulpverlener").text
    client.get("/hulpverlener?toon=alle&per=10")
    assert _stored(session_factory, "carla") == {"queue": {"toon": "alle", "per": "10"}}
    # Another user logs in on the same browser (cookies cleared): not carla's filters.
    other = login("chris").get("/hulpverlener").text
    assert 'data-testid="quiet-list"' not in other
    assert _selected(other, "per") == "25"
    # carla again, with a fresh session: the same list as she left it.
    again = login("carla").get("/hulpverlener").text
    assert 'data-testid="quiet-list"' in again
    assert _selected(again, "per") == "10"
    assert _selected(again, "toon") == "alle"
    assert 'data-testid="clear-filters"' in again


def test_wis_filters_forgets_them(login: Login, session_factory: sessionmaker[Session]) -> None:
    client = login("carla")
    client.get("/hulpverlener?toon=alle")
    cleared = client.get("/hulpverlener?wis=1").text
    assert 'data-testid="quiet-list"' not in cleared
    assert 'data-testid="clear-filters"' not in cleared
    assert _stored(session_factory, "carla") == {}
    assert 'data-testid="quiet-list"' not in client.get("/hulpverlener").text


def test_one_filter_changes_and_the_others_stay(
    login: Login, session_factory: sessionmaker[Session]
) -> None:
    client = login("carla")
    client.get("/hulpverlener?toon=alle&per=50")
    client.get("/hulpverlener?toon=werk")  # the "hide quiet participants" link
    assert _stored(session_factory, "carla")["queue"] == {"toon": "werk", "per": "50"}
    client.get("/hulpverlener?toon=&per=50")  # "Alles" in the select: no filter
    assert _stored(session_factory, "carla")["queue"] == {"per": "50"}


def test_unknown_values_are_ignored_not_stored(
    login: Login, session_factory: sessionmaker[Session]
) -> None:
    client = login("fenna")
    page = client.get("/financien/betaalbatches?status=<script>&per=9999")
    assert page.status_code == 200
    assert _stored(session_factory, "fenna") == {"batches": {}}


def test_finance_lists_remember_their_filters_per_list(
    login: Login, session_factory: sessionmaker[Session]
) -> None:
    client = login("fenna")
    client.get("/financien/betaalbatches?status=approved&per=10")
    client.get("/financien/te-verdelen?per=50")
    statements = client.get("/financien/afschriften").text
    account = re.search(r'name="rekening">.*?<option value="([A-Z0-9]+)"', statements, re.S)
    assert account is not None, "the demo has a municipal account to filter on"
    client.get(f"/financien/afschriften?rekening={account.group(1)}")
    assert _stored(session_factory, "fenna") == {
        "batches": {"status": "approved", "per": "10"},
        "suspense": {"per": "50"},
        "statements": {"rekening": account.group(1)},
    }
    again = login("fenna")
    batches = again.get("/financien/betaalbatches").text
    assert _selected(batches, "status") == "approved"
    assert _selected(batches, "per") == "10"
    assert _selected(again.get("/financien/te-verdelen").text, "per") == "50"
    assert _selected(again.get("/financien/afschriften").text, "rekening") == account.group(1)
    # frank's lists are his own.
    assert _selected(login("frank").get("/financien/betaalbatches").text, "status") == ""


def test_the_queue_paginates_with_the_chosen_page_size(
    login: Login, demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    anna = demo.participants["anna"]
    with transaction(session_factory, write=True) as session:
        for number in range(12):
            session.add(
                Alert(
                    dedup_key=f"test:paging:{number}",
                    participant_id=anna,
                    kind="buffer_below_target",
                    severity="info",
                    message_nl=f"Testsignaal {number:02d}.",
                    message_en=f"Test alert {number:02d}.",
                )
            )
    client = login("carla")

    def items(html: str) -> int:
        return html.count('data-testid="queue-item"') + html.count(
            'data-testid="caseworker-emergency"'
        )

    total = items(client.get("/hulpverlener?per=100").text)
    assert total >= 12
    first = client.get("/hulpverlener?per=10").text
    assert items(first) == 10
    assert 'rel="next"' in first
    pages = [first]
    for number in range(2, -(-total // 10) + 1):
        pages.append(client.get(f"/hulpverlener?pagina={number}").text)  # size remembered
        assert 'rel="prev"' in pages[-1]
    assert sum(items(html) for html in pages) == total
    assert 'rel="next"' not in pages[-1]
    together = "".join(pages)
    assert all(together.count(f"Testsignaal {number:02d}.") == 1 for number in range(12))
