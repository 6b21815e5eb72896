"""Follow up, copy and end an agreement from the caseworker's Deelnemer page.

Each is a co-decision proposal: nothing changes until anna approves, then it is the
next plan version. Wrong input is refused with a message and nothing is stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import transaction
from backend.models import Agreement, PlanVersionRecord, Proposal
from backend.plans import latest_plan
from client_app.services.plan_text import plan_summary
from rules.engine import due_dates_between
from tests.staff.conftest import Demo, csrf_from

Login = Callable[..., TestClient]


def _row_id(session_factory: sessionmaker[Session], participant_id: int, agreement_id: str) -> int:
    with transaction(session_factory) as session:
        found = session.scalar(
            select(Agreement.id).where(
                Agreement.participant_id == participant_id,
                Agreement.plan_agreement_id == agreement_id,
            )
        )
    assert found is not None
    return int(found)


def _counts(session_factory: sessionmaker[Session], participant_id: int) -> tuple[int, int]:
    with transaction(session_factory) as session:
        proposals = session.scalar(
            select(func.count(Proposal.id)).where(Proposal.participant_id == participant_id)
        )
        versions = session.scalar(
            select(func.count(PlanVersionRecord.id)).where(
                PlanVersionRecord.participant_id == participant_id
            )
        )
    return int(proposals or 0), int(versions or 0)


def _propose(client: TestClient, path: str, **fields: str) -> object:
    token = csrf_from(client.get(path).text)
    return client.post(path, data={"csrf_token": token, **fields}, follow_redirects=False)


def _approve_as_anna(
    client: TestClient,
    session_factory: sessionmaker[Session],
    anna: int,
    as_user: Callable[[str], dict[str, str]],
) -> None:
    with transaction(session_factory) as session:
        proposal_id = session.scalar(
            select(Proposal.id)
            .where(Proposal.participant_id == anna, Proposal.status == "proposed")
            .order_by(Proposal.id.desc())
        )
    response = client.post(
        f"/api/proposals/{proposal_id}/approve", json={}, headers=as_user("anna")
    )
    assert response.status_code == 200, response.text


def test_a_follow_up_becomes_a_plan_version_only_when_anna_approves(
    login: Login,
    demo: Demo,
    session_factory: sessionmaker[Session],
    as_user: Callable[[str], dict[str, str]],
) -> None:
    anna = demo.participants["anna"]
    rent = _row_id(session_factory, anna, "huur")
    client = login("carla")
    deelnemer = client.get(f"/hulpverlener/deelnemer/{anna}").text
    assert f"/hulpverlener/deelnemer/{anna}/afspraak/{rent}" in deelnemer
    path = f"/hulpverlener/deelnemer/{anna}/afspraak/{rent}"
    proposals_before, versions_before = _counts(session_factory, anna)
    with transaction(session_factory) as session:
        first = latest_plan(session, anna)
        assert first is not None
        before_fixed_cents = first.plan.monthly_fixed_costs_cents

    response = _propose(
        client, path, actie="vervolg", bedrag="689,50", datum="2027-03-01", reden="Huurverhoging."
    )
    assert response.status_code == 303, response.text  # type: ignore[attr-defined]
    assert _counts(session_factory, anna) == (proposals_before + 1, versions_before)
    # anna sees it in her app, in words.
    agreements = client.get(f"/deelnemer/{anna}/afspraken").text
    assert "Vervolgafspraak voor Huur: € 689,50 vanaf 1 maart 2027" in agreements

    _approve_as_anna(client, session_factory, anna, as_user)
    with transaction(session_factory) as session:
        stored = latest_plan(session, anna)
        assert stored is not None and stored.version == versions_before + 1
        plan = stored.plan
        old, new = plan.fixed_cost("huur"), plan.fixed_cost("huur-2")
        assert old is not None and new is not None
        assert old.schedule.end_date == dt.date(2027, 2, 28)  # type: ignore[union-attr]
        assert new.amount_cents == 68950
        rows = {
            row.plan_agreement_id: row
            for row in session.scalars(select(Agreement).where(Agreement.participant_id == anna))
        }
    assert rows["huur"].end_date == dt.date(2027, 2, 28)
    assert rows["huur-2"].start_date == dt.date(2027, 3, 1)
    # What the engine will pay: the old amount in February, the new one in March.
    dues = {
        due.due_date: (due.cost.agreement_id, due.amount_cents)
        for due in due_dates_between(plan, dt.date(2027, 2, 1), dt.date(2027, 3, 31))
        if due.cost.agreement_id.startswith("huur")
    }
    assert dues == {
        dt.date(2027, 2, 1): ("huur", 64500),
        dt.date(2027, 3, 1): ("huur-2", 68950),
    }
    # The Deelnemer page shows the new agreement and when the old one ends.
    page = client.get(f"/hulpverlener/deelnemer/{anna}").text
    assert "stopt na 28 februari 2027" in page
    assert "vanaf 1 maart 2027" in page
    # The monthly sums shown count the rent in force: the old one until March.
    now = plan_summary(plan, "nl", on=dt.date(2026, 11, 28))
    march = plan_summary(plan, "nl", on=dt.date(2027, 3, 1))
    assert now.monthly_fixed_costs_cents == before_fixed_cents
    assert march.monthly_fixed_costs_cents == before_fixed_cents + 68950 - 64500


def test_ending_an_income_stops_expecting_it_after_the_end_date(
    login: Login,
    demo: Demo,
    session_factory: sessionmaker[Session],
    as_user: Callable[[str], dict[str, str]],
) -> None:
    anna = demo.participants["anna"]
    allowance = _row_id(session_factory, anna, "zorgtoeslag")
    client = login("carla")
    path = f"/hulpverlener/deelnemer/{anna}/afspraak/{allowance}"
    response = _propose(client, path, actie="einde", datum="2026-12-31", reden="Geen recht meer.")
    assert response.status_code == 303  # type: ignore[attr-defined]
    _approve_as_anna(client, session_factory, anna, as_user)
    with transaction(session_factory) as session:
        stored = latest_plan(session, anna)
        assert stored is not None
        income = stored.plan.income("zorgtoeslag")
        assert income is not None
        assert income.expected_date_for(dt.date(2026, 12, 20)) == dt.date(2026, 12, 20)
        assert income.expected_date_for(dt.date(2027, 1, 20)) is None


def test_a_copy_adds_an_agreement_and_keeps_the_original(
    login: Login,
    demo: Demo,
    session_factory: sessionmaker[Session],
    as_user: Callable[[str], dict[str, str]],
) -> None:
    anna = demo.participants["anna"]
    energy = _row_id(session_factory, anna, "energie")
    with transaction(session_factory) as session:
        before = latest_plan(session, anna)
    assert before is not None
    client = login("carla")
    path = f"/hulpverlener/deelnemer/{anna}/afspraak/{energy}"
    response = _propose(
        client, path, actie="kopie", bedrag="45,00", datum="2027-01-01", reden="Tweede meter."
    )
    assert response.status_code == 303  # type: ignore[attr-defined]
    _approve_as_anna(client, session_factory, anna, as_user)
    with transaction(session_factory) as session:
        after = latest_plan(session, anna)
    assert after is not None
    assert after.plan.fixed_cost("energie") == before.plan.fixed_cost("energie")
    copy = after.plan.fixed_cost("energie-2")
    assert copy is not None and copy.amount_cents == 4500
    assert copy.schedule.start_date == dt.date(2027, 1, 1)  # type: ignore[union-attr]
    assert after.plan.monthly_fixed_costs_cents == before.plan.monthly_fixed_costs_cents + 4500


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"actie": "einde", "datum": "2026-01-01", "reden": "x"},
            "De datum ligt in het verleden",
        ),
        (
            {"actie": "vervolg", "bedrag": "-5,00", "datum": "2027-03-01", "reden": "x"},
            "Vul een bedrag in dat hoger is dan € 0,00",
        ),
        (
            {"actie": "vervolg", "bedrag": "0", "datum": "2027-03-01", "reden": "x"},
            "Vul een bedrag in dat hoger is dan € 0,00",
        ),
        (
            {"actie": "kopie", "bedrag": "10,00", "datum": "morgen", "reden": "x"},
            "Vul een datum in",
        ),
        ({"actie": "einde", "datum": "2027-01-31", "reden": " "}, "Schrijf kort waarom"),
        ({"actie": "weg", "datum": "2027-01-31", "reden": "x"}, "Kies wat u wilt doen"),
    ],
)
def test_wrong_input_is_refused_with_a_message_and_nothing_is_stored(
    login: Login,
    demo: Demo,
    session_factory: sessionmaker[Session],
    fields: dict[str, str],
    message: str,
) -> None:
    anna = demo.participants["anna"]
    rent = _row_id(session_factory, anna, "huur")
    client = login("carla")
    before = _counts(session_factory, anna)
    response = _propose(client, f"/hulpverlener/deelnemer/{anna}/afspraak/{rent}", **fields)
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert message in response.text  # type: ignore[attr-defined]
    assert _counts(session_factory, anna) == before


def test_an_end_before_the_start_is_refused_by_the_rules_too(
    demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    """The check the page cannot do alone (an API proposal): the rules refuse it."""
    from backend.codecision.changes import AgreementEndChange
    from backend.errors import InvalidInput
    from backend.plans.agreement_changes import check_agreement_change

    anna = demo.participants["anna"]
    rent = _row_id(session_factory, anna, "huur")
    with (
        transaction(session_factory) as session,
        pytest.raises(InvalidInput, match="before its start date"),
    ):
        check_agreement_change(
            session,
            anna,
            AgreementEndChange(agreement_id=rent, end_date=dt.date(2000, 1, 1)),
            today=dt.date(1999, 1, 1),
        )


def test_an_unknown_or_someone_elses_agreement_is_refused(
    login: Login,
    demo: Demo,
    session_factory: sessionmaker[Session],
    as_user: Callable[[str], dict[str, str]],
) -> None:
    anna, bram = demo.participants["anna"], demo.participants["bram"]
    bram_rent = _row_id(session_factory, bram, "huur")
    client = login("carla")
    before = _counts(session_factory, anna)
    assert client.get(f"/hulpverlener/deelnemer/{anna}/afspraak/{bram_rent}").status_code == 404
    assert client.get(f"/hulpverlener/deelnemer/{anna}/afspraak/999999").status_code == 404
    # Through the API too: an agreement of another participant is not this plan's.
    response = client.post(
        f"/api/participants/{anna}/proposals",
        json={
            "change": {
                "kind": "agreement_end",
                "agreement_id": bram_rent,
                "end_date": "2027-01-31",
            },
            "reason": "Test.",
        },
        headers=as_user("anna"),
    )
    assert response.status_code == 422, response.text
    assert "is not an agreement of this participant's plan" in response.text
    assert _counts(session_factory, anna) == before


@pytest.mark.parametrize("day", ["2126-03-01", "9999-12-31"])
@pytest.mark.parametrize("action", ["einde", "vervolg", "kopie"])
def test_a_date_too_far_ahead_is_refused_on_the_page_and_in_the_api(
    login: Login,
    demo: Demo,
    session_factory: sessionmaker[Session],
    as_user: Callable[[str], dict[str, str]],
    day: str,
    action: str,
) -> None:
    """A typo in the year would end or change the agreement a century from now."""
    anna = demo.participants["anna"]
    rent = _row_id(session_factory, anna, "huur")
    client = login("carla")
    before = _counts(session_factory, anna)
    fields = {"actie": action, "datum": day, "reden": "Typfout in het jaar."}
    if action != "einde":
        fields["bedrag"] = "700,00"
    response = _propose(client, f"/hulpverlener/deelnemer/{anna}/afspraak/{rent}", **fields)
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "De datum ligt te ver vooruit" in response.text  # type: ignore[attr-defined]
    kind, date_field = {
        "einde": ("agreement_end", "end_date"),
        "vervolg": ("agreement_follow_up", "from_date"),
        "kopie": ("agreement_copy", "from_date"),
    }[action]
    change: dict[str, object] = {"kind": kind, "agreement_id": rent, date_field: day}
    if action != "einde":
        change["amount_cents"] = 70_000
    api = client.post(
        f"/api/participants/{anna}/proposals",
        json={"change": change, "reason": "Typfout in het jaar."},
        headers=as_user("carla"),
    )
    assert api.status_code == 422, api.text
    assert "is too far ahead" in api.text
    assert _counts(session_factory, anna) == before


@pytest.mark.parametrize("action", ["einde", "vervolg", "kopie"])
def test_a_date_in_the_past_is_refused_in_the_api_too(
    login: Login,
    demo: Demo,
    session_factory: sessionmaker[Session],
    as_user: Callable[[str], dict[str, str]],
    action: str,
) -> None:
    """The page refused past dates, the API did not: a due date already executed cannot
    be paid again at the new amount, so a change must start today or later."""
    anna = demo.participants["anna"]
    rent = _row_id(session_factory, anna, "huur")
    client = login("carla")
    before = _counts(session_factory, anna)
    kind, date_field = {
        "einde": ("agreement_end", "end_date"),
        "vervolg": ("agreement_follow_up", "from_date"),
        "kopie": ("agreement_copy", "from_date"),
    }[action]
    change: dict[str, object] = {"kind": kind, "agreement_id": rent, date_field: "2020-01-01"}
    if action != "einde":
        change["amount_cents"] = 70_000
    api = client.post(
        f"/api/participants/{anna}/proposals",
        json={"change": change, "reason": "Datum in het verleden."},
        headers=as_user("carla"),
    )
    assert api.status_code == 422, api.text
    assert "is in the past" in api.text
    assert _counts(session_factory, anna) == before
