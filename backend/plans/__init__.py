"""Plan versions per participant, the projections the import and co-decision use,
and the hook that turns a decided proposal into a new version."""

from backend.plans.appliers import apply_proposal, register_plan_appliers
from backend.plans.service import (
    IncomeExpectation,
    StoredPlan,
    apply_plan_change,
    current_plan,
    income_expectations_by_payer_iban,
    income_expectations_for_payers,
    latest_plan,
    normalised_plan,
    plan_history,
    plans_in_force,
    store_plan_version,
)

__all__ = [
    "IncomeExpectation",
    "StoredPlan",
    "apply_plan_change",
    "apply_proposal",
    "current_plan",
    "income_expectations_by_payer_iban",
    "income_expectations_for_payers",
    "latest_plan",
    "normalised_plan",
    "plan_history",
    "plans_in_force",
    "register_plan_appliers",
    "store_plan_version",
]
