"""One-off payouts never pay twice or get lost: one payout per emergency request (service,
API and page), old decided-but-unapplied payouts are not paid by the engine after the
deploy (migration 0017_legacy_extra_payouts), and an unpaid payout is never dropped from
the plan. SQLite and PostgreSQL (HUISHOUDBOEKJE_TEST_POSTGRES_URL)."""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from backend.codecision import apply_pending
from backend.codecision import service as proposals
from backend.codecision.changes import ExtraPayoutChange
from backend.db import transaction
from backend.errors import Conflict, InvalidInput
from backend.models import EmergencyRequest, PlanVersionRecord, Proposal, ProposalEvent
from backend.models.base import utcnow
from backend.plans import one_off
from backend.plans.appliers import register_plan_appliers
from backend.plans.legacy_payouts import LEGACY_REFERENCE, mark_legacy_extra_payouts
from backend.plans.service import latest_plan
from rules import OneOffPayout, Plan
from rules.plan import ONE_OFF_PAYOUTS_MAX
from tests.access.conftest import Demo
from tests.client_app.conftest import csrf_from
from tests.one_off.test_one_off_payout import (
    EXPIRY_DAYS,
    REASON,
    World,
    _count,
    _one_off_instructions,
)

Login = Callable[[str], TestClient]


@pytest.fixture
def world(demo: Demo, session_factory: sessionmaker[Session]) -> World:
    register_plan_appliers()
    return World(session_factory, demo)


Headers = Callable[[str], dict[str, str]]


def _pay_for(world: World, session: Session, request_id: int, cents: int = 5_000) -> Proposal:
    return proposals.create_proposal(
        session,
        world.principal(session, world.carla_user),
        world.anna,
        change=ExtraPayoutChange(amount_cents=cents, emergency_request_id=request_id),
        reason=REASON,
        effective_from=None,
        emergency=True,
        today=world.day,
        now=utcnow(),
        expiry_days=EXPIRY_DAYS,
    )


# ------------------------------------------------------- 1. one payout per emergency request


def test_one_emergency_request_gives_one_payout_however_often_it_is_sent(world: World) -> None:
    with transaction(world.factory) as session:
        button = world.press_button(session)
    with transaction(world.factory) as session:
        first = _pay_for(world, session, button.id)
        stored = latest_plan(session, world.anna)
        assert stored is not None
        # The payout id comes from the request: the engine's key pays it at most once.
        assert [p.payout_id for p in stored.plan.one_off_payouts] == [f"emergency-{button.id}"]
    with world.factory() as session:
        proposals_before = _count(session, Proposal)
        versions_before = _count(session, PlanVersionRecord)
    # Sent again (double click, re-sent form): refused, nothing stored.
    with (
        transaction(world.factory) as session,
        pytest.raises(Conflict, match="already handled") as refused,
    ):
        _pay_for(world, session, button.id, cents=7_000)
    assert refused.value.extra["already_handled"] is True
    with world.factory() as session:
        assert _count(session, Proposal) == proposals_before
        assert _count(session, PlanVersionRecord) == versions_before
        assert session.get_one(EmergencyRequest, button.id).acknowledged_by == world.carla_user
    world.cycle()
    world.cycle()
    with world.factory() as session:
        (instruction,) = _one_off_instructions(session, world.anna)
        assert instruction.amount_cents == 5_000
        assert session.get_one(Proposal, first.id).applied_at is not None


def test_a_request_already_seen_gets_no_payout(world: World) -> None:
    with transaction(world.factory) as session:
        button = world.press_button(session)
        session.get_one(EmergencyRequest, button.id).acknowledged_at = utcnow()
        session.get_one(EmergencyRequest, button.id).acknowledged_by = world.carla_user
    with world.factory() as session:
        proposals_before = _count(session, Proposal)
    with transaction(world.factory) as session, pytest.raises(Conflict, match="already handled"):
        _pay_for(world, session, button.id)
    with world.factory() as session:
        assert _count(session, Proposal) == proposals_before


