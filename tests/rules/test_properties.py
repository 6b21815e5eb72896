"""Properties of the engine over random plans and random incomes, two years day by day.

The daily cycle is played by the tiny in-test ledger (tests/rules/support.py): every
action becomes a journal entry, balances come from ledger.fold_balances and open
items from the entries' metadata. Each day we check:

- no money is created or lost: what the participant holds plus what left the bank
  equals the opening money plus the incomes;
- every entry balances and no sub-account goes negative (buffer_advance only ever
  carries a debt): ledger.check_balances;
- evaluating twice with the same inputs gives the same actions, and evaluating
  again after applying them gives nothing new;
- every action explains itself in Dutch and English;
- no due date is ever paid twice, also not across a new plan version.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import check_balances
from rules import (
    Action,
    BufferPolicy,
    Category,
    FixedCostAgreement,
    IncomeAgreement,
    LivingMoneyPolicy,
    MonthlySchedule,
    OnceSchedule,
    PayFixedCost,
    PayLivingMoney,
    PaymentReference,
    Plan,
    PriorityClass,
    QuarterlySchedule,
    Weekday,
    WeeklySchedule,
    YearlySchedule,
    evaluate,
    occurrences,
)
from rules.schedules import AnySchedule
from tests.rules.support import Arrival, MiniLedger, run

START = dt.date(2026, 1, 5)
DAYS = 730
END = START + dt.timedelta(days=DAYS - 1)
PARTICIPANT_ID = 42

cents = st.integers


@st.composite
def fixed_cost_schedules(draw: st.DrawFn) -> AnySchedule:
    kind = draw(st.sampled_from(["monthly", "monthly", "weekly", "quarterly", "yearly", "once"]))
    start = START + dt.timedelta(days=draw(st.integers(0, 120)))
    if kind == "monthly":
        return MonthlySchedule(day_of_month=draw(st.integers(1, 31)), start_date=start)
    if kind == "weekly":
        return WeeklySchedule(
            weekday=draw(st.sampled_from(list(Weekday))),
            every_weeks=draw(st.integers(1, 4)),
            start_date=start,
        )
    if kind == "quarterly":
        return QuarterlySchedule(
            month=draw(st.integers(1, 12)), day_of_month=draw(st.integers(1, 31)), start_date=start
        )
    if kind == "yearly":
        month = draw(st.integers(1, 12))
        return YearlySchedule(month=month, day_of_month=draw(st.integers(1, 28)), start_date=start)
    return OnceSchedule(on_date=start + dt.timedelta(days=draw(st.integers(0, 600))))


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    incomes = tuple(
        IncomeAgreement(
            agreement_id=f"income-{index}",
            payer_name=f"Payer {index}",
            payer_iban=f"NL00PAYER{index}",
            expected_amount_cents=draw(cents(50_00, 2_500_00)),
            tolerance_cents=draw(cents(0, 20_00)),
            schedule=draw(
                st.one_of(
                    st.builds(
                        MonthlySchedule, day_of_month=st.integers(1, 31), start_date=st.just(START)
                    ),
                    st.builds(
                        WeeklySchedule,
                        weekday=st.sampled_from(list(Weekday)),
                        every_weeks=st.integers(1, 4),
                        start_date=st.just(START),
                    ),
                )
            ),
            window_days_before=draw(st.integers(0, 3)),
            window_days_after=draw(st.integers(0, 7)),
        )
        for index in range(draw(st.integers(1, 3)))
    )
    fixed_costs = tuple(
        FixedCostAgreement(
            agreement_id=f"cost-{index}",
            creditor_name=f"Creditor {index}",
            creditor_iban=f"NL00CRED{index}",
            amount_cents=draw(cents(5_00, 1_200_00)),
            schedule=draw(fixed_cost_schedules()),
            reference=PaymentReference(text=f"Klant {index}"),
            priority_class=draw(st.sampled_from(list(PriorityClass))),
            category=draw(st.sampled_from(list(Category))),
        )
        for index in range(draw(st.integers(0, 6)))
    )
    advance = draw(st.sampled_from([0, 0, 500_00, 1_500_00]))
    weekly = draw(st.booleans())
    living_money = draw(
        st.one_of(
            st.none(),
            st.builds(
                LivingMoneyPolicy,
                schedule=st.just(
                    WeeklySchedule(weekday=Weekday.MONDAY, start_date=START)
                    if weekly
                    else MonthlySchedule(day_of_month=draw(st.integers(1, 31)), start_date=START)
                ),
                payee_name=st.just("Deelnemer"),
                payee_iban=st.just("NL00OWN0001"),
                monthly_amount_cap_cents=st.one_of(st.none(), cents(0, 800_00)),
                monthly_floor_cents=cents(0, 300_00),
            ),
        )
    )
    return Plan(
        participant_id=PARTICIPANT_ID,
        version=1,
        effective_from=START,
        incomes=incomes,
        fixed_costs=fixed_costs,
        buffer=BufferPolicy(
            monthly_build_up_cents=draw(cents(0, 100_00)),
            advance_cents=advance,
            monthly_advance_repayment_cents=draw(cents(1_00, 100_00)) if advance else 0,
        ),
        living_money=living_money,
    )


@st.composite
def arrivals(draw: st.DrawFn, plan: Plan) -> dict[tuple[str, dt.date], Arrival]:
    """Incomes early, late, missing or off in amount."""
    found: dict[tuple[str, dt.date], Arrival] = {}
    for income in plan.incomes:
        for expected in occurrences(income.schedule, START, END):
            if draw(st.integers(0, 99)) < 70:
                continue  # on time, as expected
            if draw(st.integers(0, 9)) == 0:
                found[(income.agreement_id, expected)] = Arrival(None, 0)
                continue
            delay = dt.timedelta(days=draw(st.integers(-income.window_days_before, 12)))
            factor = draw(st.integers(60, 130))
            amount = max(1, income.expected_amount_cents * factor // 100)
            found[(income.agreement_id, expected)] = Arrival(expected + delay, amount)
    return found


@st.composite
def new_versions(draw: st.DrawFn, plan: Plan) -> tuple[Plan, dt.date]:
    """Version 2: the same agreements, other amounts, perhaps one cost dropped."""
    effective_from = START + dt.timedelta(days=draw(st.integers(200, 500)))
    costs = [
        cost.model_copy(
            update={"amount_cents": max(1, cost.amount_cents * draw(st.integers(50, 150)) // 100)}
        )
        for cost in plan.fixed_costs
    ]
    drop_one: bool = draw(st.booleans())
    if costs and drop_one:
        costs.pop(draw(st.integers(0, len(costs) - 1)))
    changed = Plan.model_validate(
        {
            **plan.model_dump(),
            "version": 2,
            "effective_from": effective_from,
            "fixed_costs": [cost.model_dump() for cost in costs],
        }
    )
    return changed, effective_from


class CheckingLedger(MiniLedger):
    """The tiny ledger, checking the properties every day."""

    def run_day(self, day: dt.date) -> list[Action]:
        balances = self.balances()
        open_items = self.builder.build(day)
        actions = evaluate(self.plan, balances, open_items, day)
        assert evaluate(self.plan, balances, open_items, day) == actions, "not deterministic"
        for action in actions:
            assert action.explanation_nl.strip() and action.explanation_en.strip(), action
            assert action.amount_cents >= 0
        self.apply(day, actions)
        problems = check_balances(self.raw_balances)
        assert not problems, (day, problems)
        held = self.balances()
        total_held = (
            held.available_cents
            + held.reserved_cents
            + held.buffer_cents
            + held.payable_cents
            + held.buffer_advance_cents
        )
        # The advance is in the buffer and owed in buffer_advance: together it is zero.
        assert total_held + self.settled_cents == self.opening_cents + self.income_cents
        assert self.evaluate(day) == [], f"{day}: applying the actions did not settle the day"
        return actions


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data(), plan=plans(), opening_cents=cents(0, 500_00))
def test_two_years_of_random_plans_and_incomes_keep_every_invariant(
    data: st.DataObject, plan: Plan, opening_cents: int
) -> None:
    story = data.draw(arrivals(plan), label="incomes")
    version_2, switch_day = data.draw(new_versions(plan), label="plan version 2")

    ledger = CheckingLedger(plan)
    ledger.open_with(START, available=opening_cents, buffer_advance=plan.buffer.advance_cents)
    run(ledger, START, switch_day - dt.timedelta(days=1), story)
    ledger.plan = version_2
    run(ledger, switch_day, END, story)

    actions = ledger.all_actions()
    payment_keys = [a.idempotency_key for a in actions if isinstance(a, PayFixedCost)]
    assert len(payment_keys) == len(set(payment_keys)), "a due date was paid twice"
    payout_keys = [a.payout_date for a in actions if isinstance(a, PayLivingMoney)]
    assert len(payout_keys) == len(set(payout_keys)), "living money paid twice for one day"
    for payment in (a for a in actions if isinstance(a, PayFixedCost)):
        version = plan if payment.plan_version == 1 else version_2
        cost = version.fixed_cost(payment.agreement_id)
        assert cost is not None and payment.amount_cents == cost.amount_cents
