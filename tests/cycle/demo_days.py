"""Anna's days after the demo seed, one at a time: the day's incomes arrive on a bank
statement (as the import books them), then the daily cycle runs for her. Scenario
tests (zelfregie steps, one-off payouts) build on this."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.access.policy import Principal
from backend.bank_import.demo import DemoCredit, demo_remittance, import_demo_statement
from backend.cycle.service import run_daily_cycle
from backend.db import transaction
from backend.demo.seed import MUNICIPAL_IBAN
from backend.models import CycleState, UserAccount
from backend.plans.service import latest_plan
from rules import occurrences
from tests.access.conftest import Demo


class AnnasDays:
    """The demo's anna from the day her cycle last ran, for up to `horizon_days`."""

    def __init__(
        self, session_factory: sessionmaker[Session], demo: Demo, *, horizon_days: int
    ) -> None:
        self.factory = session_factory
        self.anna = demo.participants["anna"]
        self.anna_user = demo.users["anna"]
        self.carla_user = demo.users["carla"]
        with session_factory() as session:
            ran = session.scalar(
                select(CycleState.as_of).where(CycleState.participant_id == self.anna)
            )
            stored = latest_plan(session, self.anna)
        assert ran is not None and stored is not None
        self.day = ran
        # The incomes her plan expects, on the days they are expected, paid in full.
        self.incomes: dict[dt.date, list[DemoCredit]] = defaultdict(list)
        for income in stored.plan.incomes:
            for expected in occurrences(
                income.schedule, ran, ran + dt.timedelta(days=horizon_days)
            ):
                self.incomes[expected].append(
                    DemoCredit(
                        payer_name=income.payer_name,
                        payer_iban=income.payer_iban,
                        amount_cents=income.expected_amount_cents,
                        remittance=demo_remittance(
                            income.search_terms, expected, income.description_nl
                        ),
                    )
                )

    def principal(self, session: Session, user_id: int) -> Principal:
        return Principal.from_account(session.get_one(UserAccount, user_id))

    def cycle(self) -> None:
        summary = run_daily_cycle(self.factory, today=self.day, participant_ids=[self.anna])
        assert summary.failed_participants == [], summary.failed_participants

    def next_day(self) -> dt.date:
        self.day += dt.timedelta(days=1)
        with transaction(self.factory) as session:
            import_demo_statement(
                session,
                account_iban=MUNICIPAL_IBAN,
                day=self.day,
                credits=self.incomes.get(self.day, []),
                imported_by="test",
            )
        self.cycle()
        return self.day

    def until(self, day: dt.date) -> None:
        while self.day < day:
            self.next_day()
