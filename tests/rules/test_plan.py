"""Plans: Anna's numbers, validation with clear messages, JSON round trip."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from rules import (
    BufferPolicy,
    Category,
    FixedCostAgreement,
    IncomeAgreement,
    LivingMoneyPolicy,
    MonthlySchedule,
    OnceSchedule,
    PaymentReference,
    Plan,
    PriorityClass,
    QuarterlySchedule,
    Weekday,
    WeeklySchedule,
)
from tests.rules.support import BENEFIT, RENT, anna_plan, euro

D = dt.date


def test_annas_plan_has_the_numbers_of_the_worked_example() -> None:
    plan = anna_plan()
    assert plan.monthly_fixed_costs_cents == euro("1.019,38")
    assert plan.buffer_target_cents == euro("2.038,76")
    assert plan.monthly_income_cents == euro("1.466,48")
    assert plan.living_money_monthly_cents == euro("422,10")
    assert plan.living_money_weekly_cents == euro("97,41")


def test_plan_round_trips_through_json_unchanged() -> None:
    plan = anna_plan()
    assert Plan.model_validate_json(plan.model_dump_json()) == plan


def test_buffer_target_counts_non_monthly_costs_as_their_monthly_share() -> None:
    quarterly = RENT.model_copy(
        update={
            "agreement_id": "water-board",
            "amount_cents": 10001,
            "schedule": QuarterlySchedule(month=1, day_of_month=1, start_date=D(2026, 1, 1)),
        }
    )
    one_off = RENT.model_copy(
        update={"agreement_id": "once", "schedule": OnceSchedule(on_date=D(2026, 6, 1))}
    )
    plan = anna_plan(fixed_costs=(quarterly, one_off))
    # 100,01 / 3 = 33,3366... a month; two months 66,6733... -> 66,67 (rounded once, at the end)
    assert plan.monthly_fixed_costs_cents == 3334
    assert plan.buffer_target_cents == 6667


def test_living_money_cap_limits_the_agreed_amount() -> None:
    plan = anna_plan()
    assert plan.living_money is not None
    capped = plan.living_money.model_copy(update={"monthly_amount_cap_cents": euro("300,00")})
    assert anna_plan(living_money=capped).living_money_monthly_cents == euro("300,00")
    generous = plan.living_money.model_copy(update={"monthly_amount_cap_cents": euro("900,00")})
    assert anna_plan(living_money=generous).living_money_monthly_cents == euro("422,10")


def test_expected_date_for_a_received_income_is_the_nearest_window() -> None:
    assert BENEFIT.expected_date_for(D(2026, 12, 28)) == D(2026, 12, 25)
    assert BENEFIT.expected_date_for(D(2026, 11, 23)) == D(2026, 11, 25)
    assert BENEFIT.expected_date_for(D(2026, 12, 10)) is None


def _cost(**changes: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "agreement_id": "rent",
        "creditor_name": "Mitros",
        "creditor_iban": "NL44RABO0123456789",
        "amount_cents": 64500,
        "schedule": {"kind": "monthly", "day_of_month": 1, "start_date": "2026-01-01"},
        "reference": {"kind": "free_text", "text": "Huur"},
        "priority_class": 1,
        "category": "rent",
    }
    fields.update(changes)
    return fields


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amount_cents": -100}, "is negative"),
        ({"amount_cents": 0}, "needs an amount above zero"),
        ({"amount_cents": 9_000_000_00}, "not a household amount"),
        ({"amount_cents": 645.0}, "valid integer"),
        ({"creditor_iban": "  "}, "text is empty"),
        ({"agreement_id": "rent 1"}, "letters, digits"),
        ({"priority_class": 7}, "priority_class"),
        ({"reference": {"kind": "structured", "text": "12 34"}}, "7 to 16 digits"),
    ],
)
def test_fixed_cost_validation_says_what_is_wrong(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FixedCostAgreement.model_validate(_cost(**changes))


def test_structured_reference_is_accepted() -> None:
    cost = FixedCostAgreement.model_validate(
        _cost(reference={"kind": "structured", "text": "1234567890123456"})
    )
    assert cost.reference == PaymentReference(kind="structured", text="1234567890123456")
    assert cost.priority_class is PriorityClass.RENT_OR_MORTGAGE
    assert cost.category is Category.RENT


def test_income_tolerance_must_be_below_the_amount() -> None:
    with pytest.raises(ValidationError, match="any amount would match"):
        IncomeAgreement.model_validate(
            {**BENEFIT.model_dump(), "tolerance_cents": BENEFIT.expected_amount_cents}
        )


def test_buffer_advance_has_a_configurable_maximum_and_needs_a_repayment_rate() -> None:
    with pytest.raises(ValidationError, match="above the maximum"):
        BufferPolicy(advance_cents=150_001, monthly_advance_repayment_cents=2500)
    assert (
        BufferPolicy(
            advance_cents=200_000, advance_max_cents=250_000, monthly_advance_repayment_cents=2500
        ).advance_cents
        == 200_000
    )
    with pytest.raises(ValidationError, match="needs a monthly repayment"):
        BufferPolicy(advance_cents=100_000)


def test_weekly_living_money_is_every_week() -> None:
    with pytest.raises(ValidationError, match="every week"):
        LivingMoneyPolicy(
            schedule=WeeklySchedule(
                weekday=Weekday.MONDAY, every_weeks=2, start_date=D(2026, 1, 1)
            ),
            payee_name="A. de Vries",
            payee_iban="NL32INGB0007777777",
        )


def test_agreement_ids_are_unique_within_a_plan() -> None:
    with pytest.raises(ValidationError, match="repeated: \\['rent'\\]"):
        anna_plan(fixed_costs=(RENT, RENT))
    with pytest.raises(ValidationError, match="repeated"):
        Plan.model_validate(
            {
                **anna_plan().model_dump(),
                "incomes": [{**BENEFIT.model_dump(), "agreement_id": "rent"}],
            }
        )


def test_a_plan_refuses_unknown_fields() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        Plan.model_validate({**anna_plan().model_dump(), "surprise": 1})


def test_monthly_living_money_schedule_is_allowed() -> None:
    policy = LivingMoneyPolicy(
        schedule=MonthlySchedule(day_of_month=26, start_date=D(2026, 1, 1)),
        payee_name="A. de Vries",
        payee_iban="NL32INGB0007777777",
        monthly_floor_cents=euro("250,00"),
    )
    assert anna_plan(living_money=policy).living_money_monthly_cents == euro("422,10")
