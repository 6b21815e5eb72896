"""A synthetic caseload through a year: how much needs a person?

`simulate_caseload(participants=200, months=12, seed=N)` gives every synthetic
participant one of the demo plans (Anna's, Bram's or Zoë's: backend.demo.plans)
and runs the real rules engine (`rules.evaluate`) day by day, with no database,
exactly as `rules.simulate` does for the forecast — plus the disruptions of a
real year, drawn from a seeded random generator:

- income late (3 to 12 days), short (10–35 % less), or missing for a month;
- a rent increase once a year for part of the caseload (a plan change the
  caseworker handles: one item);
- a fixed-cost payment returned by the bank (AC04 and friends): the money goes
  back to `reserved` and the caseworker checks the creditor (one item);
- life events (moving, new job, birth, hospital stay; one item each) and the
  emergency button (one item).

An *item that needs a person* is one line in the caseworker's work queue: every
alert the engine raises (income missing, buffer used, arrears, living money lower
than agreed, ...) plus the returned payments, rent increases, life events and
emergencies above. *Arrears* are the engine's `arrears` alerts: a fixed cost that
could not be paid on time even with the buffer.

The figure the caseworker dashboard exists to drive down is
`items_per_participant_month`.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ledger import AccountKind, AccountRef, JournalEntry, Posting
from rules import (
    REASON_INCOME_MATCHED,
    REASON_PAYMENT_RETURNED,
    AlertKind,
    Balances,
    OpenItemsBuilder,
    PayFixedCost,
    Plan,
    RaiseAlert,
    evaluate,
    income_metadata,
    occurrences,
    returned_payment_metadata,
)
from rules.schedules import shift_months

START = dt.date(2026, 1, 1)
PARTICIPANTS_MAX = 100_000
MONTHS_MAX = 36
_BANK = AccountRef.bank("SIMULATION")


@dataclass(frozen=True, slots=True)
class Disruptions:
    """Chances per event (an income occurrence, a payment, a participant-month)."""

    income_late: float = 0.08
    income_short: float = 0.04
    income_missing: float = 0.01
    payment_returned: float = 0.005
    rent_increase_per_year: float = 0.35
    life_event_per_month: float = 0.04
    emergency_per_month: float = 0.01


@dataclass
class SimulationResult:
    participants: int
    months: int
    seed: int
    start: dt.date
    items: Counter[str] = field(default_factory=Counter)
    arrears: int = 0
    participants_with_arrears: int = 0
    quiet_participant_months: int = 0
    items_by_participant_month: list[int] = field(default_factory=list)

    @property
    def participant_months(self) -> int:
        return self.participants * self.months

    @property
    def total_items(self) -> int:
        return sum(self.items.values())

    @property
    def items_per_participant_month(self) -> float:
        return self.total_items / self.participant_months if self.participant_months else 0.0

    @property
    def arrears_per_participant_month(self) -> float:
        return self.arrears / self.participant_months if self.participant_months else 0.0

    @property
    def quiet_share(self) -> float:
        """Share of participant-months in which nothing needed a person."""
        months = self.participant_months
        return self.quiet_participant_months / months if months else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "participants": self.participants,
            "months": self.months,
            "seed": self.seed,
            "start": self.start.isoformat(),
            "participant_months": self.participant_months,
            "items_total": self.total_items,
            "items_per_participant_month": round(self.items_per_participant_month, 4),
            "items_by_kind": dict(sorted(self.items.items())),
            "arrears": self.arrears,
            "arrears_per_participant_month": round(self.arrears_per_participant_month, 4),
            "participants_with_arrears": self.participants_with_arrears,
            "quiet_participant_months_share": round(self.quiet_share, 4),
        }


def _templates() -> list[Callable[[int, dt.date, str], Plan]]:
    from backend.demo.plans import anna_plan, bram_plan, zoe_plan

    return [anna_plan, bram_plan, zoe_plan]


_OWN_IBANS = ("NL32INGB0007777777", "NL81RABO0309876543", "NL79INGB0002468024")


def _advance(plan: Plan) -> JournalEntry:
    cents = plan.buffer.advance_cents
    return JournalEntry(
        idempotency_key=f"sim:{plan.participant_id}:advance",
        booking_date=plan.effective_from,
        reason_code="buffer.advance",
        explanation="Voorschot (simulatie).",
        explanation_en="Advance (simulation).",
        postings=(
            Posting(
                AccountRef.of_participant(plan.participant_id, AccountKind.BUFFER_ADVANCE), cents
            ),
            Posting(AccountRef.of_participant(plan.participant_id, AccountKind.BUFFER), -cents),
        ),
    )


def _raise_rent(plan: Plan, rng: random.Random, on: dt.date) -> Plan:
    """The rent (the first priority-1 cost) goes up 2–6 % from `on`: a new plan version."""
    costs = list(plan.fixed_costs)
    for index, cost in enumerate(costs):
        if int(cost.priority_class) == 1:
            increased = cost.amount_cents + cost.amount_cents * rng.randint(2, 6) // 100
            costs[index] = cost.model_copy(update={"amount_cents": increased})
            return plan.model_copy(
                update={"fixed_costs": tuple(costs), "version": plan.version + 1}
            )
    return plan


class _Participant:
    def __init__(self, plan: Plan, rng: random.Random, disruptions: Disruptions, end: dt.date):
        self.plan = plan
        self.rng = rng
        self.disruptions = disruptions
        self.builder = OpenItemsBuilder()
        self.holdings: dict[AccountKind, int] = dict.fromkeys(
            (
                AccountKind.AVAILABLE,
                AccountKind.RESERVED,
                AccountKind.BUFFER,
                AccountKind.PAYABLE,
                AccountKind.BUFFER_ADVANCE,
            ),
            0,
        )
        self.arrivals: dict[dt.date, list[tuple[str, dt.date, int]]] = {}
        self.returns: dict[dt.date, list[PayFixedCost]] = {}
        self.rent_increase_on: dt.date | None = None
        if rng.random() < disruptions.rent_increase_per_year:
            self.rent_increase_on = plan.effective_from + dt.timedelta(days=rng.randrange(30, 330))
        self.items: Counter[tuple[dt.date, str]] = Counter()
        self.arrears = 0
        self.seen_alerts: set[str] = set()
        if plan.buffer.advance_cents:
            self._book(_advance(plan))
        self._plan_incomes(end)

    def _book(self, entry: JournalEntry) -> None:
        self.builder.add_entry(entry)
        for posting in entry.postings:
            if posting.account.participant_id is not None:
                self.holdings[posting.account.kind] -= posting.amount_cents

    def _plan_incomes(self, end: dt.date) -> None:
        d = self.disruptions
        for income in self.plan.incomes:
            for expected in occurrences(income.schedule, self.plan.effective_from, end):
                roll = self.rng.random()
                amount = income.expected_amount_cents
                arrives = expected
                if roll < d.income_missing:
                    continue
                if roll < d.income_missing + d.income_late:
                    arrives = expected + dt.timedelta(days=self.rng.randint(3, 12))
                elif roll < d.income_missing + d.income_late + d.income_short:
                    amount -= amount * self.rng.randint(10, 35) // 100
                self.arrivals.setdefault(arrives, []).append(
                    (income.agreement_id, expected, amount)
                )

    def run_day(self, day: dt.date) -> None:
        month = day.replace(day=1)
        if self.rent_increase_on == day:
            self.plan = _raise_rent(self.plan, self.rng, day)
            self.items[(month, "rent_increase")] += 1
        if day.day == 1:
            if self.rng.random() < self.disruptions.life_event_per_month:
                self.items[(month, "life_event")] += 1
            if self.rng.random() < self.disruptions.emergency_per_month:
                self.items[(month, "emergency")] += 1
        pid = self.plan.participant_id
        for agreement_id, expected, amount in self.arrivals.pop(day, []):
            self._book(
                JournalEntry(
                    idempotency_key=f"sim:{pid}:income:{agreement_id}:{expected}",
                    booking_date=day,
                    reason_code=REASON_INCOME_MATCHED,
                    explanation="Inkomen (simulatie).",
                    explanation_en="Income (simulation).",
                    postings=(
                        Posting(_BANK, amount),
                        Posting(AccountRef.of_participant(pid, AccountKind.AVAILABLE), -amount),
                    ),
                    metadata=income_metadata(agreement_id, expected),
                )
            )
        for payment in self.returns.pop(day, []):
            self._book(
                JournalEntry(
                    idempotency_key=f"sim:{pid}:returned:{payment.idempotency_key}",
                    booking_date=day,
                    reason_code=REASON_PAYMENT_RETURNED,
                    explanation="Betaling teruggekomen (simulatie).",
                    explanation_en="Payment returned (simulation).",
                    postings=(
                        Posting(_BANK, payment.amount_cents),
                        Posting(
                            AccountRef.of_participant(pid, AccountKind.RESERVED),
                            -payment.amount_cents,
                        ),
                    ),
                    metadata=returned_payment_metadata(payment.agreement_id, payment.due_date),
                )
            )
            self.items[(month, "payment_returned")] += 1
        balances = Balances(
            available_cents=self.holdings[AccountKind.AVAILABLE],
            reserved_cents=self.holdings[AccountKind.RESERVED],
            buffer_cents=self.holdings[AccountKind.BUFFER],
            payable_cents=self.holdings[AccountKind.PAYABLE],
            buffer_advance_cents=self.holdings[AccountKind.BUFFER_ADVANCE],
        )
        for action in evaluate(self.plan, balances, self.builder.build(day), day):
            entry = action.to_journal_entry(day)
            if entry is None:
                self.builder.add_alert(action.idempotency_key)
            else:
                self._book(entry)
            if isinstance(action, RaiseAlert) and action.idempotency_key not in self.seen_alerts:
                self.seen_alerts.add(action.idempotency_key)
                self.items[(month, str(action.alert_kind))] += 1
                if action.alert_kind is AlertKind.ARREARS:
                    self.arrears += 1
            elif (
                isinstance(action, PayFixedCost)
                and self.rng.random() < self.disruptions.payment_returned
            ):
                back = day + dt.timedelta(days=self.rng.randint(2, 5))
                self.returns.setdefault(back, []).append(action)
        # The bank debits what was instructed overnight.
        self.holdings[AccountKind.PAYABLE] = 0


def simulate_caseload(
    *,
    participants: int = 200,
    months: int = 12,
    seed: int = 1,
    start: dt.date = START,
    disruptions: Disruptions | None = None,
) -> SimulationResult:
    """Run a synthetic caseload through `months` months; see the module docstring."""
    if not 1 <= participants <= PARTICIPANTS_MAX:
        raise ValueError(f"participants must be between 1 and {PARTICIPANTS_MAX}")
    if not 1 <= months <= MONTHS_MAX:
        raise ValueError(f"months must be between 1 and {MONTHS_MAX}")
    disruptions = disruptions or Disruptions()
    templates = _templates()
    end = shift_months(start, months, start.day) - dt.timedelta(days=1)
    result = SimulationResult(participants=participants, months=months, seed=seed, start=start)
    month_starts = [shift_months(start, index, 1) for index in range(months)]
    for index in range(participants):
        rng = random.Random(f"{seed}:{index}")
        template = index % len(templates)
        plan = templates[template](index + 1, start, _OWN_IBANS[template])
        person = _Participant(plan, rng, disruptions, end)
        day = start
        while day <= end:
            person.run_day(day)
            day += dt.timedelta(days=1)
        for (_month, kind), count in person.items.items():
            result.items[kind] += count
        per_month = Counter[dt.date]()
        for (month, _kind), count in person.items.items():
            per_month[month] += count
        for month in month_starts:
            result.items_by_participant_month.append(per_month[month])
            if not per_month[month]:
                result.quiet_participant_months += 1
        result.arrears += person.arrears
        result.participants_with_arrears += bool(person.arrears)
    return result


def describe(result: SimulationResult) -> str:
    """The figures, for people."""
    lines = [
        f"Simulated {result.participants} participants for {result.months} months "
        f"from {result.start.isoformat()} (seed {result.seed}).",
        f"Items that needed a person: {result.total_items} "
        f"= {result.items_per_participant_month:.3f} per participant per month.",
        f"Participant-months with nothing to do: {result.quiet_share:.1%}.",
        f"Arrears: {result.arrears} ({result.arrears_per_participant_month:.4f} per "
        f"participant per month; {result.participants_with_arrears} participants).",
        "By kind:",
    ]
    lines += [f"  {kind:28} {count}" for kind, count in sorted(result.items.items())]
    return "\n".join(lines)


__all__ = [
    "MONTHS_MAX",
    "PARTICIPANTS_MAX",
    "Disruptions",
    "SimulationResult",
    "describe",
    "simulate_caseload",
]
