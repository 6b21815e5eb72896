"""Plan versions: stored immutably, numbered without gaps, effective from a date, with
the projections the bank import (income expectations) and co-decision (agreement
rows) read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from backend.codecision.applying import apply_decided, unregister_applier
from backend.codecision.changes import (
    BufferPolicyChange,
    CreditorIbanCorrectionChange,
    ExtraPayoutChange,
    FixedCostAddChange,
    FixedCostRemoveChange,
    LivingMoneyScheduleChange,
    PlanChange,
)
from backend.codecision.matrix import ChangeKind
from backend.db import transaction
from backend.demo.plans import anna_plan, bram_plan
from backend.errors import Conflict, IdempotencyConflict, InvalidInput, NotFound
from backend.models import Agreement, Counterparty, Proposal, UserAccount
from backend.plans import (
    apply_plan_change,
    current_plan,
    income_expectations_by_payer_iban,
    income_expectations_for_payers,
    latest_plan,
    plan_history,
    register_plan_appliers,
    store_plan_version,
)
from rules import Plan, WeeklySchedule, income_metadata
from tests.cycle.support import ANNA_IBAN, add_participants, municipality

START = dt.date(2026, 10, 16)
WERK_EN_INKOMEN = "NL71BNGH0285000111"


def _next(plan: Plan, effective_from: dt.date, **changes: object) -> Plan:
    body = {**plan.model_dump(), "version": plan.version + 1, "effective_from": effective_from}
    return Plan.model_validate({**body, **changes})


@pytest.fixture
def people(session_factory: sessionmaker[Session]) -> tuple[int, int]:
    with transaction(session_factory, write=True) as session:
        municipality(session)
        anna, bram = add_participants(session, 2)
    return anna, bram


def test_versions_are_numbered_dated_and_kept(session: Session, people: tuple[int, int]) -> None:
    anna, _ = people
    first = store_plan_version(
        session, anna_plan(anna, START, ANNA_IBAN), created_by="carla", source="onboarding"
    )
    assert (first.version, first.effective_from) == (1, START)
    with pytest.raises(Conflict, match="next plan version is 2"):
        store_plan_version(
            session, _next(first.plan, START, version=3), created_by="carla", source="skip"
        )
    with pytest.raises(InvalidInput, match="cannot take effect earlier"):
        store_plan_version(
            session, _next(first.plan, START - dt.timedelta(days=1)), created_by="c", source="early"
        )
    second = store_plan_version(
        session, _next(first.plan, dt.date(2026, 12, 1)), created_by="carla", source="proposal:7"
    )
    assert second.version == 2
    assert current_plan(session, anna, START - dt.timedelta(days=1)) is None
    assert current_plan(session, anna, dt.date(2026, 11, 30)).version == 1  # type: ignore[union-attr]
    assert current_plan(session, anna, dt.date(2026, 12, 1)).version == 2  # type: ignore[union-attr]
    assert latest_plan(session, anna).version == 2  # type: ignore[union-attr]
    assert [stored.version for stored in plan_history(session, anna)] == [1, 2]
    # The same source again: the stored version, not a new one; other content: refused.
    again = store_plan_version(
        session, _next(first.plan, dt.date(2026, 12, 1)), created_by="carla", source="proposal:7"
    )
    assert again.record_id == second.record_id
    with pytest.raises(IdempotencyConflict):
        store_plan_version(
            session,
            _next(first.plan, dt.date(2026, 12, 2)),
            created_by="carla",
            source="proposal:7",
        )
    with pytest.raises(NotFound):
        store_plan_version(
            session, anna_plan(999_999, START, ANNA_IBAN), created_by="carla", source="x"
        )


def test_a_stored_version_cannot_be_changed(
    session_factory: sessionmaker[Session], people: tuple[int, int]
) -> None:
    anna, _ = people
    with transaction(session_factory, write=True) as session:
        store_plan_version(
            session, anna_plan(anna, START, ANNA_IBAN), created_by="carla", source="onboarding"
        )
    for statement in (
        "UPDATE plan_version SET effective_from = '2020-01-01'",
        "DELETE FROM plan_version",
    ):
        with pytest.raises(DBAPIError, match="immutable"), transaction(session_factory) as session:
            session.execute(text(statement))


def test_ibans_and_references_are_checked_and_compacted(
    session: Session, people: tuple[int, int]
) -> None:
    anna, _ = people
    plan = anna_plan(anna, START, "NL32 INGB 0007 7777 77")
    stored = store_plan_version(session, plan, created_by="carla", source="onboarding")
    assert stored.plan.living_money is not None
    assert stored.plan.living_money.payee_iban == ANNA_IBAN
    body = plan.model_dump()
    body["version"] = 2
    body["fixed_costs"][0]["creditor_iban"] = "NL00BANK0000000000"
    with pytest.raises(InvalidInput, match=r"huur.*IBAN"):
        store_plan_version(session, Plan.model_validate(body), created_by="c", source="bad-iban")
    body = plan.model_dump()
    body["version"] = 2
    body["fixed_costs"][4]["reference"] = {"kind": "structured", "text": "1234567890123456"}
    with pytest.raises(InvalidInput, match="gemeentebelastingen"):
        store_plan_version(session, Plan.model_validate(body), created_by="c", source="bad-ref")


def test_income_expectations_for_the_import(session: Session, people: tuple[int, int]) -> None:
    anna, bram = people
    anna_v1 = store_plan_version(
        session, anna_plan(anna, START, ANNA_IBAN), created_by="c", source="onboarding"
    ).plan
    store_plan_version(
        session, bram_plan(bram, START, ANNA_IBAN), created_by="c", source="onboarding"
    )
    # From 1 December Anna's benefit is € 1.350,00.
    incomes = [income.model_dump() for income in anna_v1.incomes]
    incomes[0]["expected_amount_cents"] = 135_000
    store_plan_version(
        session, _next(anna_v1, dt.date(2026, 12, 1), incomes=incomes), created_by="c", source="p:1"
    )
    in_november = income_expectations_by_payer_iban(
        session, "nl71 bngh 0285 0001 11", on=dt.date(2026, 11, 25)
    )
    assert [(e.participant_id, e.agreement_id, e.expected_amount_cents) for e in in_november] == [
        (anna, "uitkering", 131_248),
        (bram, "uitkering", 108_920),
    ]
    [anna_benefit, _] = in_november
    assert anna_benefit.search_terms == ("Participatiewet",)
    assert anna_benefit.amount_matches(131_248 + 500) and not anna_benefit.amount_matches(
        131_248 + 501
    )
    # Paid two days late, it still belongs to the 25th (metadata for the income entry).
    assert anna_benefit.entry_metadata(dt.date(2026, 11, 27)) == income_metadata(
        "uitkering", dt.date(2026, 11, 25)
    )
    assert anna_benefit.entry_metadata(dt.date(2026, 11, 10)) is None
    in_december = income_expectations_by_payer_iban(
        session, WERK_EN_INKOMEN, on=dt.date(2026, 12, 25)
    )
    assert [(e.participant_id, e.plan_version, e.expected_amount_cents) for e in in_december] == [
        (anna, 2, 135_000),
        (bram, 1, 108_920),
    ]
    assert (
        income_expectations_by_payer_iban(session, WERK_EN_INKOMEN, on=START - dt.timedelta(1))
        == []
    )
    # A whole statement at once: every payer, every version in force in the period.
    bulk = income_expectations_for_payers(
        session,
        [WERK_EN_INKOMEN, "NL20INGB0001234567", "NL91ABNA0417164300"],
        start=dt.date(2026, 11, 28),
        end=dt.date(2026, 12, 3),
    )
    assert len(bulk[WERK_EN_INKOMEN]) == 3  # Anna's two versions and Bram's one
    assert [(e.agreement_id, e.plan_version) for e in bulk["NL20INGB0001234567"]] == [
        ("zorgtoeslag", 1),
        ("zorgtoeslag", 2),
        ("huurtoeslag", 1),
    ]
    assert bulk["NL91ABNA0417164300"] == []  # Eneco is paid, it does not pay
    assert [
        e.plan_version for e in bulk[WERK_EN_INKOMEN] if e.in_force_on(dt.date(2026, 12, 1))
    ] == [2, 1]


def test_agreements_are_projected_for_co_decision(
    session: Session, people: tuple[int, int]
) -> None:
    anna, _ = people
    plan = store_plan_version(
        session, anna_plan(anna, START, ANNA_IBAN), created_by="c", source="onboarding"
    ).plan
    rows = {
        row.plan_agreement_id: row
        for row in session.scalars(select(Agreement).where(Agreement.participant_id == anna))
    }
    assert set(rows) == {
        "uitkering",
        "zorgtoeslag",
        "huur",
        "energie",
        "water",
        "zorgverzekering",
        "gemeentebelastingen",
        "telefoon",
    }
    assert rows["huur"].direction == "fixed_cost" and rows["uitkering"].direction == "income"
    eneco = session.get_one(Counterparty, rows["energie"].counterparty_id)
    assert eneco.name == "Eneco"
    # Removing a fixed cost in a co-decision change ends its row; its id stays.
    stored = apply_plan_change(
        session,
        anna,
        FixedCostRemoveChange(agreement_id=rows["telefoon"].id),
        effective_from=dt.date(2026, 12, 1),
        created_by="carla",
        source="proposal:3",
    )
    assert stored.plan.fixed_cost("telefoon") is None
    session.refresh(rows["telefoon"])
    assert rows["telefoon"].end_date == dt.date(2026, 11, 30)
    # An id that was a fixed cost cannot come back as an income.
    body = stored.plan.model_dump()
    body["version"] = 3
    body["incomes"] = [{**body["incomes"][1], "agreement_id": "telefoon"}]
    with pytest.raises(InvalidInput, match="cannot become"):
        store_plan_version(session, Plan.model_validate(body), created_by="c", source="bad")
    assert plan.fixed_cost("telefoon") is not None
    assert latest_plan(session, anna).version == 2  # type: ignore[union-attr]


def test_co_decision_changes_become_versions(session: Session, people: tuple[int, int]) -> None:
    anna, _ = people
    store_plan_version(
        session, anna_plan(anna, START, ANNA_IBAN), created_by="c", source="onboarding"
    )
    day = dt.date(2026, 12, 1)

    def change(change: PlanChange, source: str) -> Plan:
        return apply_plan_change(
            session, anna, change, effective_from=day, created_by="carla", source=source
        ).plan

    plan = change(LivingMoneyScheduleChange(frequency="monthly", day_of_month=2), "p:1")
    assert plan.living_money is not None and plan.living_money.schedule.kind == "monthly"
    plan = change(LivingMoneyScheduleChange(frequency="weekly", weekday=4), "p:2")
    assert isinstance(plan.living_money.schedule, WeeklySchedule)  # type: ignore[union-attr]
    with pytest.raises(InvalidInput, match="every two weeks"):
        change(LivingMoneyScheduleChange(frequency="every_two_weeks", weekday=4), "p:3")
    plan = change(
        FixedCostAddChange(
            creditor_name="Gemeente Utrecht Schuldhulp",
            creditor_iban="NL81 RABO 0312 3456 78",
            description="Betalingsregeling Schuldhulp",
            amount_cents=2_500,
            day_of_month=10,
            priority=9,
        ),
        "p:4",
    )
    added = plan.fixed_cost("betalingsregeling-schuldhulp")
    assert added is not None and added.creditor_iban == "NL81RABO0312345678"
    assert int(added.priority_class) == 6
    plan = change(BufferPolicyChange(target_months=2, build_up_cents_per_month=4_000), "p:5")
    assert plan.buffer.monthly_build_up_cents == 4_000
    with pytest.raises(InvalidInput, match="3 months"):
        change(BufferPolicyChange(target_months=3, build_up_cents_per_month=4_000), "p:6")
    eneco = session.scalar(select(Counterparty.id).where(Counterparty.name == "Eneco"))
    assert eneco is not None
    plan = change(
        CreditorIbanCorrectionChange(
            counterparty_id=eneco, iban="NL94 RABO 0345 6789 12", evidence="factuur november"
        ),
        "p:7",
    )
    assert plan.fixed_cost("energie").creditor_iban == "NL94RABO0345678912"  # type: ignore[union-attr]
    with pytest.raises(InvalidInput, match="extra payout"):
        change(ExtraPayoutChange(amount_cents=5_000), "p:8")
    assert [stored.version for stored in plan_history(session, anna)] == [1, 2, 3, 4, 5, 6]
    # Applying the same proposal again makes no new version.
    assert (
        change(BufferPolicyChange(target_months=2, build_up_cents_per_month=4_000), "p:5")
        is not None
    )
    assert latest_plan(session, anna).version == 6  # type: ignore[union-attr]


@pytest.fixture
def real_appliers() -> Iterator[None]:
    register_plan_appliers()
    yield
    for kind in ChangeKind:
        unregister_applier(kind)


def test_an_approved_proposal_becomes_a_plan_version(
    session: Session, people: tuple[int, int], real_appliers: None
) -> None:
    anna, _ = people
    store_plan_version(
        session, anna_plan(anna, START, ANNA_IBAN), created_by="c", source="onboarding"
    )
    users = []
    for name in ("anna", "carla"):
        user = UserAccount(
            username=name,
            display_name=name,
            roles=["participant" if name == "anna" else "caseworker"],
            participant_id=anna if name == "anna" else None,
            active=True,
            failed_login_count=0,
        )
        session.add(user)
        users.append(user)
    session.flush()
    now = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
    proposal = Proposal(
        participant_id=anna,
        proposed_by=users[0].id,
        proposer_party="participant",
        kind="living_money_amount",
        payload={"amount_cents_per_month": 35_000},
        reason="Ik wil minder leefgeld en meer sparen.",
        status="approved",
        emergency=False,
        effective_from=dt.date(2026, 11, 23),
        expires_at=now + dt.timedelta(days=14),
        decided_by=users[1].id,
        decided_at=now,
    )
    session.add(proposal)
    session.flush()
    assert apply_decided(session, proposal, now=now)
    assert proposal.applied_reference == f"plan_version:{anna}:2"
    stored = current_plan(session, anna, dt.date(2026, 11, 23))
    assert stored is not None and stored.source == f"proposal:{proposal.id}"
    assert stored.plan.living_money_monthly_cents == 35_000