def test_the_api_refuses_a_second_payout_for_the_same_request(
    world: World, client: TestClient, as_user: Headers
) -> None:
    with transaction(world.factory) as session:
        button = world.press_button(session)
    url = f"/api/participants/{world.anna}/proposals"
    body = {
        "change": {
            "kind": "extra_payout",
            "amount_cents": 5_000,
            "emergency_request_id": button.id,
        },
        "reason": REASON,
        "emergency": True,
    }
    assert client.post(url, json=body, headers=as_user("carla")).status_code == 201
    again = client.post(url, json=body, headers=as_user("carla"))
    assert again.status_code == 409 and "already handled" in again.json()["detail"]
    with world.factory() as session:
        payouts = session.scalars(select(Proposal).where(Proposal.kind == "extra_payout")).all()
        assert len(payouts) == 1


def test_the_page_refuses_a_second_payout_in_plain_dutch(
    world: World, login: Login, session_factory: sessionmaker[Session]
) -> None:
    with transaction(world.factory) as session:
        button = world.press_button(session)
    carla = login("carla")
    url = f"/hulpverlener/deelnemer/{world.anna}/noodmelding/{button.id}/noodbetaling"

    def post() -> object:
        token = csrf_from(carla.get(f"/hulpverlener/deelnemer/{world.anna}").text)
        return carla.post(
            url,
            data={"csrf_token": token, "bedrag": "75,00", "reden": REASON},
            follow_redirects=False,
        )

    assert post().status_code == 303  # type: ignore[attr-defined]
    again = post()
    assert again.status_code == 409  # type: ignore[attr-defined]
    assert "Deze noodmelding is al afgehandeld" in again.text  # type: ignore[attr-defined]
    with session_factory() as session:
        (proposal,) = session.scalars(select(Proposal).where(Proposal.kind == "extra_payout"))
        assert proposal.payload["amount_cents"] == 7_500
    world.cycle()
    with session_factory() as session:
        assert [i.amount_cents for i in _one_off_instructions(session, world.anna)] == [7_500]


# ------------------------------------------- 2. payouts decided before the engine paid them


def _decided_unapplied(world: World, session: Session, status: str, kind: str) -> int:
    now = utcnow()
    proposal = Proposal(
        participant_id=world.anna,
        proposed_by=world.carla_user,
        proposer_party="caseworker",
        kind=kind,
        payload={"kind": kind, "amount_cents": 9_000}
        if kind == "extra_payout"
        else {"kind": kind, "amount_cents": 20_000},
        reason=REASON,
        status=status,
        emergency=status == "emergency_applied",
        effective_from=world.day,
        expires_at=now + dt.timedelta(days=EXPIRY_DAYS),
        created_at=now - dt.timedelta(days=200),
        decided_by=world.carla_user if status != "proposed" else None,
        decided_at=now - dt.timedelta(days=200) if status != "proposed" else None,
    )
    session.add(proposal)
    session.flush()
    return proposal.id


def test_old_decided_payouts_are_marked_and_never_paid_by_the_engine(
    world: World, engine: Engine
) -> None:
    with transaction(world.factory) as session:
        approved = _decided_unapplied(world, session, "approved", "extra_payout")
        alone = _decided_unapplied(world, session, "emergency_applied", "extra_payout")
        still_open = _decided_unapplied(world, session, "proposed", "extra_payout")
    with engine.begin() as connection:  # what the migration runs
        assert mark_legacy_extra_payouts(connection, utcnow()) == [approved, alone]
    with engine.begin() as connection:
        assert mark_legacy_extra_payouts(connection, utcnow()) == []  # idempotent
    with transaction(world.factory) as session:
        for proposal_id in (approved, alone):
            proposal = session.get_one(Proposal, proposal_id)
            assert proposal.applied_reference == LEGACY_REFERENCE
            assert proposal.applied_at is not None
            events = session.scalars(
                select(ProposalEvent.reason).where(
                    ProposalEvent.proposal_id == proposal_id, ProposalEvent.action == "applied"
                )
            ).all()
            assert len(events) == 1 and "not paid by the engine" in str(events[0])
        assert session.get_one(Proposal, still_open).applied_at is None
        versions_before = _count(session, PlanVersionRecord)
        # The first cycle after the deploy applies nothing of them...
        assert apply_pending(session, now=utcnow()) == 0
        assert _count(session, PlanVersionRecord) == versions_before
    world.cycle()
    world.cycle()
    with world.factory() as session:
        # ...and pays nothing.
        assert _one_off_instructions(session, world.anna) == []
        stored = latest_plan(session, world.anna)
        assert stored is not None and stored.plan.one_off_payouts == ()


