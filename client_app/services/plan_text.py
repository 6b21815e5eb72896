"""A plan and a proposed change, in words a resident reads (Dutch B1 or English)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from backend.codecision.changes import (
    AgreementCopyChange,
    AgreementEndChange,
    AgreementFollowUpChange,
    AutonomyStepChange,
    BufferPolicyChange,
    CreditorIbanCorrectionChange,
    EndParticipationChange,
    ExtraPayoutChange,
    FixedCostAddChange,
    FixedCostAmountChange,
    FixedCostPaidByParticipantChange,
    FixedCostRemoveChange,
    InitialPlanChange,
    LivingMoneyAmountChange,
    LivingMoneyScheduleChange,
    PlanChange,
)
from client_app.formatting import date_medium, money, month_name, weekday_name
from client_app.i18n import translate
from rules import (
    MonthlySchedule,
    OnceSchedule,
    Plan,
    QuarterlySchedule,
    Schedule,
    WeeklySchedule,
    YearlySchedule,
)
from rules.agreement_changes import in_force


def schedule_text(schedule: Schedule | MonthlySchedule | WeeklySchedule, lang: str) -> str:
    if isinstance(schedule, MonthlySchedule):
        return translate(lang, "schedule.monthly", day=schedule.day_of_month)
    if isinstance(schedule, WeeklySchedule):
        weekday = weekday_name(int(schedule.weekday), lang)
        if schedule.every_weeks == 1:
            return translate(lang, "schedule.weekly", weekday=weekday)
        return translate(lang, "schedule.every_weeks", weeks=schedule.every_weeks, weekday=weekday)
    if isinstance(schedule, QuarterlySchedule):
        return translate(
            lang,
            "schedule.quarterly",
            day=schedule.day_of_month,
            month=month_name(schedule.month, lang),
        )
    if isinstance(schedule, YearlySchedule):
        return translate(
            lang,
            "schedule.yearly",
            day=schedule.day_of_month,
            month=month_name(schedule.month, lang),
        )
    if isinstance(schedule, OnceSchedule):
        return translate(lang, "schedule.once", date=date_medium(schedule.on_date, lang))
    return ""  # pragma: no cover - the union is exhaustive


@dataclass(frozen=True, slots=True)
class AgreementLine:
    name: str
    counterparty: str
    amount_cents: int
    schedule: str
    agreement_row_id: int | None = None  # the `agreement` row proposals refer to


@dataclass(frozen=True, slots=True)
class PlanSummary:
    version: int
    effective_from: Any
    incomes: tuple[AgreementLine, ...]
    fixed_costs: tuple[AgreementLine, ...]
    monthly_income_cents: int
    monthly_fixed_costs_cents: int
    living_money_monthly_cents: int
    living_money_weekly_cents: int | None
    living_money_schedule: str | None
    living_money_iban: str | None
    buffer_target_cents: int
    buffer_build_up_cents: int
    advance_cents: int
    advance_repayment_cents: int


def _dated(schedule: Schedule, lang: str, on: dt.date | None) -> str:
    """The schedule in words, with its start or end when that matters on `on`."""
    text = schedule_text(schedule, lang)
    if on is None or isinstance(schedule, OnceSchedule):
        return text
    if schedule.start_date > on:
        return translate(
            lang, "casework.schedule.from", when=text, date=date_medium(schedule.start_date, lang)
        )
    if schedule.end_date is not None:
        return translate(
            lang, "casework.schedule.until", when=text, date=date_medium(schedule.end_date, lang)
        )
    return text


def plan_summary(
    plan: Plan, lang: str, row_ids: dict[str, int] | None = None, *, on: dt.date | None = None
) -> PlanSummary:
    """The plan in words. With `on`: the monthly sums count the agreements in force that
    day (rules.agreement_changes.in_force: not an ended agreement, not a follow-up that
    has not started), and each agreement says from or until when it runs."""
    rows = row_ids or {}
    totals = plan if on is None else in_force(plan, on)
    living = plan.living_money
    weekly = living is not None and isinstance(living.schedule, WeeklySchedule)
    return PlanSummary(
        version=plan.version,
        effective_from=plan.effective_from,
        incomes=tuple(
            AgreementLine(
                name=income.description_nl or income.payer_name,
                counterparty=income.payer_name,
                amount_cents=income.expected_amount_cents,
                schedule=_dated(income.schedule, lang, on),
                agreement_row_id=rows.get(income.agreement_id),
            )
            for income in plan.incomes
        ),
        fixed_costs=tuple(
            AgreementLine(
                name=cost.description_nl or cost.creditor_name,
                counterparty=cost.creditor_name,
                amount_cents=cost.amount_cents,
                schedule=_dated(cost.schedule, lang, on),
                agreement_row_id=rows.get(cost.agreement_id),
            )
            for cost in sorted(
                plan.fixed_costs, key=lambda item: (item.priority_class, item.agreement_id)
            )
        ),
        monthly_income_cents=totals.monthly_income_cents,
        monthly_fixed_costs_cents=totals.monthly_fixed_costs_cents,
        living_money_monthly_cents=totals.living_money_monthly_cents,
        living_money_weekly_cents=totals.living_money_weekly_cents if weekly else None,
        living_money_schedule=None if living is None else schedule_text(living.schedule, lang),
        living_money_iban=None if living is None else living.payee_iban,
        buffer_target_cents=totals.buffer_target_cents,
        buffer_build_up_cents=plan.buffer.monthly_build_up_cents,
        advance_cents=plan.buffer.advance_cents,
        advance_repayment_cents=plan.buffer.monthly_advance_repayment_cents,
    )


FREQUENCY_KEYS = {
    "weekly": "frequency.weekly",
    "every_two_weeks": "frequency.two_weeks",
    "monthly": "frequency.monthly",
}


def change_text(change: PlanChange, lang: str, agreement_names: dict[int, str]) -> str:
    """One sentence: what the proposal changes."""

    def agreement(row_id: int) -> str:
        return agreement_names.get(row_id, translate(lang, "change.unknown_agreement"))

    if isinstance(change, LivingMoneyAmountChange):
        return translate(
            lang, "change.living_money_amount", amount=money(change.amount_cents_per_month, lang)
        )
    if isinstance(change, LivingMoneyScheduleChange):
        if change.frequency == "monthly":
            when = translate(lang, "schedule.monthly", day=change.day_of_month)
        elif change.frequency == "weekly":
            when = translate(
                lang, "schedule.weekly", weekday=weekday_name(change.weekday or 0, lang)
            )
        else:
            when = translate(
                lang,
                "schedule.every_weeks",
                weeks=2,
                weekday=weekday_name(change.weekday or 0, lang),
            )
        return translate(lang, "change.living_money_schedule", when=when)
    if isinstance(change, FixedCostAddChange):
        return translate(
            lang,
            "change.fixed_cost_add",
            name=change.description,
            creditor=change.creditor_name,
            amount=money(change.amount_cents, lang),
        )
    if isinstance(change, FixedCostRemoveChange):
        return translate(lang, "change.fixed_cost_remove", name=agreement(change.agreement_id))
    if isinstance(change, FixedCostAmountChange):
        return translate(
            lang,
            "change.fixed_cost_amount",
            name=agreement(change.agreement_id),
            amount=money(change.amount_cents, lang),
        )
    if isinstance(change, BufferPolicyChange):
        return translate(
            lang,
            "change.buffer_policy",
            months=change.target_months,
            amount=money(change.build_up_cents_per_month, lang),
        )
    if isinstance(change, ExtraPayoutChange):
        return translate(lang, "change.extra_payout", amount=money(change.amount_cents, lang))
    if isinstance(change, CreditorIbanCorrectionChange):
        return translate(lang, "change.creditor_iban")
    if isinstance(change, AgreementFollowUpChange | AgreementCopyChange):
        # Follow up / copy an agreement (issue 8).
        return translate(
            lang,
            f"change.{change.kind}",
            name=agreement(change.agreement_id),
            amount=money(change.amount_cents, lang),
            date=date_medium(change.from_date, lang),
        )
    if isinstance(change, AgreementEndChange):
        return translate(
            lang,
            "change.agreement_end",
            name=agreement(change.agreement_id),
            date=date_medium(change.end_date, lang),
        )
    if isinstance(change, FixedCostPaidByParticipantChange):
        # Zelfregie step 3 (issue 12).
        key = "on" if change.paid_by_participant else "off"
        return translate(
            lang,
            f"change.fixed_cost_paid_by_participant.{key}",
            name=agreement(change.agreement_id),
        )
    if isinstance(change, EndParticipationChange):
        # Ending participation (backend.ending); the date is the proposal's date.
        return translate(lang, "change.end_participation")
    if isinstance(change, InitialPlanChange):  # onboarding: the whole first plan
        return initial_plan_text(change.plan, lang)
    if isinstance(change, AutonomyStepChange):
        return translate(
            lang,
            "change.autonomy_step",
            step=change.step,
            name=translate(lang, f"autonomy.step.{change.step}"),
        )
    return ""  # pragma: no cover - the union is exhaustive


def initial_plan_text(plan: Plan, lang: str) -> str:
    """Onboarding's first plan in two sentences: the month in figures, then the buffer."""
    costs = ", ".join(
        f"{cost.description_nl or cost.creditor_name} {money(cost.amount_cents, lang)}"
        for cost in plan.fixed_costs
    )
    text = translate(
        lang,
        "change.initial_plan",
        date=date_medium(plan.effective_from, lang),
        income=money(plan.monthly_income_cents, lang),
        costs=money(plan.monthly_fixed_costs_cents, lang),
        names=costs or "-",
        living=money(plan.living_money_monthly_cents, lang),
        when=schedule_text(plan.living_money.schedule, lang) if plan.living_money else "-",
        build_up=money(plan.buffer.monthly_build_up_cents, lang),
    )
    if plan.buffer.advance_cents:
        text += " " + translate(
            lang,
            "change.initial_plan_advance",
            amount=money(plan.buffer.advance_cents, lang),
            repayment=money(plan.buffer.monthly_advance_repayment_cents, lang),
        )
    return text
