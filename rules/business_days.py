"""TARGET business days and execution dates.

A SEPA credit transfer arrives the next business day, so a payment due on day D is
executed on the last TARGET business day strictly before D: rent due on Tuesday
1 December 2026 is executed on Monday 30 November.

TARGET (the euro payment system) is closed on weekends, 1 January, Good Friday,
Easter Monday, 1 May and 25/26 December; the `holidays` package knows these as
`financial_holidays("XECB")`. Dutch public holidays such as Koningsdag are bank
working days.
"""

from __future__ import annotations

import datetime as dt
import functools

import holidays

# TARGET never closes for more than a long weekend plus Easter or Christmas; a search
# that walks further than this is a bug, not a calendar.
SEARCH_DAYS_MAX = 14

_SATURDAY = 5


@functools.lru_cache(maxsize=64)
def target_closing_days(year: int) -> frozenset[dt.date]:
    """TARGET closing days of one year, weekends not included."""
    return frozenset(holidays.financial_holidays("XECB", years=year).keys())


def is_target_business_day(day: dt.date) -> bool:
    return day.weekday() < _SATURDAY and day not in target_closing_days(day.year)


# Cached (dates only, bounded): every participant's rent of the 1st asks the same day.
@functools.lru_cache(maxsize=4096)
def execution_date(due_date: dt.date) -> dt.date:
    """The last TARGET business day strictly before `due_date`."""
    day = due_date
    for _ in range(SEARCH_DAYS_MAX):
        day -= dt.timedelta(days=1)
        if is_target_business_day(day):
            return day
    raise AssertionError(f"no TARGET business day in the {SEARCH_DAYS_MAX} days before {due_date}")


@functools.lru_cache(maxsize=4096)
def next_business_day(on_or_after: dt.date) -> dt.date:
    """`on_or_after` itself when TARGET is open that day, else the next day it is."""
    day = on_or_after
    for _ in range(SEARCH_DAYS_MAX):
        if is_target_business_day(day):
            return day
        day += dt.timedelta(days=1)
    raise AssertionError(f"no TARGET business day in the {SEARCH_DAYS_MAX} days from {on_or_after}")
