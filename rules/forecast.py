"""Forecast: what is coming, day by day, if every expected income arrives on its day.

`simulate` runs the real engine over the coming months on a copy of the
participant's state; nothing here has rules of its own. The participant app shows
the result ("what is coming") and `filled_until` ("gevuld tot": the last due date up
to which every fixed cost is fully reserved).
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, StrictInt

from ledger import AccountKind, AccountRef, JournalEntry, Posting
from rules.actions import (
    AlertKind,
    HandOverFixedCost,
    PayFixedCost,
    PayLivingMoney,
    PayOneOffPayout,
    RaiseAlert,
)
from rules.engine import due_dates_between, evaluate
from rules.errors import RulesError
from rules.plan import Plan
from rules.schedules import occurrences, shift_months
from rules.state import (
    LOOKBACK_DAYS,
    REASON_INCOME_MATCHED,
    Balances,
    OpenItems,
    OpenItemsBuilder,
    income_metadata,
)

FORECAST_MONTHS_MAX = 24
# How far ahead `filled_until` looks for due dates.
FILLED_UNTIL_DAYS_MAX = 400
# The simulated incomes are booked against a placeholder bank account.
_FORECAST_BANK = AccountRef.bank("FORECAST")


class ForecastPayment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    agreement_id: str
    due_date: dt.date
    amount_cents: StrictInt


class ForecastDay(BaseModel):
    """One day: what comes in, what goes out, and the holdings at the end of the day."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    day: dt.date
    income_cents: StrictInt = 0
    fixed_cost_payments: tuple[ForecastPayment, ...] = ()
    living_money_cents: StrictInt = 0
    available_cents: StrictInt
    reserved_cents: StrictInt
    buffer_cents: StrictInt
    buffer_advance_cents: StrictInt
    alerts: tuple[AlertKind, ...] = ()


