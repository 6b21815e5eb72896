"""Forecast: what is coming for Anna if every income arrives on its day."""

from __future__ import annotations

import datetime as dt

import pytest

from rules import PayFixedCost, PayLivingMoney, RulesError, filled_until, simulate
from tests.rules.support import ANNA_STARTS, MiniLedger, anna_from_the_start, run

D = dt.date


def _anna_until(day: dt.date) -> MiniLedger:
    ledger = anna_from_the_start()
    ledger.open_with(ANNA_STARTS, available=5000)
    return run(ledger, ANNA_STARTS, day)


def _income_cents(ledger: MiniLedger, start: dt.date, end: dt.date) -> int:
    return sum(
        entry.amount_cents()
        for entry in ledger.entries
        if entry.reason_code == "income.matched" and start <= entry.booking_date <= end
    )


def test_filled_until_is_the_last_due_date_fully_covered() -> None:
    ledger = _anna_until(D(2026, 11, 25))
    # Reserved: energy and water 28 Nov, rent and insurance 1 Dec, phone 15 Dec; the
    # energy due 28 December waits for the December zorgtoeslag.
    assert filled_until(ledger.plan, ledger.builder.build(), D(2026, 11, 25)) == D(2026, 12, 15)


def test_nothing_is_filled_while_the_first_due_date_is_not_covered() -> None:
    ledger = anna_from_the_start()
    assert filled_until(ledger.plan, ledger.builder.build(), ANNA_STARTS) is None


def test_forecast_is_what_the_daily_cycle_does_when_incomes_are_on_time() -> None:
    ledger = _anna_until(D(2026, 10, 31))
    start, end = D(2026, 11, 1), D(2027, 1, 31)
    forecast = simulate(ledger.plan, ledger.balances(), ledger.builder.build(), start, months=3)
    assert (forecast.start, forecast.end, len(forecast.days)) == (start, end, 92)
    assert forecast.filled_until == filled_until(ledger.plan, ledger.builder.build(), start)

    run(ledger, start, end)
    actual = ledger.actions_between(start, end)
    assert forecast.income_cents == _income_cents(ledger, start, end)
    assert forecast.fixed_costs_paid_cents == sum(
        a.amount_cents for a in actual if isinstance(a, PayFixedCost)
    )
    assert forecast.living_money_cents == sum(
        a.amount_cents for a in actual if isinstance(a, PayLivingMoney)
    )
    balances = ledger.balances()
    last = forecast.days[-1]
    assert (last.available_cents, last.reserved_cents, last.buffer_cents) == (
        balances.available_cents,
        balances.reserved_cents,
        balances.buffer_cents,
    )
    rent_day = next(day for day in forecast.days if day.day == D(2026, 11, 30))
    assert {p.agreement_id for p in rent_day.fixed_cost_payments} == {"rent", "health"}
    assert all(not day.alerts for day in forecast.days)


def test_forecast_length_is_bounded() -> None:
    ledger = anna_from_the_start()
    with pytest.raises(RulesError, match="1 to 24 months"):
        simulate(ledger.plan, ledger.balances(), ledger.builder.build(), ANNA_STARTS, months=25)
