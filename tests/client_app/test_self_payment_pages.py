"""Zelfregie step 3 in the app (issue 12): the Zelf doen page lists the bills Anna pays
herself with "Ik heb betaald"; her caseworker's Deelnemer page has "Bevestig betaald".
Wrong input is refused with a message and changes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.codecision.changes import FixedCostPaidByParticipantChange
from backend.cycle.service import run_daily_cycle
from backend.db import transaction
from backend.models import Agreement, AutonomyStepRecord, SelfPaymentConfirmation
from backend.models.base import utcnow
from backend.plans.service import apply_plan_change
from tests.access.conftest import SEED_TODAY, Demo
from tests.client_app.conftest import csrf_from

Login = Callable[..., TestClient]
PHONE_DUE = dt.date(2026, 12, 15)
HANDED_OVER_ON = dt.date(2026, 12, 14)


def anna_pays_her_phone_bill(session_factory: sessionmaker[Session], anna: int) -> None:
    """Anna at step 3 (set directly: the co-decision path is tests/zelfregie's) with her
    phone bill self-paid, and the daily cycle run up to the day it is handed over."""
    with transaction(session_factory) as session:
        session.add(
            AutonomyStepRecord(
                participant_id=anna, step=3, effective_from=SEED_TODAY, created_at=utcnow()
            )
        )
        row_id = session.scalar(
            select(Agreement.id).where(
                Agreement.participant_id == anna, Agreement.plan_agreement_id == "telefoon"
            )
        )
        assert row_id is not None
        apply_plan_change(
            session,
            anna,
            FixedCostPaidByParticipantChange(agreement_id=row_id, paid_by_participant=True),
            effective_from=SEED_TODAY + dt.timedelta(days=1),
            created_by="test",
            source="test:self-paid-phone",
        )
    day = SEED_TODAY + dt.timedelta(days=1)
    while day <= HANDED_OVER_ON:
        assert run_daily_cycle(session_factory, today=day, participant_ids=[anna]).ok
        day += dt.timedelta(days=1)


def _confirmations(session_factory: sessionmaker[Session]) -> list[tuple[str, dt.date, str]]:
    with session_factory() as session:
        return [
            (row.agreement_id, row.due_date, row.confirmed_party)
            for row in session.scalars(select(SelfPaymentConfirmation))
        ]


def test_anna_marks_her_phone_bill_paid_and_carla_sees_it(
    login: Login, anna_base: str, demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    anna_id = demo.participants["anna"]
    anna_pays_her_phone_bill(session_factory, anna_id)

    carla = login("carla")
    carla.app.state.client_today = PHONE_DUE  # type: ignore[attr-defined]
    html = carla.get(f"/hulpverlener/deelnemer/{anna_id}").text
    assert "Rekeningen die de deelnemer zelf betaalt" in html
    assert "Telefoon en internet (KPN) van dinsdag 15 december 2026: € 35,00." in html
    assert "Bevestig betaald" in html
    assert "Te bevestigen uiterlijk dinsdag 22 december 2026." in html

    client = login("anna")
    client.app.state.client_today = PHONE_DUE  # type: ignore[attr-defined]
    page = f"{anna_base}/zelf-doen"
    html = client.get(page).text
    assert "Rekeningen die je zelf betaalt" in html
    assert "Meld uiterlijk dinsdag 22 december 2026 dat je hebt betaald." in html
    assert "Ik heb betaald" in html
    assert "die betaal je zelf" in html  # the phone bill in the list of fixed costs

    # A due date that was never handed over: refused with a message, nothing stored.
    wrong = client.post(
        f"{page}/betaald",
        data={"csrf_token": csrf_from(html), "agreement": "telefoon", "due": "2026-11-15"},
    )
    assert wrong.status_code == 422
    assert "Deze rekening kunnen we niet vinden." in wrong.text
    assert _confirmations(session_factory) == []

    done = client.post(
        f"{page}/betaald",
        data={"csrf_token": csrf_from(html), "agreement": "telefoon", "due": "2026-12-15"},
    )
    assert done.status_code == 200, done.text
    assert "Betaald, gemeld door jou." in done.text
    assert "Ik heb betaald" not in done.text
    assert _confirmations(session_factory) == [("telefoon", PHONE_DUE, "participant")]

    # Carla's page now says it was paid; confirming again changes nothing.
    carla = login("carla")
    html = carla.get(f"/hulpverlener/deelnemer/{anna_id}").text
    assert "Betaald, gemeld door de deelnemer." in html and "Bevestig betaald" not in html
    again = carla.post(
        f"{anna_base}/zelf-doen/betaald?terug=hulpverlener",
        data={"csrf_token": csrf_from(html), "agreement": "telefoon", "due": "2026-12-15"},
    )
    assert again.status_code == 200, again.text
    assert _confirmations(session_factory) == [("telefoon", PHONE_DUE, "participant")]


def test_carla_confirms_from_her_page(
    login: Login, anna_base: str, demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    anna_id = demo.participants["anna"]
    anna_pays_her_phone_bill(session_factory, anna_id)
    carla = login("carla")
    carla.app.state.client_today = PHONE_DUE  # type: ignore[attr-defined]
    html = carla.get(f"/hulpverlener/deelnemer/{anna_id}").text
    response = carla.post(
        f"{anna_base}/zelf-doen/betaald?terug=hulpverlener",
        data={"csrf_token": csrf_from(html), "agreement": "telefoon", "due": "2026-12-15"},
    )
    assert response.status_code == 200, response.text
    assert "Betaald, bevestigd door de budgetcoach." in response.text
    assert _confirmations(session_factory) == [("telefoon", PHONE_DUE, "caseworker")]