class Forecast(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    start: dt.date
    end: dt.date
    filled_until: dt.date | None
    days: tuple[ForecastDay, ...]

    @property
    def income_cents(self) -> int:
        return sum(day.income_cents for day in self.days)

    @property
    def fixed_costs_paid_cents(self) -> int:
        return sum(payment.amount_cents for day in self.days for payment in day.fixed_cost_payments)

    @property
    def living_money_cents(self) -> int:
        return sum(day.living_money_cents for day in self.days)


def filled_until(plan: Plan, open_items: OpenItems, today: dt.date) -> dt.date | None:
    """The last due date up to which every unpaid fixed cost is fully reserved.

    None when the first unpaid due date is not fully covered (or there is none).
    """
    reserved = open_items.reserved_by_due_date()
    paid = open_items.paid_due_dates()
    start = today - dt.timedelta(days=LOOKBACK_DAYS)
    end = today + dt.timedelta(days=FILLED_UNTIL_DAYS_MAX)
    dues = sorted(
        (due for due in due_dates_between(plan, start, end) if due.due_date <= end),
        key=lambda due: due.due_date,
    )
    covered_until: dt.date | None = None
    for index, due in enumerate(dues):
        if due.key in paid:
            continue
        if reserved.get(due.key, 0) < due.amount_cents:
            return _before(covered_until, due.due_date)
        next_date = dues[index + 1].due_date if index + 1 < len(dues) else None
        if next_date != due.due_date:
            covered_until = due.due_date
    return covered_until


def _before(covered_until: dt.date | None, uncovered: dt.date) -> dt.date | None:
    # A date is only "filled" when every cost due that day is covered.
    if covered_until is not None and covered_until >= uncovered:
        return None
    return covered_until


def simulate(
    plan: Plan, balances: Balances, open_items: OpenItems, start: dt.date, months: int
) -> Forecast:
    """Run the engine from `start` for `months` months, expected incomes arriving on their day.

    Payments are assumed to leave the next day (payable is cleared each night).
    """
    if not 1 <= months <= FORECAST_MONTHS_MAX:
        raise RulesError(f"a forecast covers 1 to {FORECAST_MONTHS_MAX} months, not {months}")
    end = shift_months(start, months, start.day) - dt.timedelta(days=1)
    builder = OpenItemsBuilder.starting_from(open_items)
    holdings = {
        AccountKind.AVAILABLE: balances.available_cents,
        AccountKind.RESERVED: balances.reserved_cents,
        AccountKind.BUFFER: balances.buffer_cents,
        AccountKind.PAYABLE: balances.payable_cents,
        AccountKind.BUFFER_ADVANCE: balances.buffer_advance_cents,
    }
    received = set(open_items.income_received_cents())
    days: list[ForecastDay] = []
    day = start
    while day <= end:
        income_cents = 0
        for income in plan.incomes:
            for expected in occurrences(income.schedule, day, day):
                if (income.agreement_id, expected) in received:
                    continue
                entry = _income_entry(
                    plan, income.agreement_id, expected, income.expected_amount_cents
                )
                builder.add_entry(entry)
                holdings[AccountKind.AVAILABLE] += income.expected_amount_cents
                income_cents += income.expected_amount_cents
        actions = evaluate(plan, _balances(holdings), builder.build(day), day)
        payments: list[ForecastPayment] = []
        living_money_cents = 0
        alerts: list[AlertKind] = []
        for action in actions:
            journal_entry = action.to_journal_entry(day)
            if journal_entry is None:
                builder.add_alert(action.idempotency_key)
            else:
                builder.add_entry(journal_entry)
                for posting in journal_entry.postings:
                    holdings[posting.account.kind] -= posting.amount_cents
            if isinstance(action, HandOverFixedCost):
                # The forecast assumes the participant pays it and says so in time.
                builder.confirm_self_payment(action.agreement_id, action.due_date)
            if isinstance(action, PayFixedCost | HandOverFixedCost):
                payments.append(
                    ForecastPayment(
                        agreement_id=action.agreement_id,
                        due_date=action.due_date,
                        amount_cents=action.amount_cents,
                    )
                )
            elif isinstance(action, PayLivingMoney | PayOneOffPayout):
                # A one-off extra payout counts as living money that day.
                living_money_cents += action.amount_cents
            elif isinstance(action, RaiseAlert):
                alerts.append(action.alert_kind)
        days.append(
            ForecastDay(
                day=day,
                income_cents=income_cents,
                fixed_cost_payments=tuple(payments),
                living_money_cents=living_money_cents,
                available_cents=holdings[AccountKind.AVAILABLE],
                reserved_cents=holdings[AccountKind.RESERVED],
                buffer_cents=holdings[AccountKind.BUFFER],
                buffer_advance_cents=holdings[AccountKind.BUFFER_ADVANCE],
                alerts=tuple(alerts),
            )
        )
        holdings[AccountKind.PAYABLE] = 0
        day += dt.timedelta(days=1)
    return Forecast(
        start=start,
        end=end,
        filled_until=filled_until(plan, open_items, start),
        days=tuple(days),
    )


def _balances(holdings: dict[AccountKind, int]) -> Balances:
    return Balances(
        available_cents=holdings[AccountKind.AVAILABLE],
        reserved_cents=holdings[AccountKind.RESERVED],
        buffer_cents=holdings[AccountKind.BUFFER],
        payable_cents=holdings[AccountKind.PAYABLE],
        buffer_advance_cents=holdings[AccountKind.BUFFER_ADVANCE],
    )


def _income_entry(
    plan: Plan, agreement_id: str, expected: dt.date, amount_cents: int
) -> JournalEntry:
    available = AccountRef.of_participant(plan.participant_id, AccountKind.AVAILABLE)
    return JournalEntry(
        idempotency_key=f"forecast:{plan.participant_id}:income:{agreement_id}:{expected}",
        booking_date=expected,
        reason_code=REASON_INCOME_MATCHED,
        explanation="Verwacht inkomen (voorspelling).",
        explanation_en="Expected income (forecast).",
        postings=(Posting(_FORECAST_BANK, amount_cents), Posting(available, -amount_cents)),
        metadata=income_metadata(agreement_id, expected),
    )
