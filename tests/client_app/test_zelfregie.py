"""Op weg naar zelf doen (issue 12) through the real app: the step, what the next step
needs, savings goals with progress and forecast, setting aside and taking back (the
caseworker is told), asking for the next step through co-decision."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.access.policy import Principal
from backend.ledger_store import account_balances
from backend.ledger_store.service import check_ledger
from backend.models import (
    Alert,
    AutonomyStepRecord,
    JournalEntryRecord,
    Proposal,
    UserAccount,
)
from backend.payments.reconcile import reconcile
from backend.zelfregie import savings
from ledger import AccountKind, AccountRef, holding_cents
from tests.access.conftest import SEED_TODAY, Demo
from tests.client_app.conftest import csrf_from

Login = Callable[..., TestClient]
FREE = re.compile(r"Je kunt nu € ([\d.]+,\d\d) opzij zetten")


def _form(client: TestClient, page: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf_from(client.get(page).text), **fields}


def _holding(session: Session, participant_id: int, kind: AccountKind) -> int:
    ref = AccountRef.of_participant(participant_id, kind)
    return holding_cents(ref, account_balances(session, participant_id=participant_id).get(ref, 0))


def test_the_page_shows_the_step_and_what_the_next_step_needs(login: Login, anna_base: str) -> None:
    html = login("anna").get(f"{anna_base}/zelf-doen").text
    assert "Op weg naar zelf doen" in html
    assert "Stap 1 van 4: Alles geregeld." in html
    assert "Voor stap 2 (Zelf je leefgeld plannen) is dit nodig:" in html
    assert "3 maanden zonder achterstand in deze stap (0 van 3)" in html
    assert "Vraag de volgende stap aan" not in html
    assert "Je hebt nog geen spaardoel." in html
    assert 'aria-current="page"' in html


def test_a_goal_set_aside_and_taken_back_and_the_caseworker_is_told(
    login: Login, anna_base: str, demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    anna_id = demo.participants["anna"]
    client = login("anna")
    page = f"{anna_base}/zelf-doen"
    form = _form(
        client, page, name="Koelkast", target="400", monthly="50", target_date="2027-08-01"
    )
    response = client.post(f"{page}/spaardoel", data=form)
    assert response.status_code == 200, response.text
    assert "Je spaardoel staat erin." in response.text
    assert "€ 0,00 van € 400,00 gespaard (0%)." in response.text
    assert "Met € 50,00 per maand heb je het op woensdag 28 juli 2027." in response.text
    free = FREE.search(response.text)
    assert free, response.text
    free_cents = int(free.group(1).replace(".", "").replace(",", ""))
    assert free_cents >= 5_000
    with session_factory() as session:
        available_before = _holding(session, anna_id, AccountKind.AVAILABLE)

    goal = re.search(r'name="goal" value="(\d+)"', response.text)
    assert goal
    too_much = client.post(
        f"{page}/opzij",
        data=_form(client, page, goal=goal.group(1), amount=str(free_cents / 100 + 1)),
    )
    assert too_much.status_code == 422
    assert "Zoveel kun je nu niet opzij zetten" in too_much.text

    done = client.post(f"{page}/opzij", data=_form(client, page, goal=goal.group(1), amount="100"))
    assert done.status_code == 200, done.text
    assert "€ 100,00 van € 400,00 gespaard (25%)." in done.text
    assert "heb je het op vrijdag 28 mei 2027." in done.text
    assert "Dat is op tijd voor zondag 1 augustus 2027." in done.text

    back = client.post(f"{page}/terug", data=_form(client, page, goal=goal.group(1), amount="30"))
    assert back.status_code == 200, back.text
    assert "€ 70,00 van € 400,00 gespaard (17%)." in back.text
    assert "Je budgetcoach ziet dit." in back.text
    over = client.post(f"{page}/terug", data=_form(client, page, goal=goal.group(1), amount="71"))
    assert over.status_code == 422
    assert "Zoveel staat er niet in dit spaarpotje." in over.text

    with session_factory() as session:
        assert _holding(session, anna_id, AccountKind.SAVINGS) == 7_000
        assert _holding(session, anna_id, AccountKind.AVAILABLE) == available_before - 7_000
        reasons = list(
            session.scalars(
                select(JournalEntryRecord.reason_code).where(
                    JournalEntryRecord.reason_code.like("savings.%")
                )
            )
        )
        assert sorted(reasons) == ["savings.set_aside", "savings.withdraw"]
        alert = session.scalars(select(Alert).where(Alert.kind == "savings_withdrawal")).one()
        assert alert.severity == "info" and alert.participant_id == anna_id
        assert "€ 30,00" in alert.message_nl
        assert check_ledger(session) == []

    # The caseworker sees the withdrawal on her participant page, and the movements
    # show in anna's transactions as moves between her own pots.
    carla = login("carla")
    assert "€ 30,00 uit spaardoel" in carla.get(f"/hulpverlener/deelnemer/{anna_id}").text
    carla_form = _form(carla, page, goal=goal.group(1), amount="10")
    assert carla.post(f"{page}/terug", data=carla_form).status_code == 403
    transactions = login("anna").get(f"{anna_base}/transacties").text
    assert "opzij gezet in je spaarpotje" in transactions


def test_the_goal_form_explains_what_is_wrong(login: Login, anna_base: str) -> None:
    client = login("anna")
    page = f"{anna_base}/zelf-doen"
    response = client.post(
        f"{page}/spaardoel",
        data=_form(client, page, name=" ", target="nul", target_date="2020-01-01"),
    )
    assert response.status_code == 422
    for text in ("Schrijf op waar je voor spaart.", "Kies een datum in de toekomst."):
        assert text in response.text


def test_after_three_months_without_arrears_the_next_step_is_agreed_together(
    login: Login, anna_base: str, demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    client = login("anna")
    later = SEED_TODAY + dt.timedelta(days=95)
    client.app.state.client_today = later  # type: ignore[attr-defined]
    page = f"{anna_base}/zelf-doen"
    html = client.get(page).text
    assert "3 maanden zonder achterstand in deze stap (3 van 3)" in html
    response = client.post(f"{page}/volgende-stap", data=_form(client, page))
    assert response.status_code == 200, response.text
    assert "Je vraag is verstuurd." in response.text
    with session_factory() as session:
        proposal = session.scalars(select(Proposal)).one()
    assert (proposal.kind, proposal.payload) == ("autonomy_step", {"step": 2})
    carla = login("carla")
    carla.app.state.client_today = later  # type: ignore[attr-defined]
    approve = carla.post(
        f"{anna_base}/voorstellen/{proposal.id}/goedkeuren",
        data=_form(carla, f"{anna_base}/afspraken"),
    )
    assert approve.status_code == 200, approve.text
    with session_factory() as session:
        record = session.scalars(select(AutonomyStepRecord)).one()
    assert record.step == 2 and record.proposal_id == proposal.id
    client = login("anna")
    client.app.state.client_today = record.effective_from  # type: ignore[attr-defined]
    html = client.get(page).text
    assert "Stap 2 van 4: Zelf je leefgeld plannen." in html
    assert "(0 van 3)" in html


def test_a_goal_is_reached_and_withdrawn_and_the_ledger_still_adds_up(
    demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    """Scenario (issue 12): a participant reaches a savings goal and withdraws it; the
    ledger check passes and the totals reconcile (savings count as participant money)."""
    anna_id = demo.participants["anna"]
    with session_factory() as session:
        anna = Principal.from_account(session.get_one(UserAccount, demo.users["anna"]))
        goal = savings.create_goal(
            session,
            anna,
            anna_id,
            name="Schoolspullen",
            target_cents=6_000,
            monthly_cents=3_000,
            target_date=dt.date(2027, 8, 1),
            today=SEED_TODAY,
        )
        bank_before = reconcile(session).totals["bank_cents"]
        held_before = reconcile(session).totals["held_cents"]
        for _ in range(2):
            savings.set_aside(
                session, anna, anna_id, goal.id, amount_cents=3_000, today=SEED_TODAY, forecast=None
            )
        (view,) = savings.goals(session, anna_id, SEED_TODAY)
        assert view.saved_cents == 6_000 and view.forecast.reached
        assert view.forecast.progress_percent == 100
        assert _holding(session, anna_id, AccountKind.SAVINGS) == 6_000
        savings.withdraw(session, anna, anna_id, goal.id, amount_cents=6_000, today=SEED_TODAY)
        assert _holding(session, anna_id, AccountKind.SAVINGS) == 0
        assert check_ledger(session) == []
        report = reconcile(session)
        assert report.totals["held_cents"] == held_before
        assert report.totals["bank_cents"] == bank_before
        assert not [d for d in report.differences if d.check == "holdings_vs_bank"]
        alerts = session.scalars(select(Alert).where(Alert.kind == "savings_withdrawal")).all()
        assert len(alerts) == 1 and alerts[0].severity == "info"
        session.commit()
