"""Co-decision: a plan change takes effect only when the other party agrees,
except the caseworker's emergency path, which the participant sees with its reason."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from backend.access.policy import Principal
from backend.codecision import (
    ChangeKind,
    apply_pending,
    parse_change,
    pending_application,
    register_applier,
    service,
    unregister_applier,
)
from backend.codecision.changes import LivingMoneyScheduleChange
from backend.db import transaction
from backend.models import Agreement, Counterparty, Proposal, UserAccount
from tests.access.conftest import Demo, assert_problem

Headers = Callable[[str], dict[str, str]]


class FakePlans:
    """Stands in for the plan integration: records which proposals became plan versions."""

    def __init__(self) -> None:
        self.applied: list[tuple[int, str, dict[str, Any], dt.date]] = []
        self.failing = False

    def __call__(self, session: Session, proposal: Proposal, *, now: dt.datetime) -> str:
        if self.failing:
            raise RuntimeError("the plan store is down")
        self.applied.append(
            (proposal.id, proposal.kind, dict(proposal.payload), proposal.effective_from)
        )
        return f"plan_version:{len(self.applied)}"


@pytest.fixture
def plans() -> Iterator[FakePlans]:
    fake = FakePlans()
    for kind in ChangeKind:
        register_applier(kind, fake)
    yield fake
    for kind in ChangeKind:
        unregister_applier(kind)


WEEKLY = {"kind": "living_money_schedule", "frequency": "weekly", "weekday": 0}


def propose(
    client: TestClient, demo: Demo, headers: dict[str, str], change: dict[str, Any], **extra: Any
) -> Any:
    return client.post(
        f"/api/participants/{demo.participants['anna']}/proposals",
        json={"change": change, "reason": "Zo kan ik beter plannen.", **extra},
        headers=headers,
    )


def decide(
    client: TestClient, proposal_id: int, action: str, headers: dict[str, str], **body: Any
) -> Any:
    return client.post(f"/api/proposals/{proposal_id}/{action}", json=body, headers=headers)


def test_anna_proposes_weekly_living_money_and_carla_approves(
    client: TestClient, demo: Demo, as_user: Headers, plans: FakePlans
) -> None:
    created = propose(client, demo, as_user("anna"), WEEKLY)
    assert created.status_code == 201, created.text
    proposal = created.json()
    assert proposal["status"] == "proposed"
    assert proposal["needs_decision_from"] == ["caseworker"]
    assert proposal["actions"] == ["withdraw"]
    assert proposal["proposed_by"]["party"] == "participant"
    assert plans.applied == []  # nothing happens on proposing
    # carla sees it in her caseload and in anna's proposals, with buttons to decide
    caseload = client.get("/api/caseload", headers=as_user("carla")).json()
    assert caseload[0]["open_proposals"] == 1
    seen = client.get(f"/api/proposals/{proposal['id']}", headers=as_user("carla")).json()
    assert seen["actions"] == ["approve", "reject"]
    approved = decide(client, proposal["id"], "approve", as_user("carla"), reason="Goed idee.")
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["status"] == "approved"
    assert body["decided_by"]["display_name"].startswith("Carla")
    assert body["decided_by"]["party"] == "caseworker"
    assert body["applied_at"] is not None
    assert [step["action"] for step in body["history"]] == ["proposed", "approved", "applied"]
    # The plan integration got the typed change and the date it takes effect.
    [(applied_id, kind, payload, effective_from)] = plans.applied
    assert (applied_id, kind) == (proposal["id"], "living_money_schedule")
    assert parse_change(kind, payload) == LivingMoneyScheduleChange(frequency="weekly", weekday=0)
    assert effective_from.isoformat() == proposal["effective_from"]
    # anna sees the full history too
    mine = client.get(
        f"/api/participants/{demo.participants['anna']}/proposals", headers=as_user("anna")
    ).json()
    assert mine["total"] == 1
    assert mine["items"][0]["history"] == body["history"]


def test_a_proposer_can_never_approve_their_own(
    client: TestClient, demo: Demo, as_user: Headers, plans: FakePlans
) -> None:
    by_anna = propose(client, demo, as_user("anna"), WEEKLY).json()
    assert_problem(decide(client, by_anna["id"], "approve", as_user("anna")), 403)
    assert_problem(decide(client, by_anna["id"], "reject", as_user("anna"), reason="nee"), 403)
    by_carla = propose(
        client, demo, as_user("carla"), {"kind": "extra_payout", "amount_cents": 5000}
    ).json()
    assert_problem(decide(client, by_carla["id"], "approve", as_user("carla")), 403)
    # Out of scope: as if the proposal did not exist.
    for outsider in ("bram", "chris", "fenna", "admin"):
        assert_problem(decide(client, by_carla["id"], "approve", as_user(outsider)), 404)
    assert plans.applied == []


def test_carlas_proposal_never_takes_effect_without_anna(
    client: TestClient,
    demo: Demo,
    as_user: Headers,
    plans: FakePlans,
    session_factory: sessionmaker[Session],
) -> None:
    proposal = propose(
        client,
        demo,
        as_user("carla"),
        {"kind": "living_money_amount", "amount_cents_per_month": 30000},
    ).json()
    assert proposal["needs_decision_from"] == ["participant"]
    assert_problem(decide(client, proposal["id"], "approve", as_user("carla")), 403)
    assert_problem(decide(client, proposal["id"], "reject", as_user("carla"), reason="x"), 403)
    # Nobody decides in time: it expires, and is never applied.
    with transaction(session_factory) as session:
        session.execute(
            update(Proposal)
            .where(Proposal.id == proposal["id"])
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
        )
    listed = client.get(
        f"/api/participants/{demo.participants['anna']}/proposals", headers=as_user("anna")
    ).json()["items"]
    assert listed[0]["status"] == "expired"
    assert listed[0]["actions"] == []
    assert [step["action"] for step in listed[0]["history"]] == ["proposed", "expired"]
    assert listed[0]["history"][-1]["by"] is None
    assert_problem(decide(client, proposal["id"], "approve", as_user("anna")), 409)
    with transaction(session_factory) as session:
        assert pending_application(session) == []
        assert apply_pending(session, now=dt.datetime.now(dt.UTC)) == 0
    assert plans.applied == []


def test_expiry_is_noticed_when_acting_too(
    client: TestClient,
    demo: Demo,
    as_user: Headers,
    session_factory: sessionmaker[Session],
) -> None:
    proposal = propose(client, demo, as_user("anna"), WEEKLY).json()
    with transaction(session_factory) as session:
        session.execute(
            update(Proposal)
            .where(Proposal.id == proposal["id"])
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    problem = assert_problem(decide(client, proposal["id"], "approve", as_user("carla")), 409)
    assert "expired" in str(problem["detail"])


def test_emergency_path_applies_alone_and_anna_sees_the_reason(
    client: TestClient, demo: Demo, as_user: Headers, plans: FakePlans
) -> None:
    reason = "Anna belde: geen geld voor eten deze week. Extra € 75 vandaag."
    created = propose(
        client,
        demo,
        as_user("carla"),
        {"kind": "extra_payout", "amount_cents": 7500},
        emergency=True,
        reason=reason,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "emergency_applied"
    assert body["emergency"] is True
    assert body["applied_at"] is not None
    assert len(plans.applied) == 1
    annas_view = client.get(
        f"/api/participants/{demo.participants['anna']}/proposals", headers=as_user("anna")
    ).json()["items"][0]
    assert annas_view["emergency"] is True
    assert annas_view["reason"] == reason
    assert annas_view["decision_reason"] == reason
    assert annas_view["proposed_by"]["party"] == "caseworker"
    assert [step["action"] for step in annas_view["history"]] == [
        "proposed",
        "emergency_applied",
        "applied",
    ]
    assert annas_view["history"][1]["reason"] == reason


def test_emergency_path_limits(client: TestClient, demo: Demo, as_user: Headers) -> None:
    long_reason = "Dringend: de energieleverancier sluit morgen af."
    # Only the caseworker...
    assert_problem(
        propose(
            client,
            demo,
            as_user("anna"),
            {"kind": "extra_payout", "amount_cents": 5000},
            emergency=True,
            reason=long_reason,
        ),
        403,
    )
    # ...only for kinds the matrix allows...
    assert_problem(
        propose(client, demo, as_user("carla"), WEEKLY, emergency=True, reason=long_reason), 403
    )
    # ...with a real reason...
    assert_problem(
        propose(
            client,
            demo,
            as_user("carla"),
            {"kind": "extra_payout", "amount_cents": 5000},
            emergency=True,
            reason="nood",
        ),
        422,
    )
    # ...and a capped amount.
    assert_problem(
        propose(
            client,
            demo,
            as_user("carla"),
            {"kind": "extra_payout", "amount_cents": 50_000},
            emergency=True,
            reason=long_reason,
        ),
        422,
    )


def test_withdraw(client: TestClient, demo: Demo, as_user: Headers, plans: FakePlans) -> None:
    proposal = propose(client, demo, as_user("anna"), WEEKLY).json()
    assert_problem(decide(client, proposal["id"], "withdraw", as_user("carla")), 403)
    withdrawn = decide(client, proposal["id"], "withdraw", as_user("anna"), reason="Toch niet.")
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"
    assert_problem(decide(client, proposal["id"], "approve", as_user("carla")), 409)
    assert plans.applied == []


def test_reject_needs_a_reason_that_anna_sees(
    client: TestClient, demo: Demo, as_user: Headers, plans: FakePlans
) -> None:
    proposal = propose(client, demo, as_user("anna"), WEEKLY).json()
    assert_problem(decide(client, proposal["id"], "reject", as_user("carla")), 422)
    assert_problem(decide(client, proposal["id"], "reject", as_user("carla"), reason="   "), 422)
    rejected = decide(
        client,
        proposal["id"],
        "reject",
        as_user("carla"),
        reason="Je huur wordt op de 1e betaald; wekelijks past nu niet.",
    )
    assert rejected.status_code == 200
    seen = client.get(f"/api/proposals/{proposal['id']}", headers=as_user("anna")).json()
    assert seen["status"] == "rejected"
    assert seen["decision_reason"].startswith("Je huur")
    assert plans.applied == []


def test_one_open_living_money_proposal_at_a_time(
    client: TestClient, demo: Demo, as_user: Headers
) -> None:
    change = {"kind": "living_money_amount", "amount_cents_per_month": 40000}
    assert propose(client, demo, as_user("anna"), change).status_code == 201
    assert_problem(propose(client, demo, as_user("carla"), change), 409)


def test_creditor_iban_correction_is_checked_by_finance(
    client: TestClient,
    demo: Demo,
    as_user: Headers,
    plans: FakePlans,
    session_factory: sessionmaker[Session],
) -> None:
    anna = demo.participants["anna"]
    # Eneco's IBAN changed, says the new invoice.
    with transaction(session_factory) as session:
        eneco = session.scalar(
            select(Counterparty.id)
            .join(Agreement, Agreement.counterparty_id == Counterparty.id)
            .where(Agreement.participant_id == anna, Counterparty.name == "Eneco")
        )
    change = {
        "kind": "creditor_iban_correction",
        "counterparty_id": eneco,
        "iban": "NL02 ABNA 0123 4567 89",
        "evidence": "factuur Eneco november",
    }
    assert_problem(propose(client, demo, as_user("anna"), change), 403)
    proposal = propose(client, demo, as_user("carla"), change).json()
    assert proposal["change"]["iban"] == "NL02ABNA0123456789"
    assert proposal["needs_decision_from"] == ["finance"]
    assert_problem(decide(client, proposal["id"], "approve", as_user("anna")), 403)
    queue = client.get("/api/proposals/pending-checks", headers=as_user("fenna")).json()
    assert [item["id"] for item in queue] == [proposal["id"]]
    assert_problem(client.get("/api/proposals/pending-checks", headers=as_user("carla")), 403)
    approved = decide(client, proposal["id"], "approve", as_user("frank"))
    assert approved.status_code == 200, approved.text
    assert approved.json()["decided_by"]["party"] == "finance"
    assert len(plans.applied) == 1


def test_invalid_changes_are_422(client: TestClient, demo: Demo, as_user: Headers) -> None:
    headers = as_user("anna")
    for change in (
        {"kind": "living_money_schedule", "frequency": "weekly"},  # no weekday
        {"kind": "living_money_amount", "amount_cents_per_month": -5},
        {"kind": "fixed_cost_remove", "agreement_id": 999_999},  # not anna's
        {"kind": "no_such_kind"},
        {
            "kind": "fixed_cost_add",
            "creditor_name": "X",
            "creditor_iban": "NL00 BANK 0000 0000 00",
            "description": "x",
            "amount_cents": 100,
            "day_of_month": 1,
        },
    ):
        assert_problem(propose(client, demo, headers, change), 422)
    yesterday = (dt.date.today() - dt.timedelta(days=2)).isoformat()
    assert_problem(propose(client, demo, headers, WEEKLY, effective_from=yesterday), 422)


def test_a_failing_applier_keeps_the_decision_and_is_retried(
    client: TestClient,
    demo: Demo,
    as_user: Headers,
    plans: FakePlans,
    session_factory: sessionmaker[Session],
    caplog: pytest.LogCaptureFixture,
) -> None:
    plans.failing = True
    proposal = propose(client, demo, as_user("anna"), WEEKLY).json()
    approved = decide(client, proposal["id"], "approve", as_user("carla")).json()
    assert approved["status"] == "approved"
    assert approved["applied_at"] is None
    assert "could not be applied yet" in caplog.text
    plans.failing = False
    with transaction(session_factory) as session:
        assert [p.id for p in pending_application(session)] == [proposal["id"]]
        assert apply_pending(session, now=dt.datetime.now(dt.UTC)) == 1
        assert pending_application(session) == []
    assert len(plans.applied) == 1


def test_proposal_history_is_append_only(
    client: TestClient, demo: Demo, as_user: Headers, session_factory: sessionmaker[Session]
) -> None:
    propose(client, demo, as_user("anna"), WEEKLY)
    for statement in ("UPDATE proposal_event SET reason = 'changed'", "DELETE FROM proposal_event"):
        with (
            pytest.raises(DBAPIError, match="append-only"),
            transaction(session_factory) as session,
        ):
            session.execute(text(statement))


def test_approval_after_the_date_moves_the_date_to_today(
    demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    monday = dt.date(2026, 11, 30)
    now = dt.datetime(2026, 11, 29, 12, tzinfo=dt.UTC)
    with transaction(session_factory) as session:
        anna = Principal.from_account(session.get_one(UserAccount, demo.users["anna"]))
        carla = Principal.from_account(session.get_one(UserAccount, demo.users["carla"]))
        proposal = service.create_proposal(
            session,
            anna,
            demo.participants["anna"],
            change=LivingMoneyScheduleChange(frequency="weekly", weekday=0),
            reason="Wekelijks graag.",
            effective_from=monday,
            emergency=False,
            today=monday - dt.timedelta(days=1),
            now=now,
            expiry_days=14,
        )
        service.approve(
            session,
            carla,
            proposal,
            reason=None,
            today=monday + dt.timedelta(days=3),
            now=now + dt.timedelta(days=4),
        )
        assert proposal.status == "approved"
        assert proposal.effective_from == monday + dt.timedelta(days=3)
