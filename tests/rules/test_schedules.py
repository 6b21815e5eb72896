"""Schedules: which dates a fixed cost is due, income is expected or living money is paid."""

from __future__ import annotations

import datetime as dt
import itertools
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from rules import (
    MonthlySchedule,
    OnceSchedule,
    QuarterlySchedule,
    Schedule,
    Weekday,
    WeeklySchedule,
    YearlySchedule,
    installment_dates,
    next_occurrence,
    occurrences,
)
from rules.schedules import monthly_share, round_half_up

D = dt.date


def test_monthly_on_the_31st_falls_back_to_the_last_day_of_short_months() -> None:
    rent = MonthlySchedule(day_of_month=31, start_date=D(2027, 1, 1))
    assert occurrences(rent, D(2027, 1, 1), D(2027, 4, 30)) == [
        D(2027, 1, 31),
        D(2027, 2, 28),
        D(2027, 3, 31),
        D(2027, 4, 30),
    ]
    assert occurrences(rent, D(2028, 2, 1), D(2028, 2, 29)) == [D(2028, 2, 29)]


def test_start_and_end_dates_are_inclusive() -> None:
    schedule = MonthlySchedule(day_of_month=1, start_date=D(2026, 3, 1), end_date=D(2026, 5, 1))
    assert occurrences(schedule, D(2026, 1, 1), D(2026, 12, 31)) == [
        D(2026, 3, 1),
        D(2026, 4, 1),
        D(2026, 5, 1),
    ]


def test_every_two_weeks_on_a_weekday_starts_on_the_first_such_day() -> None:
    # 2026-03-20 is a Friday; the first Monday on or after it is 23 March.
    schedule = WeeklySchedule(weekday=Weekday.MONDAY, every_weeks=2, start_date=D(2026, 3, 20))
    assert occurrences(schedule, D(2026, 3, 1), D(2026, 4, 30)) == [
        D(2026, 3, 23),
        D(2026, 4, 6),
        D(2026, 4, 20),
    ]


def test_weekly_schedule_keeps_its_rhythm_across_years() -> None:
    schedule = WeeklySchedule(weekday=Weekday.THURSDAY, every_weeks=3, start_date=D(2026, 11, 1))
    dates = occurrences(schedule, D(2026, 11, 1), D(2027, 3, 1))
    assert all(day.weekday() == Weekday.THURSDAY for day in dates)
    assert {(b - a).days for a, b in itertools.pairwise(dates)} == {21}


def test_quarterly_and_yearly() -> None:
    quarterly = QuarterlySchedule(month=2, day_of_month=31, start_date=D(2026, 1, 1))
    assert occurrences(quarterly, D(2026, 1, 1), D(2026, 12, 31)) == [
        D(2026, 2, 28),
        D(2026, 5, 31),
        D(2026, 8, 31),
        D(2026, 11, 30),
    ]
    yearly = YearlySchedule(month=2, day_of_month=29, start_date=D(2026, 1, 1))
    assert occurrences(yearly, D(2026, 1, 1), D(2028, 12, 31)) == [
        D(2026, 2, 28),
        D(2027, 2, 28),
        D(2028, 2, 29),
    ]


def test_once() -> None:
    once = OnceSchedule(on_date=D(2026, 6, 15))
    assert occurrences(once, D(2026, 1, 1), D(2026, 12, 31)) == [D(2026, 6, 15)]
    assert occurrences(once, D(2026, 6, 16), D(2026, 12, 31)) == []
    assert next_occurrence(once, D(2026, 6, 1)) == D(2026, 6, 15)


def test_refuses_impossible_schedules_with_a_clear_message() -> None:
    with pytest.raises(ValidationError, match="before start_date"):
        MonthlySchedule(day_of_month=1, start_date=D(2026, 5, 1), end_date=D(2026, 4, 1))
    with pytest.raises(ValidationError, match="does not exist in month 4"):
        YearlySchedule(month=4, day_of_month=31, start_date=D(2026, 1, 1))
    with pytest.raises(ValidationError):
        MonthlySchedule(day_of_month=32, start_date=D(2026, 1, 1))


def test_a_schedule_round_trips_through_json_with_its_kind() -> None:
    adapter: TypeAdapter[Schedule] = TypeAdapter(Schedule)
    for schedule in (
        MonthlySchedule(day_of_month=31, start_date=D(2026, 1, 1)),
        WeeklySchedule(weekday=Weekday.FRIDAY, every_weeks=4, start_date=D(2026, 1, 1)),
        QuarterlySchedule(month=1, day_of_month=15, start_date=D(2026, 1, 1)),
        YearlySchedule(month=3, day_of_month=31, start_date=D(2026, 1, 1), end_date=D(2030, 1, 1)),
        OnceSchedule(on_date=D(2026, 8, 1)),
    ):
        assert adapter.validate_json(adapter.dump_json(schedule)) == schedule


def test_yearly_cost_is_saved_for_in_twelve_monthly_steps() -> None:
    taxes = YearlySchedule(month=3, day_of_month=31, start_date=D(2026, 4, 1))
    dates = installment_dates(taxes, D(2027, 3, 31))
    assert len(dates) == 12
    assert dates[0] == D(2026, 4, 30)
    assert dates[10] == D(2027, 2, 28)
    assert dates[-1] == D(2027, 3, 31)


def test_first_year_of_a_yearly_cost_is_spread_over_the_months_that_remain() -> None:
    taxes = YearlySchedule(month=3, day_of_month=31, start_date=D(2026, 11, 1))
    assert installment_dates(taxes, D(2027, 3, 31)) == (
        D(2026, 11, 30),
        D(2026, 12, 31),
        D(2027, 1, 31),
        D(2027, 2, 28),
        D(2027, 3, 31),
    )


def test_monthly_share_and_rounding() -> None:
    start = D(2026, 1, 1)
    assert monthly_share(31200, YearlySchedule(month=3, day_of_month=31, start_date=start)) == 2600
    assert monthly_share(9000, QuarterlySchedule(month=1, day_of_month=1, start_date=start)) == 3000
    weekly = WeeklySchedule(weekday=Weekday.MONDAY, start_date=start)
    assert monthly_share(1200, weekly) == Fraction(1200 * 52, 12)
    assert monthly_share(5000, OnceSchedule(on_date=start)) == 0
    assert round_half_up(Fraction(5, 2)) == 3
    assert round_half_up(Fraction(-5, 2)) == -3
    assert round_half_up(Fraction(506520, 52)) == 9741


@given(
    day_of_month=st.integers(1, 31),
    start=st.dates(D(2020, 1, 1), D(2030, 12, 31)),
    span_days=st.integers(0, 800),
)
def test_monthly_dates_are_one_per_month_inside_the_range(
    day_of_month: int, start: dt.date, span_days: int
) -> None:
    schedule = MonthlySchedule(day_of_month=day_of_month, start_date=D(2020, 1, 1))
    end = start + dt.timedelta(days=span_days)
    dates = occurrences(schedule, start, end)
    assert all(start <= day <= end for day in dates)
    assert len({(day.year, day.month) for day in dates}) == len(dates)
    assert all(day.day == day_of_month or day.day < day_of_month for day in dates)
