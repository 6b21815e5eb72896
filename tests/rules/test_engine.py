"""Engine rules beyond the worked scenarios: plan changes, returned payments, catch-up,
bad input, determinism."""

from __future__ import annotations

import datetime as dt

import pytest

from ledger import AccountKind, JournalEntry, Posting
from rules import (
    REASON_PAYMENT_RETURNED,
    AlertKind,
    Balances,
    BufferPolicy,
    OpenItems,
    PayFixedCost,
    PayLivingMoney,
    RaiseAlert,
    ReleaseReservation,
    ReserveFixedCost,
    RulesError,
    evaluate,
    horizon_end,
    payout_amount_cents,
    returned_payment_metadata,
)
from tests.rules.support import (
    ANNA_STARTS,
    MUNICIPAL_BANK,
    RENT,
    Arrival,
    MiniLedger,
    account,
    anna_from_the_start,
    anna_plan,
    euro,
    monthly,
    run,
)

D = dt.date


def _anna_until(day: dt.date) -> MiniLedger:
    ledger = anna_from_the_start()
    ledger.open_with(ANNA_STARTS, available=euro("50,00"))
    return run(ledger, ANNA_STARTS, day)


def _new_version(ledger: MiniLedger, effective_from: dt.date, **changes: object) -> None:
    ledger.plan = anna_plan(
        version=ledger.plan.version + 1, effective_from=effective_from, **changes
    )


def test_same_inputs_same_actions_and_nothing_left_after_applying_them() -> None:
    ledger = _anna_until(D(2026, 11, 24))
    ledger.settle_payable(D(2026, 11, 25))
    ledger.receive("benefit", euro("1.312,48"), D(2026, 11, 25))
    first = ledger.evaluate(D(2026, 11, 25))
    assert first, "the benefit is reserved"
    assert ledger.evaluate(D(2026, 11, 25)) == first
    ledger.apply(D(2026, 11, 25), first)
    assert ledger.evaluate(D(2026, 11, 25)) == []


def test_new_plan_version_never_pays_a_due_date_again() -> None:
    ledger = _anna_until(D(2026, 11, 30))  # rent for 1 December paid on 30 November
    _new_version(
        ledger, D(2026, 12, 1), fixed_costs=(RENT.model_copy(update={"amount_cents": 70000}),)
    )
    run(ledger, D(2026, 12, 1), D(2026, 12, 31))
    rent_payments = [
        (a.due_date, a.amount_cents, a.plan_version)
        for a in ledger.all_actions()
        if isinstance(a, PayFixedCost) and a.agreement_id == "rent" and a.due_date >= D(2026, 12, 1)
    ]
    assert rent_payments == [(D(2026, 12, 1), 64500, 1), (D(2027, 1, 1), 70000, 2)]


def test_higher_amount_in_a_new_version_is_reserved_on_top() -> None:
    ledger = _anna_until(D(2026, 11, 25))  # rent for 1 December reserved at 645,00
    costs = tuple(
        cost.model_copy(update={"amount_cents": 70000}) if cost.agreement_id == "rent" else cost
        for cost in anna_plan().fixed_costs
    )
    _new_version(ledger, D(2026, 11, 26), fixed_costs=costs)
    run(ledger, D(2026, 11, 26), D(2026, 11, 30))
    extra = [
        a.amount_cents
        for a in ledger.actions_between(D(2026, 11, 26), D(2026, 11, 30))
        if isinstance(a, ReserveFixedCost) and a.agreement_id == "rent"
    ]
    assert extra == [5500]
    pay = next(
        a
        for a in ledger.all_actions()
        if isinstance(a, PayFixedCost) and (a.agreement_id, a.due_date) == ("rent", D(2026, 12, 1))
    )
    assert (pay.amount_cents, pay.plan_version) == (70000, 2)


def test_moved_due_date_releases_the_old_reservation_and_pays_nothing_retroactively() -> None:
    # The new schedule keeps the old start date (20 March): its dates 3 April ... 3 November
    # were never due, and must not be paid as if they were arrears.
    ledger = _anna_until(D(2026, 11, 25))
    costs = tuple(
        cost.model_copy(update={"schedule": monthly(3)}) if cost.agreement_id == "rent" else cost
        for cost in anna_plan().fixed_costs
    )
    _new_version(ledger, D(2026, 11, 26), fixed_costs=costs)
    actions = ledger.run_day(D(2026, 11, 26))
    released = [a for a in actions if isinstance(a, ReleaseReservation)]
    assert [(a.agreement_id, a.due_date, a.amount_cents) for a in released] == [
        ("rent", D(2026, 12, 1), 64500)
    ]
    assert "niet meer nodig" in released[0].explanation_nl
    reserved = [a for a in actions if isinstance(a, ReserveFixedCost) and a.agreement_id == "rent"]
    assert [(a.due_date, a.amount_cents) for a in reserved] == [(D(2026, 12, 3), 64500)]
    run(ledger, D(2026, 11, 27), D(2026, 12, 5))
    rent_paid = [
        a.due_date
        for a in ledger.actions_between(D(2026, 11, 26), D(2026, 12, 5))
        if isinstance(a, PayFixedCost) and a.agreement_id == "rent"
    ]
    assert rent_paid == [D(2026, 12, 3)]


