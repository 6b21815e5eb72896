"""Zelfregie: savings-goal forecast and the conditions for the next step of autonomy."""

from __future__ import annotations

import datetime as dt

import pytest

from rules import Forecast, ForecastDay, RulesError
from rules.zelfregie import (
    AutonomyStep,
    ConditionCode,
    StepFacts,
    add_months,
    free_to_set_aside,
    goal_forecast,
    next_step_conditions,
    whole_months_between,
)

D = dt.date


def test_add_months_keeps_the_day_or_takes_the_last_day_of_a_short_month() -> None:
    assert add_months(D(2026, 11, 28), 1) == D(2026, 12, 28)
    assert add_months(D(2026, 1, 31), 1) == D(2026, 2, 28)
    assert add_months(D(2026, 12, 15), 2) == D(2027, 2, 15)


def test_whole_months_between() -> None:
    assert whole_months_between(D(2026, 1, 15), D(2026, 4, 14)) == 2
    assert whole_months_between(D(2026, 1, 15), D(2026, 4, 15)) == 3
    assert whole_months_between(D(2026, 4, 15), D(2026, 1, 15)) == 0


def test_a_fridge_for_400_euro_at_50_a_month() -> None:
    forecast = goal_forecast(
        saved_cents=10_000,
        target_cents=40_000,
        monthly_cents=5_000,
        today=D(2026, 11, 28),
        target_date=D(2027, 8, 1),
    )
    assert forecast.remaining_cents == 30_000
    assert forecast.progress_percent == 25
    assert forecast.months_needed == 6
    assert forecast.reached_on == D(2027, 5, 28)
    assert forecast.on_time is True
    # 8 whole months to 1 Aug 2027: 300 / 8 = 37,50
    assert forecast.monthly_needed_cents == 3_750


def test_too_slow_for_the_target_date_says_so_and_what_it_takes() -> None:
    forecast = goal_forecast(
        saved_cents=0,
        target_cents=12_000,
        monthly_cents=1_000,
        today=D(2026, 11, 28),
        target_date=D(2027, 2, 28),
    )
    assert forecast.months_needed == 12
    assert forecast.on_time is False
    assert forecast.monthly_needed_cents == 4_000


def test_no_monthly_amount_gives_no_date_and_a_reached_goal_is_reached_today() -> None:
    none = goal_forecast(saved_cents=0, target_cents=100, monthly_cents=0, today=D(2026, 1, 1))
    assert none.reached_on is None and none.months_needed is None and not none.reached
    done = goal_forecast(saved_cents=150, target_cents=100, monthly_cents=0, today=D(2026, 1, 1))
    assert done.reached and done.progress_percent == 100 and done.reached_on == D(2026, 1, 1)


def test_a_target_date_that_passed_asks_for_the_whole_remainder() -> None:
    forecast = goal_forecast(
        saved_cents=0,
        target_cents=5_000,
        monthly_cents=0,
        today=D(2026, 9, 1),
        target_date=D(2026, 8, 1),
    )
    assert forecast.monthly_needed_cents == 5_000


def test_impossible_goals_are_refused() -> None:
    with pytest.raises(RulesError):
        goal_forecast(saved_cents=0, target_cents=0, monthly_cents=0, today=D(2026, 1, 1))
    with pytest.raises(RulesError):
        goal_forecast(saved_cents=0, target_cents=1, monthly_cents=-1, today=D(2026, 1, 1))


def test_step_one_needs_three_months_without_arrears() -> None:
    facts = StepFacts(AutonomyStep.MANAGED, step_since=D(2026, 1, 10), today=D(2026, 3, 20))
    step = next_step_conditions(facts)
    assert step.next is AutonomyStep.CHOOSES_PAYOUTS
    (condition,) = step.conditions
    assert condition.code is ConditionCode.MONTHS_WITHOUT_ARREARS
    assert (condition.done, condition.needed, condition.met) == (2, 3, False)
    assert not step.ready
    later = next_step_conditions(
        StepFacts(AutonomyStep.MANAGED, step_since=D(2026, 1, 10), today=D(2026, 4, 10))
    )
    assert later.ready


def test_arrears_restart_the_count() -> None:
    facts = StepFacts(
        AutonomyStep.CHOOSES_PAYOUTS,
        step_since=D(2026, 1, 1),
        today=D(2026, 6, 1),
        arrears_on=(D(2026, 4, 1), D(2025, 12, 1)),
    )
    step = next_step_conditions(facts)
    assert step.conditions[0].done == 2
    assert not step.ready


def _at_step_three(missed: tuple[dt.date, ...] = ()) -> StepFacts:
    return StepFacts(
        AutonomyStep.PAYS_OWN_COSTS,
        step_since=D(2026, 1, 1),
        today=D(2026, 5, 1),
        missed_own_payments_on=missed,
        buffer_cents=203_876,
        buffer_target_cents=203_876,
    )


def test_step_three_also_needs_no_missed_own_payment_and_a_full_buffer() -> None:
    ready = next_step_conditions(_at_step_three())
    assert ready.ready and ready.next is AutonomyStep.PREPARING_TO_LEAVE
    missed = next_step_conditions(_at_step_three((D(2026, 2, 16),)))
    codes = {c.code: c.met for c in missed.conditions}
    assert codes == {
        ConditionCode.MONTHS_WITHOUT_ARREARS: True,
        ConditionCode.NO_MISSED_OWN_PAYMENTS: False,
        ConditionCode.BUFFER_AT_TARGET: True,
    }


def test_the_last_step_has_no_next() -> None:
    step = next_step_conditions(
        StepFacts(AutonomyStep.PREPARING_TO_LEAVE, step_since=D(2026, 1, 1), today=D(2026, 1, 2))
    )
    assert step.next is None and not step.ready and step.conditions == ()


def _day(day: dt.date, *, income: int = 0, living: int = 0) -> ForecastDay:
    return ForecastDay(
        day=day,
        income_cents=income,
        living_money_cents=living,
        available_cents=0,
        reserved_cents=0,
        buffer_cents=0,
        buffer_advance_cents=0,
    )


def test_only_living_money_before_the_next_income_is_free_to_set_aside() -> None:
    forecast = Forecast(
        start=D(2026, 11, 28),
        end=D(2026, 12, 31),
        filled_until=None,
        days=(
            _day(D(2026, 11, 30), living=9_741),
            _day(D(2026, 12, 7), living=9_741),
            _day(D(2026, 12, 20), income=15_400),
            _day(D(2026, 12, 21), living=9_741),
        ),
    )
    assert free_to_set_aside(50_000, forecast) == 19_482
    assert free_to_set_aside(10_000, forecast) == 10_000
    assert free_to_set_aside(0, forecast) == 0
    assert free_to_set_aside(12_345, None) == 12_345
