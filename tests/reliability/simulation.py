"""A deterministic simulation of a municipality, in the spirit of TigerBeetle's VOPR:
the REAL services (statement import, daily cycle, batches, export, settlement) run
day by day against SQLite while a seeded RNG injects faults, and every invariant
(tests.reliability.invariants) is checked after every simulated day.

    result = simulate(database_url, seed=1, months=24)

Faults: income late (3-10 days), short (-15 %), duplicated by the payer; payments
returned by the creditor's bank (AC04); a day's statement held back and delivered
after the next one (a gap the import must notice); the daily cycle crashing after
its writes and before commit, then rerun; two cycles at once; two finance users
proposing batches at once. Same seed, same faults, same money.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.bank import StatementFormat
from backend.bank.generate import (
    DocumentSpec,
    EntrySpec,
    PartySpec,
    StatementSpec,
    TransactionSpec,
    write_camt053,
)
from backend.bank_import.demo import demo_remittance
from backend.bank_import.service import import_statement_file
from backend.config import Settings
from backend.cycle import run_daily_cycle
from backend.cycle import service as cycle_service
from backend.db import make_engine, make_session_factory, transaction
from backend.demo.seed import MUNICIPAL_IBAN, seed_demo
from backend.models import Participant, PaymentBatch, PaymentInstruction
from backend.payments import approve_batch, export_batch, prepare_batch, propose_batches
from backend.plans import latest_plan
from rules.schedules import occurrences
from tests.reliability.invariants import violations

FAULT_PROBABILITY = {
    "late_income": 0.10,
    "short_income": 0.05,
    "duplicate_income": 0.04,
    "returned_payment": 0.15,  # per day with settled payments
    "statement_gap": 0.03,
    "crashed_cycle": 0.05,
    "concurrent_cycles": 0.03,
    "concurrent_proposals": 0.05,
}
PREPARER, APPROVER = "fenna", "frank"


class PowerCut(BaseException):
    """The process dies: nothing in the services catches this."""


@dataclass
class Credit:
    name: str
    iban: str
    amount_cents: int
    remittance: str


@dataclass
class SimulationResult:
    seed: int
    days: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    payments: int = 0
    statements: int = 0
    violations: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "days": self.days,
            "faults": dict(sorted(self.faults.items())),
            "payments": self.payments,
            "statements": self.statements,
            "violations": len(self.violations),
        }


class Simulator:
    def __init__(
        self, factory: sessionmaker[Session], settings: Settings, *, seed: int, start: dt.date
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.rng = random.Random(seed)
        self.result = SimulationResult(seed=seed)
        self.start = start
        self.arrivals: dict[dt.date, list[Credit]] = {}
        self.bank_balance_cents = 0
        self.held: list[tuple[dt.date, list[EntrySpec], int]] = []
        self.reference = 0

    # ---------------------------------------------------------------- world

    def seed_world(self, end: dt.date) -> None:
        with transaction(self.factory, write=True) as session:
            seed_demo(session, self.settings.field_cipher(), today=self.start)
            participants = list(session.scalars(select(Participant)))
            plans = [stored.plan for p in participants if (stored := latest_plan(session, p.id))]
            from backend.payments.reconcile import latest_statement_closing

            closing = latest_statement_closing(session, MUNICIPAL_IBAN, None)
            self.bank_balance_cents = closing.closing_balance_cents if closing else 0
        first = self.start + dt.timedelta(days=1)
        for plan in plans:
            for income in plan.incomes:
                for expected in occurrences(income.schedule, first, end):
                    arrives = expected
                    amount = income.expected_amount_cents
                    if self._fault("late_income"):
                        arrives += dt.timedelta(days=self.rng.randint(3, 10))
                    if self._fault("short_income"):
                        amount = amount * 85 // 100
                    credit = Credit(
                        income.payer_name,
                        income.payer_iban,
                        amount,
                        demo_remittance(income.search_terms, expected, income.description_nl),
                    )
                    self.arrivals.setdefault(arrives, []).append(credit)
                    if self._fault("duplicate_income"):
                        self.arrivals.setdefault(arrives, []).append(credit)

    def _fault(self, name: str) -> bool:
        if self.rng.random() < FAULT_PROBABILITY[name]:
            self.result.faults[name] += 1
            return True
        return False

    # ---------------------------------------------------------------- one day

    def day(self, today: dt.date) -> None:
        entries = self._bank_entries(today)
        # The bank's statements chain in date order, whatever order they arrive in.
        opening = self.bank_balance_cents
        self.bank_balance_cents += sum(
            e.amount_cents if e.credit else -e.amount_cents for e in entries
        )
        if entries and not self.held and self._fault("statement_gap"):
            self.held.append((today, entries, opening))
        else:
            if entries:
                self._import(today, entries, opening)
            for held_day, held_entries, held_opening in self.held:  # late, after a newer one
                self._import(held_day, held_entries, held_opening, delivered=today)
            self.held.clear()
        self._cycle(today)
        if today.weekday() < 5:
            self._finance(today)
        with transaction(self.factory) as session:
            found = violations(session)
        self.result.violations += [f"{today}: {violation}" for violation in found]
        self.result.days += 1

    def _bank_entries(self, today: dt.date) -> list[EntrySpec]:
        entries = [
            self._entry(
                today,
                credit.amount_cents,
                True,
                TransactionSpec(
                    amount_cents=credit.amount_cents,
                    debtor=PartySpec(credit.name, credit.iban),
                    unstructured=(credit.remittance,),
                ),
            )
            for credit in self.arrivals.pop(today, [])
        ]
        if today.weekday() >= 5:
            return entries
        with transaction(self.factory) as session:
            exported = list(
                session.scalars(
                    select(PaymentBatch).where(
                        PaymentBatch.status == "exported", PaymentBatch.execution_date < today
                    )
                )
            )
            for batch in exported:
                entries.append(
                    self._entry(
                        today,
                        batch.control_sum_cents,
                        False,
                        None,
                        batch=(batch.pmt_inf_id, batch.instruction_count),
                    )
                )
            settled = list(
                session.execute(
                    select(PaymentInstruction.end_to_end_id, PaymentInstruction.amount_cents)
                    .where(PaymentInstruction.status == "settled")
                    .order_by(PaymentInstruction.id)
                )
            )
        if settled and self._fault("returned_payment"):
            e2e, amount = self.rng.choice(settled)
            entries.append(
                self._entry(
                    today,
                    amount,
                    True,
                    TransactionSpec(
                        amount_cents=amount,
                        end_to_end_id=e2e,
                        return_reason_code="AC04",
                    ),
                    domain=("PMNT", "ICDT", "RRTN"),
                )
            )
        return entries

    def _entry(
        self,
        today: dt.date,
        amount: int,
        credit: bool,
        transaction_spec: TransactionSpec | None,
        *,
        batch: tuple[str, int] | None = None,
        domain: tuple[str, str, str] = ("PMNT", "RCDT", "ESCT"),
    ) -> EntrySpec:
        self.reference += 1
        return EntrySpec(
            amount_cents=amount,
            credit=credit,
            booking_date=today,
            value_date=today,
            reference=f"SIM{self.reference:08d}",
            domain_code=domain if credit else ("PMNT", "ICDT", "ESCT"),
            batch_payment_information_id=batch[0] if batch else None,
            batch_transaction_count=batch[1] if batch else None,
            transactions=(transaction_spec,) if transaction_spec else (),
        )

    def _import(
        self,
        day: dt.date,
        entries: list[EntrySpec],
        opening: int,
        *,
        delivered: dt.date | None = None,
    ) -> None:
        statement_id = f"SIM-{day:%Y%m%d}"
        created = f"{(delivered or day).isoformat()}T18:00:00+01:00"
        data = write_camt053(
            DocumentSpec(
                message_id=statement_id,
                created_at=created,
                statements=(
                    StatementSpec(
                        statement_id=statement_id,
                        account_iban=MUNICIPAL_IBAN,
                        opening_cents=opening,
                        opening_date=day,
                        closing_date=day,
                        created_at=created,
                        entries=tuple(entries),
                    ),
                ),
            ),
            StatementFormat.CAMT053_001_02,
        )
        with transaction(self.factory, write=True) as session:
            import_statement_file(
                session, data, filename=f"{statement_id}.xml", imported_by="simulation"
            )
        self.result.statements += 1

    def _cycle(self, today: dt.date) -> None:
        if self._fault("crashed_cycle"):
            try:
                with _crash_after_write():
                    run_daily_cycle(self.factory, today=today)
            except PowerCut:
                pass
        if self._fault("concurrent_cycles"):
            _at_once(lambda: run_daily_cycle(self.factory, today=today), 2)
        summary = run_daily_cycle(self.factory, today=today)
        if not summary.ok:
            self.result.violations.append(f"{today}: cycle failed {summary.failed_participants}")

    def _finance(self, today: dt.date) -> None:
        def propose(actor: str) -> None:
            with transaction(self.factory, write=True) as session:
                propose_batches(session, actor=actor, today=today)

        if self._fault("concurrent_proposals"):
            _at_once(lambda: propose(PREPARER), 1, lambda: propose(APPROVER))
        else:
            propose(PREPARER)
        with transaction(self.factory) as session:
            proposed = list(
                session.scalars(select(PaymentBatch.id).where(PaymentBatch.status == "proposed"))
            )
        for batch_id in proposed:
            with transaction(self.factory, write=True) as session:
                prepare_batch(session, batch_id, actor=PREPARER, today=today)
            with transaction(self.factory, write=True) as session:
                approve_batch(session, batch_id, actor=APPROVER)
            with transaction(self.factory, write=True) as session:
                exported = export_batch(session, batch_id, actor=PREPARER, today=today)
                self.result.payments += exported.transaction_count


@contextmanager
def _crash_after_write() -> Iterator[None]:
    """The cycle's chunk dies after its entries and payments are written, before commit."""
    original = cycle_service._save_states

    def crashing(*args: Any, **kwargs: Any) -> None:
        original(*args, **kwargs)
        raise PowerCut

    cycle_service._save_states = crashing  # type: ignore[assignment]
    try:
        yield
    finally:
        cycle_service._save_states = original  # type: ignore[assignment]


def _at_once(first: Any, copies: int, second: Any = None) -> None:
    """Start the callables together; each must finish (the effect is checked after)."""
    calls = [first] * copies + ([second] if second else [])
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def run(call: Any) -> None:
        barrier.wait()
        try:
            call()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def simulate(
    database_url: str,
    *,
    seed: int,
    months: int,
    start: dt.date = dt.date(2026, 1, 14),
    stop_at_violation: bool = False,
) -> SimulationResult:
    engine = make_engine(database_url)
    try:
        settings = Settings(database_url=database_url, demo=True)
        simulator = Simulator(make_session_factory(engine), settings, seed=seed, start=start)
        month_index = start.year * 12 + start.month - 1 + months
        end = dt.date(month_index // 12, month_index % 12 + 1, start.day)
        simulator.seed_world(end)
        day = start + dt.timedelta(days=1)
        while day <= end:
            simulator.day(day)
            if stop_at_violation and simulator.result.violations:
                break
            day += dt.timedelta(days=1)
        return simulator.result
    finally:
        engine.dispose()