def test_returned_payment_stays_reserved_and_is_not_retried() -> None:
    ledger = _anna_until(D(2026, 12, 1))
    ledger.post(
        JournalEntry(
            idempotency_key="return:AC04:rent:2026-12-01",
            booking_date=D(2026, 12, 2),
            reason_code=REASON_PAYMENT_RETURNED,
            explanation="Betaling aan Mitros kwam terug: de rekening is opgeheven.",
            postings=(
                Posting(MUNICIPAL_BANK, 64500),
                Posting(account(AccountKind.RESERVED), -64500),
            ),
            metadata=returned_payment_metadata("rent", D(2026, 12, 1)),
        )
    )
    run(ledger, D(2026, 12, 2), D(2026, 12, 31))
    after = ledger.actions_between(D(2026, 12, 2), D(2026, 12, 31))
    assert not [a for a in after if getattr(a, "due_date", None) == D(2026, 12, 1)]
    assert ledger.builder.build().reserved_by_due_date()[("rent", D(2026, 12, 1))] == 64500


def test_a_missed_living_money_day_is_caught_up_but_a_short_one_is_not() -> None:
    ledger = _anna_until(D(2026, 11, 22))
    ledger.settle_payable(D(2026, 11, 23))  # the cycle does not run on Monday 23 November
    actions = ledger.run_day(D(2026, 11, 24))
    assert [a.payout_date for a in actions if isinstance(a, PayLivingMoney)] == [D(2026, 11, 23)]


def test_each_alert_is_raised_once() -> None:
    # The April benefit never arrives: one alert, not one a day.
    no_april = {("benefit", D(2026, 4, 25)): Arrival(None, 0)}
    ledger = MiniLedger(anna_plan())
    ledger.open_with(ANNA_STARTS, available=euro("50,00"), buffer_advance=euro("1.500,00"))
    run(ledger, ANNA_STARTS, D(2026, 5, 31), no_april)
    keys = [a.idempotency_key for a in ledger.all_actions() if isinstance(a, RaiseAlert)]
    assert len(keys) == len(set(keys))
    missing_alerts = [
        a
        for a in ledger.all_actions()
        if isinstance(a, RaiseAlert) and a.alert_kind is AlertKind.INCOME_MISSING
    ]
    assert [(a.on_date, a.subject_date) for a in missing_alerts] == [
        (D(2026, 5, 1), D(2026, 4, 25))
    ]


def test_month_end_alerts_when_the_buffer_or_the_advance_falls_behind() -> None:
    # Nothing came in during March: the buffer did not grow as agreed.
    empty = MiniLedger(anna_plan())
    empty.open_with(ANNA_STARTS, buffer_advance=euro("1.500,00"))
    kinds = {getattr(a, "alert_kind", None) for a in empty.evaluate(D(2026, 3, 31))}
    assert AlertKind.BUFFER_BELOW_TARGET in kinds
    # A buffer at target with an advance and no money to repay it.
    at_target = MiniLedger(anna_plan(incomes=(), fixed_costs=()))
    at_target.open_with(ANNA_STARTS, buffer_advance=euro("1.500,00"))
    alerts = at_target.evaluate(D(2026, 3, 31))
    assert [getattr(a, "alert_kind", None) for a in alerts] == [AlertKind.ADVANCE_NOT_REPAID]
    # On any other day of the month: nothing yet.
    assert at_target.evaluate(D(2026, 3, 30)) == []


def test_horizon_is_the_next_income_plus_its_window() -> None:
    ledger = _anna_until(D(2026, 11, 25))
    assert horizon_end(ledger.plan, ledger.builder.build(), D(2026, 11, 25)) == D(2026, 12, 25)
    assert horizon_end(ledger.plan, ledger.builder.build(), D(2026, 12, 20)) == D(2026, 12, 25)
    assert horizon_end(anna_plan(incomes=()), OpenItems(), D(2026, 12, 20)) == D(2027, 1, 20)


