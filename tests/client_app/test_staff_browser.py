"""The staff pages in a real browser: carla works her queue; fenna and frank run the
money routine; axe-core finds no serious or critical violation on any staff page."""

from __future__ import annotations

import datetime as dt
import json
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from backend.clock import today_amsterdam
from backend.payments.sepa_file import check_file
from tests.browser.check_page import check_page
from tests.browser.fixtures import LiveServer
from tests.staff.statements import ledger_bank_balance, statement_with_unknown_credit

pytestmark = pytest.mark.browser


def _api(live_server: LiveServer, method: str, path: str, username: str, body: Any = None) -> Any:
    token_request = urllib.request.Request(
        live_server.url("/api/auth/token"),
        data=f"username={username}&password=demo".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(token_request, timeout=10) as response:
        token = json.load(response)["access_token"]
    request = urllib.request.Request(
        live_server.url(path),
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def _anna_id(live_server: LiveServer) -> int:
    me = _api(live_server, "GET", "/api/me", "anna")
    return int(me["participant_id"])


def test_carla_works_her_queue(
    live_server: LiveServer, new_page: Callable[..., Any], log_in: Callable[..., None]
) -> None:
    anna = _anna_id(live_server)
    _api(live_server, "POST", f"/api/participants/{anna}/emergency", "anna", {"kind": "other"})
    proposal = _api(
        live_server,
        "POST",
        f"/api/participants/{anna}/proposals",
        "anna",
        {"change": {"kind": "extra_payout", "amount_cents": 2500}, "reason": "Schoolreisje."},
    )
    carla = new_page()
    log_in(carla, "carla")
    carla.goto(live_server.url("/hulpverlener"))
    first = carla.locator("ol.hb-queue > li").first
    assert first.get_attribute("data-kind") == "emergency"
    assert "Anna de Vries" in first.inner_text()
    check_page(carla, "staff-caseworker-queue")

    card = carla.locator(f"#voorstel-{proposal['id']}")
    card.locator("button:has-text('Goedkeuren')").click()
    carla.wait_for_load_state("load")
    assert carla.locator(f"#voorstel-{proposal['id']}").count() == 0

    carla.goto(live_server.url(f"/hulpverlener/deelnemer/{anna}"))
    carla.fill("#datum", (today_amsterdam() + dt.timedelta(days=14)).isoformat())
    carla.fill("#onderwerpen", "Buffer en leefgeld")
    carla.click("button:has-text('Kantelgesprek plannen')")
    carla.wait_for_load_state("load")
    assert "Buffer en leefgeld" in carla.get_by_test_id("review").first.inner_text()
    carla.fill("#tekst", "We bellen volgende week.")
    carla.click("button:has-text('Notitie opslaan')")
    carla.wait_for_load_state("load")
    assert "We bellen volgende week." in carla.content()
    check_page(carla, "staff-caseworker-participant")


def test_fenna_and_frank_run_the_money_routine(
    live_server: LiveServer,
    new_page: Callable[..., Any],
    log_in: Callable[..., None],
    tmp_path: Any,
) -> None:
    from backend.db import make_engine, make_session_factory, transaction

    engine = make_engine(live_server.database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            opening = ledger_bank_balance(session)
    finally:
        engine.dispose()
    statement = tmp_path / "afschrift.xml"
    statement.write_bytes(
        statement_with_unknown_credit(
            day=today_amsterdam(), opening_cents=opening, statement_id="STAFF-BROWSER"
        )
    )

    fenna = new_page()
    log_in(fenna, "fenna")
    assert fenna.url.endswith("/financien/afschriften")
    fenna.set_input_files("#bestand", str(statement))
    fenna.click("button:has-text('Inlezen')")
    fenna.wait_for_load_state("load")
    assert fenna.get_by_test_id("suspense-entries").inner_text() == "1"
    check_page(fenna, "staff-finance-statements")

    fenna.goto(live_server.url("/financien/te-verdelen"))
    check_page(fenna, "staff-finance-suspense")
    fenna.locator("[data-testid=suspense-entry] a").first.click()
    fenna.wait_for_load_state("load")
    check_page(fenna, "staff-finance-assign")  # (reloads: before filling in the form)
    fenna.check("#keuze-manual")
    fenna.fill("#deelnemer", str(_anna_id(live_server)))
    fenna.fill("#reden", "Gift van familie, bevestigd door de budgetcoach.")
    fenna.click("button:has-text('Controleren')")
    fenna.wait_for_load_state("load")
    assert "Anna de Vries" in fenna.get_by_test_id("assign-confirm").inner_text()
    fenna.click("button:has-text('Ja, boeken')")
    fenna.wait_for_load_state("load")
    assert fenna.get_by_test_id("suspense-empty").is_visible()

    fenna.goto(live_server.url("/financien/betaalbatches"))
    fenna.click("button:has-text('Voorstellen bijwerken')")
    fenna.wait_for_load_state("load")
    check_page(fenna, "staff-finance-batches")
    fenna.locator("[data-testid=batch-row] a").first.click()
    fenna.wait_for_load_state("load")
    batch_url = fenna.url
    fenna.click("button:has-text('Klaarzetten')")
    fenna.wait_for_load_state("load")
    assert fenna.get_by_test_id("four-eyes").is_visible()

    frank = new_page()
    log_in(frank, "frank")
    frank.goto(batch_url)
    frank.click("button:has-text('Goedkeuren')")
    frank.wait_for_load_state("load")
    assert frank.get_by_test_id("batch-status").inner_text() == "Goedgekeurd"

    fenna.goto(batch_url)
    fenna.click("button:has-text('Betaalbestand maken')")
    fenna.wait_for_load_state("load")
    check_page(fenna, "staff-finance-batch")
    with fenna.expect_download() as download_info:
        fenna.get_by_test_id("download").click()
    content = tmp_path / "pain001.xml"
    download_info.value.save_as(content)
    data = content.read_bytes()
    import hashlib

    assert hashlib.sha256(data).hexdigest() == fenna.get_by_test_id("sha256").inner_text()
    check_file(
        data, file_format="pain.001.001.03" if b"pain.001.001.03" in data else "pain.001.001.09"
    )

    fenna.goto(live_server.url("/financien/aansluiting"))
    assert fenna.get_by_test_id("reconciliation-ok").is_visible()
    assert fenna.get_by_test_id("difference").inner_text() == "€ 0,00"
    check_page(fenna, "staff-finance-reconciliation")
