"""Turning a co-decision change (backend.codecision.changes) into the next plan body.

Each function takes the latest plan and returns the changed plan, still with the old
version number and date: `apply_plan_change` renumbers and stores it. Choices made
where the change and the rules package do not say the same thing:

- living_money_amount: the amount becomes the agreed most per month
  (`monthly_amount_cap_cents`); living money is never more than the plan leaves.
- living_money_schedule: weekly (on the weekday) or monthly (on the day), starting
  on the effective date. The rules engine pays weekly living money every week, so
  "every two weeks" is refused until the rules support it.
- fixed_cost_add: monthly on the day, or yearly in the month; the priority 1-6 is
  the rules priority class (7-9 count as 6, repayment arrangements, paid last); the
  description is also the payment reference (free text).
- fixed_cost_remove: the cost leaves the plan. Money reserved for it goes back to
  available money the next time the cycle runs.
- buffer_policy: the monthly build-up changes; the rules engine's target is two
  months of fixed costs, so another target is refused until the rules support it.
- creditor_iban_correction: every fixed cost paid to that counterparty's IBAN is
  paid to the new IBAN.
- extra_payout is applied by backend.plans.one_off (it needs the proposal's id and
  reason), not here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.codecision.changes import (
    AgreementCopyChange,
    AgreementEndChange,
    AgreementFollowUpChange,
    BufferPolicyChange,
    CreditorIbanCorrectionChange,
    ExtraPayoutChange,
    FixedCostAddChange,
    FixedCostAmountChange,
    FixedCostPaidByParticipantChange,
    FixedCostRemoveChange,
    LivingMoneyAmountChange,
    LivingMoneyScheduleChange,
    PlanChange,
)
from backend.errors import InvalidInput
from backend.models import Agreement, Counterparty
from backend.plans.agreement_changes import agreement_change_plan
from backend.plans.projection import DIRECTION_FIXED_COST, agreement_ids_ever, new_agreement_id
from rules import Category, Plan, PriorityClass

# The rules' buffer target is fixed at two months of fixed costs.
BUFFER_TARGET_MONTHS = 2
_CATEGORY_BY_PRIORITY = {
    PriorityClass.RENT_OR_MORTGAGE: Category.RENT,
    PriorityClass.ENERGY_WATER_HEATING: Category.ENERGY,
    PriorityClass.HEALTH_INSURANCE: Category.HEALTH_INSURANCE,
    PriorityClass.MUNICIPAL_AND_WATER_BOARD_TAXES: Category.MUNICIPAL_TAXES,
    PriorityClass.OTHER: Category.OTHER,
    PriorityClass.REPAYMENT_ARRANGEMENT: Category.REPAYMENT_ARRANGEMENT,
}
NAME_LENGTH_MAX = 70
REFERENCE_LENGTH_MAX = 140


def plan_with_change(
    session: Session, plan: Plan, change: PlanChange, *, effective_from: dt.date
) -> Plan:
    """`plan` with `change` applied (same version and date; the caller renumbers)."""
    body: dict[str, Any] = plan.model_dump(mode="json")
    if isinstance(change, LivingMoneyAmountChange):
        _living_money(body)["monthly_amount_cap_cents"] = change.amount_cents_per_month
    elif isinstance(change, LivingMoneyScheduleChange):
        _living_money(body)["schedule"] = _living_money_schedule(change, effective_from)
    elif isinstance(change, FixedCostAddChange):
        body["fixed_costs"].append(_new_fixed_cost(session, plan, change, effective_from))
    elif isinstance(change, FixedCostRemoveChange):
        agreement_id = _fixed_cost_id(session, plan, change.agreement_id)
        body["fixed_costs"] = [
            cost for cost in body["fixed_costs"] if cost["agreement_id"] != agreement_id
        ]
    elif isinstance(change, FixedCostAmountChange):
        agreement_id = _fixed_cost_id(session, plan, change.agreement_id)
        for cost in body["fixed_costs"]:
            if cost["agreement_id"] == agreement_id:
                cost["amount_cents"] = change.amount_cents
    elif isinstance(change, FixedCostPaidByParticipantChange):
        # Zelfregie step 3 (issue 12): the engine hands the reserved amount over instead.
        agreement_id = _fixed_cost_id(session, plan, change.agreement_id)
        for cost in body["fixed_costs"]:
            if cost["agreement_id"] == agreement_id:
                cost["paid_by_participant"] = change.paid_by_participant
    elif isinstance(change, BufferPolicyChange):
        if change.target_months != BUFFER_TARGET_MONTHS:
            raise InvalidInput(
                f"a buffer target of {change.target_months} months is not supported yet: "
                f"the rules keep {BUFFER_TARGET_MONTHS} months of fixed costs"
            )
        body["buffer"]["monthly_build_up_cents"] = change.build_up_cents_per_month
    elif isinstance(change, CreditorIbanCorrectionChange):
        _correct_iban(session, plan, body, change)
    elif isinstance(change, ExtraPayoutChange):
        raise InvalidInput("an extra payout is not a plan change; the rules have no one-off payout")
    elif isinstance(change, AgreementFollowUpChange | AgreementCopyChange | AgreementEndChange):
        # Follow up / copy / end (issue 8): the rules change the schedules themselves.
        return agreement_change_plan(session, plan, change)
    else:  # pragma: no cover - the union is exhaustive
        raise InvalidInput(f"unknown change {change!r}")
    try:
        return Plan.model_validate(body)
    except ValidationError as error:
        raise InvalidInput(f"the changed plan is not valid: {_first_error(error)}") from error


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}"


def _living_money(body: dict[str, Any]) -> dict[str, Any]:
    living: dict[str, Any] | None = body.get("living_money")
    if living is None:
        raise InvalidInput("this plan pays no living money; a caseworker adds it first")
    return living


def _living_money_schedule(
    change: LivingMoneyScheduleChange, effective_from: dt.date
) -> dict[str, Any]:
    start = effective_from.isoformat()
    if change.frequency == "weekly":
        return {"kind": "weekly", "weekday": change.weekday, "every_weeks": 1, "start_date": start}
    if change.frequency == "monthly":
        return {"kind": "monthly", "day_of_month": change.day_of_month, "start_date": start}
    raise InvalidInput(
        "living money every two weeks is not supported yet: the rules pay it weekly or monthly"
    )


def _new_fixed_cost(
    session: Session, plan: Plan, change: FixedCostAddChange, effective_from: dt.date
) -> dict[str, Any]:
    taken = agreement_ids_ever(session, plan.participant_id)
    taken |= {cost.agreement_id for cost in plan.fixed_costs}
    taken |= {income.agreement_id for income in plan.incomes}
    priority = PriorityClass(min(change.priority, int(PriorityClass.REPAYMENT_ARRANGEMENT)))
    start = effective_from.isoformat()
    schedule: dict[str, Any] = (
        {"kind": "monthly", "day_of_month": change.day_of_month, "start_date": start}
        if change.month is None
        else {
            "kind": "yearly",
            "month": change.month,
            "day_of_month": change.day_of_month,
            "start_date": start,
        }
    )
    return {
        "agreement_id": new_agreement_id(change.description, taken),
        "creditor_name": change.creditor_name.strip()[:NAME_LENGTH_MAX],
        "creditor_iban": change.creditor_iban,
        "amount_cents": change.amount_cents,
        "schedule": schedule,
        "reference": {"kind": "free_text", "text": change.description[:REFERENCE_LENGTH_MAX]},
        "priority_class": int(priority),
        "category": str(_CATEGORY_BY_PRIORITY[priority]),
        "description_nl": change.description.strip()[:NAME_LENGTH_MAX],
    }


def _fixed_cost_id(session: Session, plan: Plan, agreement_row_id: int) -> str:
    """The rules agreement id behind an `agreement` row id of this participant."""
    row = session.get(Agreement, agreement_row_id)
    if (
        row is None
        or row.participant_id != plan.participant_id
        or row.direction != DIRECTION_FIXED_COST
        or row.plan_agreement_id is None
        or plan.fixed_cost(row.plan_agreement_id) is None
    ):
        raise InvalidInput(f"agreement {agreement_row_id} is not a fixed cost of this plan")
    return row.plan_agreement_id


def _correct_iban(
    session: Session, plan: Plan, body: dict[str, Any], change: CreditorIbanCorrectionChange
) -> None:
    old_iban = session.scalar(
        select(Counterparty.iban).where(Counterparty.id == change.counterparty_id)
    )
    matched = [cost for cost in body["fixed_costs"] if cost["creditor_iban"] == old_iban]
    if old_iban is None or not matched:
        raise InvalidInput(
            f"no fixed cost of this plan is paid to counterparty {change.counterparty_id}"
        )
    for cost in matched:
        cost["creditor_iban"] = change.iban
