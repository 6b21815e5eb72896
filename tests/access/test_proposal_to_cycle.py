"""The co-decision flow end to end with the real plan store and the daily cycle:
anna proposes Friday living money, carla approves, the next cycles pay on Fridays."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.cycle.service import run_daily_cycle
from backend.models import JournalEntryRecord, LedgerAccount, PostingRecord
from backend.plans.service import current_plan
from tests.access.conftest import SEED_TODAY, Demo
from tests.access.test_proposals import Headers

FRIDAY = 4
EFFECTIVE_FROM = dt.date(2026, 11, 30)  # the Monday after the demo's "today"


def _living_money_dates(
    session_factory: sessionmaker[Session], participant_id: int, after: dt.date
) -> list[dt.date]:
    with session_factory() as session:
        rows = session.scalars(
            select(JournalEntryRecord.booking_date)
            .join(PostingRecord, PostingRecord.journal_entry_id == JournalEntryRecord.id)
            .join(LedgerAccount, LedgerAccount.id == PostingRecord.account_id)
            .where(
                LedgerAccount.participant_id == participant_id,
                JournalEntryRecord.reason_code == "living_money.pay",
                JournalEntryRecord.booking_date > after,
            )
            .distinct()
        )
        return sorted(rows)


def test_approved_proposal_changes_what_the_next_cycles_pay(
    client: TestClient,
    demo: Demo,
    as_user: Headers,
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The demo world lives on 28 November 2026; so does the API for this test.
    monkeypatch.setattr("backend.api.participants.today_amsterdam", lambda: SEED_TODAY)
    monkeypatch.setattr("backend.api.proposals.today_amsterdam", lambda: SEED_TODAY)
    anna = demo.participants["anna"]
    with session_factory() as session:
        before = current_plan(session, anna, EFFECTIVE_FROM)
        assert before is not None
        assert before.plan.living_money.schedule.weekday != FRIDAY  # type: ignore[union-attr]

    created = client.post(
        f"/api/participants/{anna}/proposals",
        json={
            "change": {"kind": "living_money_schedule", "frequency": "weekly", "weekday": FRIDAY},
            "reason": "Op vrijdag doe ik de boodschappen voor het weekend.",
            "effective_from": EFFECTIVE_FROM.isoformat(),
        },
        headers=as_user("anna"),
    )
    assert created.status_code == 201, created.text
    # Nothing changes until carla agrees.
    with session_factory() as session:
        unchanged = current_plan(session, anna, EFFECTIVE_FROM)
        assert unchanged is not None and unchanged.version == before.version
    approved = client.post(
        f"/api/proposals/{created.json()['id']}/approve",
        json={"reason": "Goed plan."},
        headers=as_user("carla"),
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["applied_at"] is not None
    with session_factory() as session:
        after = current_plan(session, anna, EFFECTIVE_FROM)
        assert after is not None and after.version == before.version + 1
        assert after.plan.living_money.schedule.weekday == FRIDAY  # type: ignore[union-attr]

    day = SEED_TODAY + dt.timedelta(days=1)
    while day <= dt.date(2026, 12, 12):
        summary = run_daily_cycle(session_factory, today=day)
        assert summary.failed_participants == []
        day += dt.timedelta(days=1)
    paid_on = _living_money_dates(session_factory, anna, after=SEED_TODAY)
    assert paid_on, "living money is still paid after the change"
    assert {date.weekday() for date in paid_on} == {FRIDAY}, paid_on
    assert paid_on == [dt.date(2026, 12, 4), dt.date(2026, 12, 11)]
