"""TARGET business days: a payment due on day D is executed on the last business day before D."""

from __future__ import annotations

import datetime as dt

import pytest

from rules import execution_date, is_target_business_day, next_business_day

D = dt.date


@pytest.mark.parametrize(
    ("due", "executed", "why"),
    [
        (D(2026, 12, 1), D(2026, 11, 30), "rent due Tuesday 1 December: Monday before"),
        (D(2027, 1, 1), D(2026, 12, 31), "New Year's Day is closed; 31 December is open"),
        (D(2027, 3, 26), D(2027, 3, 25), "due on Good Friday: Thursday before"),
        (D(2027, 3, 29), D(2027, 3, 25), "due on Easter Monday: past Good Friday too"),
        (D(2027, 4, 27), D(2027, 4, 26), "due on Koningsdag: the day before"),
        (D(2027, 4, 28), D(2027, 4, 27), "Koningsdag is a bank working day"),
        (D(2027, 2, 28), D(2027, 2, 26), "due on a Sunday: Friday"),
        (D(2026, 12, 28), D(2026, 12, 24), "past Christmas and the weekend"),
        (D(2027, 5, 3), D(2027, 4, 30), "1 May closes TARGET (here a Saturday anyway)"),
        (D(2028, 5, 2), D(2028, 4, 28), "1 May 2028 is a Monday and closed"),
    ],
)
def test_execution_date(due: dt.date, executed: dt.date, why: str) -> None:
    assert execution_date(due) == executed, why


def test_target_closing_days_and_dutch_holidays() -> None:
    assert not is_target_business_day(D(2027, 3, 26))  # Good Friday
    assert not is_target_business_day(D(2027, 3, 29))  # Easter Monday
    assert not is_target_business_day(D(2028, 5, 1))  # Labour Day
    assert not is_target_business_day(D(2028, 12, 26))  # Boxing Day
    assert is_target_business_day(D(2027, 4, 27))  # Koningsdag
    assert is_target_business_day(D(2027, 5, 5))  # Bevrijdingsdag
    assert is_target_business_day(D(2027, 5, 6))  # Ascension Day (Hemelvaart)


def test_next_business_day() -> None:
    assert next_business_day(D(2027, 3, 26)) == D(2027, 3, 30)
    assert next_business_day(D(2027, 3, 30)) == D(2027, 3, 30)