def test_bad_input_is_refused_with_a_clear_message() -> None:
    plan = anna_plan()
    with pytest.raises(RulesError, match="not yet on 2026-03-19"):
        evaluate(plan, Balances(), OpenItems(), D(2026, 3, 19))
    with pytest.raises(RulesError, match="available holds -1 cents"):
        evaluate(plan, Balances(available_cents=-1), OpenItems(), ANNA_STARTS)
    with pytest.raises(RulesError, match="it can only be a debt"):
        evaluate(plan, Balances(buffer_advance_cents=5), OpenItems(), ANNA_STARTS)
    with pytest.raises(RulesError, match="open reservations add up to 0 cents"):
        evaluate(plan, Balances(reserved_cents=100), OpenItems(), ANNA_STARTS)


def test_every_action_of_a_long_eventful_run_explains_itself_in_both_languages() -> None:
    eventful = {
        ("benefit", D(2026, 6, 25)): Arrival(D(2026, 7, 3), euro("1.312,48")),
        ("benefit", D(2026, 9, 25)): Arrival(D(2026, 9, 25), euro("900,00")),
        ("zorgtoeslag", D(2026, 10, 20)): Arrival(None, 0),
    }
    ledger = MiniLedger(anna_plan())
    ledger.open_with(ANNA_STARTS, buffer_advance=euro("1.500,00"))
    run(ledger, ANNA_STARTS, D(2027, 3, 31), eventful)
    actions = ledger.all_actions()
    assert {a.rule_id for a in actions} >= {
        "fixed_cost.reserve",
        "fixed_cost.pay",
        "buffer.draw",
        "buffer.refill",
        "buffer.build_up",
        "living_money.pay",
        "alert",
    }
    for action in actions:
        assert action.explanation_nl.strip(), action
        assert action.explanation_en.strip(), action
        assert action.explanation_nl.endswith("."), action.explanation_nl
        assert action.explanation_nl != action.explanation_en


def test_arrears_from_an_older_plan_version_are_still_paid_when_money_comes() -> None:
    small = BufferPolicy(
        monthly_build_up_cents=euro("25,00"),
        advance_cents=euro("200,00"),
        monthly_advance_repayment_cents=euro("25,00"),
    )
    ledger = MiniLedger(anna_plan(buffer=small))
    ledger.open_with(ANNA_STARTS, available=euro("50,00"), buffer_advance=euro("200,00"))
    no_december = {
        ("benefit", D(2026, 12, 25)): Arrival(None, 0),
        ("zorgtoeslag", D(2026, 12, 20)): Arrival(None, 0),
    }
    run(ledger, ANNA_STARTS, D(2027, 1, 5), no_december)
    assert not [
        a
        for a in ledger.all_actions()
        if isinstance(a, PayFixedCost) and (a.agreement_id, a.due_date) == ("rent", D(2027, 1, 1))
    ]
    ledger.plan = anna_plan(version=2, effective_from=D(2027, 1, 6), buffer=small)
    run(ledger, D(2027, 1, 6), D(2027, 1, 27))
    late = [
        a
        for a in ledger.all_actions()
        if isinstance(a, PayFixedCost) and (a.agreement_id, a.due_date) == ("rent", D(2027, 1, 1))
    ]
    assert [(a.plan_version, a.late) for a in late] == [(2, True)]


def test_weekly_living_money_is_the_weekly_amount_with_the_rounding_at_month_end() -> None:
    plan = anna_plan()
    monthly_cents = plan.living_money_monthly_cents

    def month(year: int, month: int) -> list[int]:
        days = [D(year, month, day) for day in range(1, 32) if _exists(year, month, day)]
        return [payout_amount_cents(monthly_cents, plan, day) for day in days if day.weekday() == 0]

    assert month(2026, 11) == [9741, 9741, 9741, 9741, 9740]  # 422,10 x 12 x 5 / 52 = 487,04
    assert month(2026, 12) == [9741, 9741, 9741, 9740]  # 422,10 x 12 x 4 / 52 = 389,63
    # 2027 has 52 Mondays: the year's payouts are exactly twelve months of living money.
    assert sum(sum(month(2027, m)) for m in range(1, 13)) == 12 * monthly_cents
    # Rounded down instead of up: the extra cent goes with the last payout of the month.
    assert [
        payout_amount_cents(10030, plan, day)
        for day in (D(2026, 12, 7), D(2026, 12, 14), D(2026, 12, 21), D(2026, 12, 28))
    ] == [2315, 2315, 2314, 2314]


def _exists(year: int, month: int, day: int) -> bool:
    try:
        D(year, month, day)
    except ValueError:
        return False
    return True
