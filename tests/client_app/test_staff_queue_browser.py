"""Issue 8 in a real browser: carla works her queue and resolves a missing-income alert
together with fenna, who books the income from suspense; carla follows up one of anna's
agreements and anna approves it in the app; list filters are remembered and wiped.
axe-core finds no serious or critical violation on any staff page visited."""

from __future__ import annotations

import datetime as dt
import json
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from backend.bank_import.income_alerts import income_missing_key
from backend.clock import today_amsterdam
from backend.models import Agreement, Alert
from backend.plans import latest_plan
from rules import occurrences
from tests.browser.check_page import check_page
from tests.browser.fixtures import LiveServer
from tests.staff.statements import ledger_bank_balance, statement_with_unknown_credit

pytestmark = pytest.mark.browser

ZORGTOESLAG_CENTS = 15400


def _anna_id(live_server: LiveServer) -> int:
    token_request = urllib.request.Request(
        live_server.url("/api/auth/token"),
        data=b"username=anna&password=demo",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(token_request, timeout=10) as response:
        token = json.load(response)["access_token"]
    me = urllib.request.Request(
        live_server.url("/api/me"), headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(me, timeout=10) as response:
        return int(json.load(response)["participant_id"])


def _in_database(
    live_server: LiveServer, work: Callable[[Any], Any], *, write: bool = False
) -> Any:
    from backend.db import make_engine, make_session_factory, transaction

    engine = make_engine(live_server.database_url)
    try:
        with transaction(make_session_factory(engine), write=write) as session:
            return work(session)
    finally:
        engine.dispose()


def _missing_zorgtoeslag(live_server: LiveServer, anna: int, day: dt.date) -> str:
    """The alert the daily cycle raises when anna's zorgtoeslag is missing, for the
    expected date a credit on `day` belongs to.

    The live server's clock cannot move past the income window, so the alert is put
    there as the cycle would (same key, kind and text);
    tests/staff/test_income_alert_resolution.py has the cycle raise it for real.
    """

    def add(session: Any) -> str:
        stored = latest_plan(session, anna)
        assert stored is not None
        income = stored.plan.income("zorgtoeslag")
        assert income is not None
        dates = occurrences(
            income.schedule, day - dt.timedelta(days=31), day + dt.timedelta(days=31)
        )
        expected = min(dates, key=lambda item: (abs((item - day).days), item))
        key = income_missing_key(anna, "zorgtoeslag", expected)
        session.add(
            Alert(
                dedup_key=key,
                participant_id=anna,
                kind="income_missing",
                severity="warning",
                message_nl=(
                    "Zorgtoeslag van Belastingdienst Toeslagen, verwacht op "
                    f"{expected.day}-{expected.month}-{expected.year}, is niet binnengekomen."
                ),
                message_en="Zorgtoeslag has not arrived.",
            )
        )
        return key

    return str(_in_database(live_server, add, write=True))


def _alert(live_server: LiveServer, key: str) -> tuple[Any, Any]:
    def read(session: Any) -> tuple[Any, Any]:
        found = session.scalar(select(Alert).where(Alert.dedup_key == key))
        assert found is not None
        return found.resolved_at, found.resolved_by

    result: tuple[Any, Any] = _in_database(live_server, read)
    return result


def test_carla_and_fenna_resolve_a_missing_income_alert(
    live_server: LiveServer,
    new_page: Callable[..., Any],
    log_in: Callable[..., None],
    tmp_path: Any,
) -> None:
    anna = _anna_id(live_server)
    today = today_amsterdam()
    key = _missing_zorgtoeslag(live_server, anna, today)

    carla = new_page()
    log_in(carla, "carla")
    carla.goto(live_server.url("/hulpverlener?toon=werk&per=100"))
    alert_item = carla.locator("[data-kind=alert]", has_text="Zorgtoeslag van Belastingdienst")
    assert alert_item.count() == 1
    assert "Anna de Vries" in alert_item.inner_text()
    check_page(carla, "staff-queue-missing-income")

    # The zorgtoeslag arrives from an account nobody knows: it lands in suspense.
    opening = _in_database(live_server, ledger_bank_balance)
    statement = tmp_path / "afschrift.xml"
    statement.write_bytes(
        statement_with_unknown_credit(
            day=today,
            opening_cents=opening,
            amount_cents=ZORGTOESLAG_CENTS,
            statement_id="STAFF-QUEUE",
            remittance="Zorgtoeslag toeslagnummer 2001 4711 A. de Vries",
        )
    )
    fenna = new_page()
    log_in(fenna, "fenna")
    fenna.goto(live_server.url("/financien/afschriften"))
    fenna.set_input_files("#bestand", str(statement))
    fenna.click("button:has-text('Inlezen')")
    fenna.wait_for_load_state("load")
    assert fenna.get_by_test_id("suspense-entries").inner_text() == "1"

    fenna.goto(live_server.url("/financien/te-verdelen"))
    check_page(fenna, "staff-queue-suspense")
    fenna.locator("[data-testid=suspense-entry]", has_text="Zorgtoeslag toeslagnummer").locator(
        "a"
    ).first.click()
    fenna.wait_for_load_state("load")
    check_page(fenna, "staff-queue-assign")
    # The ranked suggestion: anna's zorgtoeslag.
    suggestion = fenna.locator("label", has_text="Anna de Vries — Zorgtoeslag")
    assert suggestion.count() >= 1
    suggestion.first.click()
    fenna.fill("#reden", "Zorgtoeslag via een nieuwe rekening; met de budgetcoach nagegaan.")
    fenna.click("button:has-text('Controleren')")
    fenna.wait_for_load_state("load")
    assert "Anna de Vries" in fenna.get_by_test_id("assign-confirm").inner_text()
    assert _alert(live_server, key)[0] is None  # nothing booked before the confirmation
    fenna.click("button:has-text('Ja, boeken')")
    fenna.wait_for_load_state("load")

    resolved_at, resolved_by = _alert(live_server, key)
    assert resolved_at is not None
    assert resolved_by == "te verdelen: fenna"
    carla.goto(live_server.url("/hulpverlener"))
    assert (
        carla.locator("[data-kind=alert]", has_text="Zorgtoeslag van Belastingdienst").count() == 0
    )
    carla.goto(live_server.url(f"/hulpverlener/deelnemer/{anna}#signalen"))
    assert "te verdelen: fenna" in carla.content()


def test_carla_follows_up_an_agreement_and_anna_approves_it(
    live_server: LiveServer, new_page: Callable[..., Any], log_in: Callable[..., None]
) -> None:
    anna = _anna_id(live_server)
    rent = _in_database(
        live_server,
        lambda session: session.scalar(
            select(Agreement.id).where(
                Agreement.participant_id == anna, Agreement.plan_agreement_id == "huur"
            )
        ),
    )
    from_date = (today_amsterdam().replace(day=1) + dt.timedelta(days=62)).replace(day=1)

    carla = new_page()
    log_in(carla, "carla")
    carla.goto(live_server.url(f"/hulpverlener/deelnemer/{anna}"))
    carla.locator(f"a[href='/hulpverlener/deelnemer/{anna}/afspraak/{rent}']").click()
    carla.wait_for_load_state("load")
    check_page(carla, "staff-agreement")
    # Wrong first: an amount of nothing is refused, on the page, with a message.
    carla.fill("#bedrag-vervolg", "0")
    carla.fill("#datum-vervolg", from_date.isoformat())
    carla.fill("#reden-vervolg", "Huurverhoging per brief van Mitros.")
    carla.click("button:has-text('Vervolgafspraak voorstellen')")
    carla.wait_for_load_state("load")
    assert "Vul een bedrag in dat hoger is dan € 0,00" in carla.content()
    check_page(carla, "staff-agreement-error")
    carla.fill("#bedrag-vervolg", "689,50")
    carla.fill("#datum-vervolg", from_date.isoformat())
    carla.fill("#reden-vervolg", "Huurverhoging per brief van Mitros.")
    carla.click("button:has-text('Vervolgafspraak voorstellen')")
    carla.wait_for_load_state("load")
    assert "De deelnemer beslist erover in de app" in carla.content()

    anna_page = new_page(width=390, height=844)
    log_in(anna_page, "anna")
    anna_page.goto(live_server.url(f"/deelnemer/{anna}/afspraken"))
    proposal = anna_page.locator("article", has_text="Vervolgafspraak voor Huur")
    assert proposal.count() >= 1
    proposal.first.locator("button:has-text('Goedkeuren')").click()
    anna_page.wait_for_load_state("load")
    # anna's Berichten: the kantelgesprekken and carla's notes (never internal ones).
    anna_page.goto(live_server.url(f"/deelnemer/{anna}/berichten"))
    assert anna_page.locator("#gesprekken-kop").is_visible()
    check_page(anna_page, "participant-berichten-casework")

    def plan_rent(session: Any) -> tuple[int, Any]:
        stored = latest_plan(session, anna)
        assert stored is not None
        new = stored.plan.fixed_cost("huur-2")
        old = stored.plan.fixed_cost("huur")
        assert new is not None and old is not None
        return new.amount_cents, old.schedule.end_date  # type: ignore[union-attr]

    amount, old_end = _in_database(live_server, plan_rent)
    assert amount == 68950
    assert old_end == from_date - dt.timedelta(days=1)
    carla.goto(live_server.url(f"/hulpverlener/deelnemer/{anna}"))
    assert carla.get_by_test_id("agreements").inner_text().count("Huur") >= 2


def test_fenna_s_filters_are_remembered_and_wiped(
    live_server: LiveServer, new_page: Callable[..., Any], log_in: Callable[..., None]
) -> None:
    fenna = new_page()
    log_in(fenna, "fenna")
    fenna.goto(live_server.url("/financien/betaalbatches"))
    fenna.select_option("#filter-status", "exported")
    fenna.select_option("#filter-per", "10")
    fenna.click("[data-testid=list-filters] button:has-text('Toon')")
    fenna.wait_for_load_state("load")
    check_page(fenna, "staff-batches-filtered")

    # Another browser, the same user: the same list.
    again = new_page()
    log_in(again, "fenna")
    again.goto(live_server.url("/financien/betaalbatches"))
    assert again.locator("#filter-status").input_value() == "exported"
    assert again.locator("#filter-per").input_value() == "10"
    again.get_by_test_id("clear-filters").click()
    again.wait_for_load_state("load")
    assert again.locator("#filter-status").input_value() == ""
    assert again.locator("#filter-per").input_value() == "25"
    assert again.get_by_test_id("clear-filters").count() == 0
