"""Onboarding loose ends (SQLite and PostgreSQL): the household composition is stored
and is the insight page's default household type (the participant can change it);
the caseworker issues a new activation code (the old one stops working) while the
participant has not activated; and proposes the first plan again after it expired
or was rejected — through the Deelnemer page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.access.policy import Principal
from backend.codecision import service as proposals
from backend.config import Settings
from backend.db import transaction
from backend.errors import Conflict
from backend.models import Household, PlanVersionRecord, Proposal, UserAccount
from backend.onboarding.service import (
    ActivationFailed,
    activate_account,
    earlier_initial_plan,
    issue_activation_code,
    repropose_initial_plan,
)
from backend.zelfregie import insight
from rules.insight import HouseholdType, household_type_for
from tests.access.conftest import (  # noqa: F401  (fixtures)
    SEED_TODAY,
    Demo,
    as_user,
    client,
    token_for,
)
from tests.client_app.conftest import csrf_from, login, pages  # noqa: F401  (fixtures)
from tests.onboarding.test_service import NOW, carla, form, submit

Login = Callable[..., TestClient]


def _principal(session: Session, username: str) -> Principal:
    account = session.scalar(select(UserAccount).where(UserAccount.username == username))
    assert account is not None
    return Principal.from_account(account)


def test_household_type_for_composition() -> None:
    assert household_type_for(1, 0) is HouseholdType.SINGLE
    assert household_type_for(1, 1) is HouseholdType.SINGLE_PARENT_1
    assert household_type_for(1, 4) is HouseholdType.SINGLE_PARENT_2  # the nearest
    assert household_type_for(2, 0) is HouseholdType.COUPLE
    assert household_type_for(2, 2) is HouseholdType.COUPLE_2
    assert household_type_for(3, 0) is None  # no reference: the participant chooses
    assert household_type_for(None, None) is None


def test_composition_is_stored_and_is_the_default_household_type(
    demo: Demo, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    household = {"household_name": "Huishouden Kok", "adults": "2", "children": "1"}
    result = submit(session_factory, settings, form(household=household))
    with transaction(session_factory, write=True) as session:
        stored = session.get(Household, result.household_id)
        assert stored is not None and (stored.adults, stored.children) == (2, 1)
        # Not chosen by daan: the default from what the caseworker noted.
        assert insight.household_type_and_source(session, result.participant_id) == (
            HouseholdType.COUPLE_1,
            True,
        )
        daan = _principal(session, "daan")
        # "Rather not say" is a choice too: the default does not come back.
        insight.set_household_type(session, daan, result.participant_id, None)
        assert insight.household_type_and_source(session, result.participant_id) == (None, False)
        insight.set_household_type(session, daan, result.participant_id, HouseholdType.SINGLE)
        assert insight.household_type_and_source(session, result.participant_id) == (
            HouseholdType.SINGLE,
            False,
        )
        # The demo households were made before the composition was asked: no default.
        anna = demo.participants["anna"]
        assert insight.household_type_and_source(session, anna) == (None, False)


def test_the_insight_page_shows_the_default_from_onboarding(
    login: Login,  # noqa: F811
    demo: Demo,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    result = submit(
        session_factory,
        settings,
        form(household={"household_name": "Kok", "adults": "1", "children": "2"}),
    )
    with transaction(session_factory, write=True) as session:
        activate_account(
            session, username="daan", code=result.activation_code, new_password="x" * 12, now=NOW
        )
    daan = login("daan", "x" * 12)
    page = daan.get(f"/deelnemer/{result.participant_id}/inzicht")
    assert page.status_code == 200, page.text
    assert 'data-testid="household-default"' in page.text
    assert '<option value="single_parent_2" selected>' in page.text


def test_a_new_activation_code_from_the_deelnemer_page(
    login: Login,  # noqa: F811
    demo: Demo,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    result = submit(session_factory, settings, form())
    participant_page = f"/hulpverlener/deelnemer/{result.participant_id}"
    carla_client = login("carla")
    page = carla_client.get(participant_page)
    assert 'data-testid="new-activation-code"' in page.text
    issued = carla_client.post(
        f"{participant_page}/activatiecode", data={"csrf_token": csrf_from(page.text)}
    )
    assert issued.status_code == 200, issued.text
    assert issued.headers["cache-control"] == "no-store"
    new_code = issued.text.split('data-testid="activation-code">')[1].split("<")[0]
    assert new_code and new_code != result.activation_code
    with transaction(session_factory, write=True) as session, pytest.raises(ActivationFailed):
        activate_account(
            session, username="daan", code=result.activation_code, new_password="x" * 12, now=NOW
        )
    with transaction(session_factory, write=True) as session:
        activate_account(session, username="daan", code=new_code, new_password="x" * 12, now=NOW)
    # Activated: the button is gone and a new code is refused, the password unchanged.
    page = carla_client.get(participant_page)
    assert 'data-testid="new-activation-code"' not in page.text
    with transaction(session_factory) as session:
        password_before = session.scalar(
            select(UserAccount.password_hash).where(UserAccount.username == "daan")
        )
    refused = carla_client.post(
        f"{participant_page}/activatiecode", data={"csrf_token": csrf_from(page.text)}
    )
    assert refused.status_code == 409 and "al geactiveerd" in refused.text
    with transaction(session_factory) as session:
        assert (
            session.scalar(select(UserAccount.password_hash).where(UserAccount.username == "daan"))
            == password_before
        )
    # Another caseworker (not daan's): not found, nothing issued.
    with transaction(session_factory, write=True) as session, pytest.raises(Exception) as other:
        issue_activation_code(session, _principal(session, "chris"), result.participant_id, now=NOW)
    assert getattr(other.value, "status_code", None) == 404


def _only_proposal(session: Session, participant_id: int) -> list[Proposal]:
    return list(
        session.scalars(
            select(Proposal)
            .where(Proposal.participant_id == participant_id, Proposal.kind == "initial_plan")
            .order_by(Proposal.id)
        )
    )


@pytest.mark.parametrize("outcome", ["expired", "rejected"])
def test_the_first_plan_is_proposed_again(
    outcome: str,
    login: Login,  # noqa: F811
    demo: Demo,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    result = submit(session_factory, settings, form())
    pid = result.participant_id
    with transaction(session_factory, write=True) as session:
        # Still open: nothing to propose again.
        assert earlier_initial_plan(session, pid) is None
        with pytest.raises(Conflict):
            repropose_initial_plan(
                session,
                carla(session),
                pid,
                reason="Opnieuw",
                start=None,
                today=SEED_TODAY,
                now=NOW,
            )
    with transaction(session_factory, write=True) as session:
        (first,) = _only_proposal(session, pid)
        if outcome == "expired":
            first.expires_at = NOW - dt.timedelta(minutes=1)
            session.flush()
            proposals.expire_due(session, now=NOW, participant_id=pid)
        else:
            activate_account(
                session,
                username="daan",
                code=result.activation_code,
                new_password="x" * 12,
                now=NOW,
            )
            proposals.reject(
                session, _principal(session, "daan"), first, reason="De huur klopt niet", now=NOW
            )
        first_payload: dict[str, Any] = dict(first.payload)
    participant_page = f"/hulpverlener/deelnemer/{pid}"
    carla_client = login("carla")
    page = carla_client.get(participant_page)
    assert 'data-testid="first-plan-again"' in page.text
    start = SEED_TODAY + dt.timedelta(days=9)
    proposed = carla_client.post(
        f"{participant_page}/eerste-plan",
        data={
            "csrf_token": csrf_from(page.text),
            "reason": "Besproken: het plan klopt, graag goedkeuren.",
            "start": start.isoformat(),
        },
        follow_redirects=False,
    )
    assert proposed.status_code == 303, proposed.text
    assert "gedaan=initial_plan_proposed" in proposed.headers["location"]
    with transaction(session_factory) as session:
        earlier, again = _only_proposal(session, pid)
        assert (earlier.status, again.status) == (outcome, "proposed")
        assert again.effective_from == start and again.proposed_by == demo.users["carla"]
        # The same first plan, from the new start date.
        plan_before, plan_now = first_payload["plan"], dict(again.payload)["plan"]
        assert plan_now["effective_from"] == start.isoformat()
        assert {**plan_before, "effective_from": None} == {**plan_now, "effective_from": None}
        assert (
            session.scalar(
                select(func.count(PlanVersionRecord.id)).where(
                    PlanVersionRecord.participant_id == pid
                )
            )
            == 0
        )
    # A second "Nieuw voorstel" while this one is open: refused, nothing added.
    page = carla_client.get(participant_page)
    assert 'data-testid="first-plan-again"' not in page.text
    refused = carla_client.post(
        f"{participant_page}/eerste-plan",
        data={"csrf_token": csrf_from(page.text), "reason": "Nog eens"},
        follow_redirects=False,
    )
    assert refused.status_code == 409
    with transaction(session_factory) as session:
        assert len(_only_proposal(session, pid)) == 2