def test_the_migration_calls_the_helper() -> None:
    migration = importlib.import_module("backend.migrations.versions.0017_legacy_extra_payouts")
    assert migration.revision == "0017_legacy_extra_payouts"
    assert migration.down_revision == "0001"
    assert migration.mark_legacy_extra_payouts is mark_legacy_extra_payouts


# ------------------------------------------------------ 3. an unpaid payout is never dropped


def _payout(number: int, pay_on: dt.date) -> OneOffPayout:
    return OneOffPayout(
        payout_id=f"proposal-{number}",
        amount_cents=1_000,
        pay_on=pay_on,
        reason=REASON,
        payee_name="A. de Vries",
        payee_iban="NL32INGB0007777777",
    )


def _plan_with(world: World, payouts: list[OneOffPayout]) -> Plan:
    with world.factory() as session:
        stored = latest_plan(session, world.anna)
    assert stored is not None
    return Plan.model_validate(
        {**stored.plan.model_dump(), "one_off_payouts": [p.model_dump() for p in payouts]}
    )


def test_a_full_list_of_unpaid_payouts_refuses_the_new_one(world: World) -> None:
    today = world.day
    waiting = [_payout(n, today + dt.timedelta(days=n)) for n in range(ONE_OFF_PAYOUTS_MAX)]
    base = _plan_with(world, waiting)
    with pytest.raises(InvalidInput, match="extra payouts waiting to be paid") as refused:
        one_off.plan_with_payout(base, _payout(99, today), today)
    assert refused.value.extra["payouts_waiting"] == ONE_OFF_PAYOUTS_MAX
    # Paid ones make room; every unpaid one stays.
    paid = frozenset({"proposal-0", "proposal-1"})
    plan = one_off.plan_with_payout(base, _payout(99, today), today, paid)
    ids = [p.payout_id for p in plan.one_off_payouts]
    assert ids == [f"proposal-{n}" for n in range(2, ONE_OFF_PAYOUTS_MAX)] + ["proposal-99"]


def test_only_paid_or_given_up_payouts_leave_the_plan(world: World) -> None:
    today = world.day
    given_up = _payout(1, today - dt.timedelta(days=one_off.KEEP_DAYS + 1))
    recent_unpaid = _payout(2, today - dt.timedelta(days=10))
    recent_paid = _payout(3, today - dt.timedelta(days=5))
    future = _payout(4, today + dt.timedelta(days=3))
    base = _plan_with(world, [given_up, recent_unpaid, recent_paid, future])
    plan = one_off.plan_with_payout(base, _payout(5, today), today, frozenset({"proposal-3"}))
    assert [p.payout_id for p in plan.one_off_payouts] == [
        "proposal-2",
        "proposal-4",
        "proposal-5",
    ]
    # Nineteen unpaid payouts and a new one: all twenty kept.
    nineteen = [_payout(n, today - dt.timedelta(days=n)) for n in range(10, 29)]
    plan = one_off.plan_with_payout(_plan_with(world, nineteen), _payout(99, today), today)
    assert len(plan.one_off_payouts) == ONE_OFF_PAYOUTS_MAX
