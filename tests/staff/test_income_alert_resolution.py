"""A missing-income alert is resolved when the income is booked after all: by finance
assigning the suspense entry to the income agreement, or by the import's matching."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.bank_import.income_alerts import income_missing_key
from backend.cycle.service import run_daily_cycle
from backend.db import transaction
from backend.models import Alert
from tests.staff.conftest import Demo, csrf_from
from tests.staff.statements import ledger_bank_balance, statement_with_unknown_credit

Login = Callable[..., TestClient]
EXPECTED = dt.date(2026, 12, 20)  # anna's zorgtoeslag (€ 154,00 on the 20th)


def _alert(session_factory: sessionmaker[Session], key: str) -> Alert | None:
    with transaction(session_factory) as session:
        found = session.scalar(select(Alert).where(Alert.dedup_key == key))
        if found is not None:
            session.expunge(found)
        return found


def test_assigning_the_income_in_te_verdelen_resolves_carlas_alert(
    login: Login, demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    anna = demo.participants["anna"]
    # The zorgtoeslag of 20 December does not arrive: the cycle of 26 December (after
    # the five-day window) raises the alert, with the engine's own key.
    summary = run_daily_cycle(session_factory, today=dt.date(2026, 12, 26), participant_ids=[anna])
    assert summary.ok
    key = income_missing_key(anna, "zorgtoeslag", EXPECTED)
    raised = _alert(session_factory, key)
    assert raised is not None and raised.kind == "income_missing"
    assert raised.resolved_at is None
    carla = login("carla")
    assert "verwacht op 20 december 2026, is niet binnengekomen" in carla.get("/hulpverlener").text

    # It does arrive, from an IBAN nobody knows: it lands in suspense.
    with transaction(session_factory) as session:
        opening = ledger_bank_balance(session)
    data = statement_with_unknown_credit(
        day=dt.date(2026, 12, 27), opening_cents=opening, amount_cents=15400
    )
    fenna = login("fenna")
    token = csrf_from(fenna.get("/financien/afschriften").text)
    uploaded = fenna.post(
        "/financien/afschriften",
        data={"csrf_token": token},
        files={"bestand": ("afschrift.xml", data, "application/xml")},
    )
    assert uploaded.status_code == 200, uploaded.text[-1500:]
    queue = fenna.get("/financien/te-verdelen").text
    entry_id = queue.split('href="/financien/te-verdelen/')[1].split('"')[0]
    assert _alert(session_factory, key).resolved_at is None  # type: ignore[union-attr]
    form = {
        "csrf_token": token,
        "keuze": f"{anna}:zorgtoeslag",
        "reden": "Zorgtoeslag via een nieuwe rekening van de Belastingdienst.",
    }
    confirm = fenna.post(f"/financien/te-verdelen/{entry_id}", data=form)
    assert 'data-testid="assign-confirm"' in confirm.text
    booked = fenna.post(
        f"/financien/te-verdelen/{entry_id}",
        data={**form, "bevestigd": "ja"},
        follow_redirects=False,
    )
    assert booked.status_code == 303

    resolved = _alert(session_factory, key)
    assert resolved is not None and resolved.resolved_at is not None
    assert resolved.resolved_by == "te verdelen: fenna"
    assert "verwacht op 20 december 2026, is niet" not in login("carla").get("/hulpverlener").text
    # The next cycle does not raise it again: the income is there now.
    run_daily_cycle(session_factory, today=dt.date(2026, 12, 27), participant_ids=[anna])
    with transaction(session_factory) as session:
        open_income_alerts = session.scalars(
            select(Alert.dedup_key).where(
                Alert.participant_id == anna,
                Alert.kind == "income_missing",
                Alert.resolved_at.is_(None),
            )
        ).all()
    assert key not in open_income_alerts


def test_an_assignment_without_an_agreement_leaves_the_alert_open(
    login: Login, demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    """A gift is not the missing income: only booking it as that income resolves it."""
    anna = demo.participants["anna"]
    run_daily_cycle(session_factory, today=dt.date(2026, 12, 26), participant_ids=[anna])
    key = income_missing_key(anna, "zorgtoeslag", EXPECTED)
    with transaction(session_factory) as session:
        opening = ledger_bank_balance(session)
    data = statement_with_unknown_credit(
        day=dt.date(2026, 12, 27), opening_cents=opening, amount_cents=5000
    )
    fenna = login("fenna")
    token = csrf_from(fenna.get("/financien/afschriften").text)
    fenna.post(
        "/financien/afschriften",
        data={"csrf_token": token},
        files={"bestand": ("afschrift.xml", data, "application/xml")},
    )
    entry_id = fenna.get("/financien/te-verdelen").text.split('href="/financien/te-verdelen/')[1]
    entry_id = entry_id.split('"')[0]
    form = {"csrf_token": token, "keuze": "manual", "deelnemer": str(anna), "reden": "Gift."}
    fenna.post(f"/financien/te-verdelen/{entry_id}", data={**form, "bevestigd": "ja"})
    still = _alert(session_factory, key)
    assert still is not None and still.resolved_at is None


def test_a_late_statement_with_the_income_resolves_the_alert_on_import(
    login: Login, demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    """The statement of 24 December comes in after the cycle of 26 December raised the
    alert: the import matches the zorgtoeslag to its agreement and resolves the alert."""
    from backend.bank.generate import PartySpec
    from backend.demo.plans import TOESLAGEN

    anna = demo.participants["anna"]
    run_daily_cycle(session_factory, today=dt.date(2026, 12, 26), participant_ids=[anna])
    key = income_missing_key(anna, "zorgtoeslag", EXPECTED)
    assert _alert(session_factory, key).resolved_at is None  # type: ignore[union-attr]
    with transaction(session_factory) as session:
        opening = ledger_bank_balance(session)
    data = statement_with_unknown_credit(
        day=dt.date(2026, 12, 24),
        opening_cents=opening,
        amount_cents=15400,
        remittance="Zorgtoeslag toeslagnummer 2001 4711",
        payer=PartySpec(*TOESLAGEN),
    )
    fenna = login("fenna")
    token = csrf_from(fenna.get("/financien/afschriften").text)
    uploaded = fenna.post(
        "/financien/afschriften",
        data={"csrf_token": token},
        files={"bestand": ("afschrift.xml", data, "application/xml")},
    )
    assert uploaded.status_code == 200
    assert 'data-testid="suspense-entries">0<' in uploaded.text
    resolved = _alert(session_factory, key)
    assert resolved is not None and resolved.resolved_at is not None
    assert resolved.resolved_by == "bankimport"
