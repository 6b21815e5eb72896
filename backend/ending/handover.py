"""What moves to the participant when participation ends: the handover letter's content.

For every fixed cost in the plan: the first due date the service no longer pays (its
execution date is after the settlement day), the creditor, IBAN, amount, how often and
the payment reference. For every income: the next expected date after the end, so the
participant can ask the payer to pay to their own account from then on.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rules import Plan
from rules.business_days import execution_date
from rules.schedules import (
    MonthlySchedule,
    OnceSchedule,
    QuarterlySchedule,
    WeeklySchedule,
    YearlySchedule,
    next_occurrence,
)

_LOOKAHEAD_STEPS = 60


def frequency(schedule: object) -> str:
    if isinstance(schedule, WeeklySchedule):
        return "weekly"
    if isinstance(schedule, MonthlySchedule):
        return "monthly"
    if isinstance(schedule, QuarterlySchedule):
        return "quarterly"
    if isinstance(schedule, YearlySchedule):
        return "yearly"
    if isinstance(schedule, OnceSchedule):
        return "once"
    return "other"


def _first_due_not_paid(schedule: Any, settled_on: dt.date) -> dt.date | None:
    """The first due date whose execution date is after the settlement day: the
    service paid everything before it (the engine pays on the execution date)."""
    day = settled_on
    for _ in range(_LOOKAHEAD_STEPS):
        due = next_occurrence(schedule, day)
        if due is None:
            return None
        if execution_date(due) > settled_on:
            return due
        day = due + dt.timedelta(days=1)
    return None


def handover_items(plan: Plan | None, *, end_date: dt.date, settled_on: dt.date) -> dict[str, Any]:
    if plan is None:
        return {"fixed_costs": [], "incomes": []}
    fixed_costs = []
    for cost in plan.fixed_costs:
        first = _first_due_not_paid(cost.schedule, settled_on)
        fixed_costs.append(
            {
                "agreement_id": cost.agreement_id,
                "creditor_name": cost.creditor_name,
                "creditor_iban": cost.creditor_iban,
                "description": cost.description_nl or str(cost.category),
                "amount_cents": cost.amount_cents,
                "frequency": frequency(cost.schedule),
                "reference": cost.reference.text,
                "structured_reference": cost.reference.kind == "structured",
                "you_pay_from": first.isoformat() if first else None,
            }
        )
    incomes = []
    for income in plan.incomes:
        following = next_occurrence(income.schedule, end_date + dt.timedelta(days=1))
        incomes.append(
            {
                "agreement_id": income.agreement_id,
                "payer_name": income.payer_name,
                "payer_iban": income.payer_iban,
                "description": income.description_nl or str(income.kind),
                "amount_cents": income.expected_amount_cents,
                "frequency": frequency(income.schedule),
                "to_own_account_from": following.isoformat() if following else None,
            }
        )
    return {"fixed_costs": fixed_costs, "incomes": incomes}
