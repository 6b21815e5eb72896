"""Anna's money, day by day — the scenarios of MONEY-FLOW.md, readable by a caseworker.

Anna joins on Friday 20 March 2026 with € 50,00 of her own money and the
municipality's € 1.500,00 buffer advance. Her benefit (€ 1.312,48) is expected on
the 25th, her zorgtoeslag (€ 154,00) on the 20th. Unless a test says otherwise,
every income arrives on its day. The daily cycle runs every day: yesterday's
payments leave the bank, incomes are booked, the engine decides, its decisions
are booked.
"""

from __future__ import annotations

import datetime as dt

from rules import (
    AlertKind,
    BufferPolicy,
    BuildUpBuffer,
    DrawOnBuffer,
    LivingMoneyPolicy,
    MonthlySchedule,
    PayFixedCost,
    PayLivingMoney,
    RefillBuffer,
    RepayAdvance,
    ReserveFixedCost,
    Severity,
)
from tests.rules.support import (
    ANNA_STARTS,
    ENERGY,
    MUNICIPAL_TAXES,
    PHONE,
    RENT,
    WATER,
    Arrival,
    MiniLedger,
    anna_plan,
    euro,
    monthly,
    run,
)

D = dt.date


def anna(plan_changes: dict[str, object] | None = None, **opening: int) -> MiniLedger:
    ledger = MiniLedger(anna_plan(**(plan_changes or {})))
    ledger.open_with(
        ANNA_STARTS,
        available=opening.get("available", euro("50,00")),
        buffer_advance=opening.get("buffer_advance", euro("1.500,00")),
        buffer=opening.get("buffer", 0),
    )
    return ledger


def payments(ledger: MiniLedger, start: dt.date, end: dt.date) -> list[PayFixedCost]:
    return [a for a in ledger.actions_between(start, end) if isinstance(a, PayFixedCost)]


def paid_on(ledger: MiniLedger, agreement_id: str, due: dt.date) -> dt.date:
    found = [
        a.on_date
        for a in ledger.all_actions()
        if isinstance(a, PayFixedCost) and (a.agreement_id, a.due_date) == (agreement_id, due)
    ]
    assert len(found) == 1, f"{agreement_id} due {due} paid {len(found)} times"
    return found[0]


def living_money(ledger: MiniLedger, start: dt.date, end: dt.date) -> dict[dt.date, int]:
    return {
        a.payout_date: a.amount_cents
        for a in ledger.actions_between(start, end)
        if isinstance(a, PayLivingMoney)
    }


def alert_kinds(ledger: MiniLedger, start: dt.date, end: dt.date) -> list[AlertKind]:
    return [alert.alert_kind for alert in ledger.alerts_between(start, end)]


# -- an ordinary month ---------------------------------------------------------------------


def test_an_ordinary_month_matches_the_worked_numbers() -> None:
    ledger = run(anna(), ANNA_STARTS, D(2026, 11, 30))

    # The plan: two months of fixed costs as buffer, € 422,10 a month to live on.
    assert ledger.plan.buffer_target_cents == euro("2.038,76")
    assert ledger.plan.living_money_monthly_cents == euro("422,10")
    assert ledger.plan.living_money_weekly_cents == euro("97,41")

    # 20 and 25 November: the zorgtoeslag and the benefit are reserved for what is due
    # before the next income can be expected: energy and water 28 Nov, rent and health
    # insurance 1 Dec, phone 15 Dec and this month's share of the yearly tax.
    reserved: dict[tuple[str, dt.date], int] = {}
    for action in ledger.actions_between(D(2026, 11, 20), D(2026, 11, 25)):
        if isinstance(action, ReserveFixedCost):
            key = (action.agreement_id, action.due_date)
            reserved[key] = reserved.get(key, 0) + action.amount_cents
    assert reserved == {
        ("energy", D(2026, 11, 28)): euro("139,18"),
        ("water", D(2026, 11, 28)): euro("21,50"),
        ("rent", D(2026, 12, 1)): euro("645,00"),
        ("health", D(2026, 12, 1)): euro("152,70"),
        ("phone", D(2026, 12, 15)): euro("35,00"),
        ("taxes", D(2027, 3, 31)): euro("26,00"),
    }
    assert sum(reserved.values()) == euro("1.019,38")

    # Every fixed cost is executed on the last TARGET business day before it is due.
    assert paid_on(ledger, "phone", D(2026, 11, 15)) == D(2026, 11, 13)  # due on a Sunday
    assert paid_on(ledger, "energy", D(2026, 11, 28)) == D(2026, 11, 27)
    assert paid_on(ledger, "water", D(2026, 11, 28)) == D(2026, 11, 27)
    assert paid_on(ledger, "rent", D(2026, 12, 1)) == D(2026, 11, 30)
    assert paid_on(ledger, "health", D(2026, 12, 1)) == D(2026, 11, 30)
    rent = next(
        a for a in payments(ledger, D(2026, 11, 30), D(2026, 11, 30)) if a.agreement_id == "rent"
    )
    assert rent.explanation_nl == "Huur Mitros december — betaald volgens afspraak."

    # Living money on the five Mondays of November: € 97,41 a week, and the month's
    # rounding difference (422,10 x 12 x 5 / 52 = 487,04) with the last payout.
    assert living_money(ledger, D(2026, 11, 1), D(2026, 11, 30)) == {
        D(2026, 11, 2): 9741,
        D(2026, 11, 9): 9741,
        D(2026, 11, 16): 9741,
        D(2026, 11, 23): 9741,
        D(2026, 11, 30): 9740,
    }
    # € 25,00 into the buffer, once this month; nothing to alert.
    build_ups = [
        a
        for a in ledger.actions_between(D(2026, 11, 1), D(2026, 11, 30))
        if isinstance(a, BuildUpBuffer)
    ]
    assert [a.amount_cents for a in build_ups] == [euro("25,00")]
    assert alert_kinds(ledger, D(2026, 11, 1), D(2026, 11, 30)) == []


def test_december_energy_is_left_for_the_december_zorgtoeslag() -> None:
    ledger = run(anna(), ANNA_STARTS, D(2026, 12, 21))
    energy_december = [
        a.on_date
        for a in ledger.all_actions()
        if isinstance(a, ReserveFixedCost)
        and a.agreement_id == "energy"
        and a.due_date == D(2026, 12, 28)
    ]
    assert energy_december == [D(2026, 12, 20)]


# -- income late -----------------------------------------------------------------------------


def test_income_three_days_late_rent_still_paid_on_time_and_no_alert() -> None:
    late = {("benefit", D(2026, 12, 25)): Arrival(D(2026, 12, 28), euro("1.312,48"))}
    ledger = run(anna(), ANNA_STARTS, D(2027, 1, 5), late)

    assert paid_on(ledger, "rent", D(2027, 1, 1)) == D(2026, 12, 31)
    assert paid_on(ledger, "health", D(2027, 1, 1)) == D(2026, 12, 31)
    window = ledger.actions_between(D(2026, 12, 20), D(2027, 1, 5))
    assert not [a for a in window if isinstance(a, DrawOnBuffer)]
    assert alert_kinds(ledger, D(2026, 12, 20), D(2027, 1, 5)) == []


def test_income_eight_days_late_rent_paid_from_buffer_which_is_refilled_first() -> None:
    late = {("benefit", D(2026, 12, 25)): Arrival(D(2027, 1, 2), euro("1.312,48"))}
    ledger = run(anna(), ANNA_STARTS, D(2027, 1, 11), late)

    # 31 December: rent and insurance are not covered, so the buffer pays them on time.
    on_the_31st = ledger.actions_between(D(2026, 12, 31), D(2026, 12, 31))
    draws = [a for a in on_the_31st if isinstance(a, DrawOnBuffer)]
    assert {(a.agreement_id, a.amount_cents) for a in draws} == {
        ("rent", euro("645,00")),
        ("health", euro("152,70")),
    }
    assert paid_on(ledger, "rent", D(2027, 1, 1)) == D(2026, 12, 31)
    assert paid_on(ledger, "health", D(2027, 1, 1)) == D(2026, 12, 31)

    # Carla hears about it: the buffer was used because the income is late.
    alerts = ledger.alerts_between(D(2026, 12, 31), D(2026, 12, 31))
    used = [a for a in alerts if a.alert_kind is AlertKind.BUFFER_USED]
    assert used and all(a.explanation_nl.startswith("Inkomen te laat") for a in used)
    assert AlertKind.INCOME_MISSING in {a.alert_kind for a in alerts}

    # 2 January: the benefit arrives; the buffer gets back all that was drawn, before
    # any living money is paid.
    after = ledger.actions_between(D(2027, 1, 2), D(2027, 1, 11))
    refills = [a for a in after if isinstance(a, RefillBuffer)]
    assert [(a.on_date, a.amount_cents) for a in refills] == [(D(2027, 1, 2), euro("797,70"))]
    first_payout = next(a for a in after if isinstance(a, PayLivingMoney))
    assert after.index(refills[0]) < after.index(first_payout)


# -- income short ------------------------------------------------------------------------------


def test_income_200_euro_short_living_money_drops_fixed_costs_still_paid() -> None:
    short = {("benefit", D(2026, 11, 25)): Arrival(D(2026, 11, 25), euro("1.112,48"))}
    normal = run(anna(), ANNA_STARTS, D(2026, 12, 24))
    ledger = run(anna(), ANNA_STARTS, D(2026, 12, 24), short)

    assert AlertKind.INCOME_AMOUNT_UNEXPECTED in alert_kinds(
        ledger, D(2026, 11, 25), D(2026, 11, 25)
    )
    # Every fixed cost is still paid on its execution date.
    assert {
        (a.agreement_id, a.due_date, a.on_date)
        for a in payments(ledger, D(2026, 11, 25), D(2026, 12, 24))
    } == {
        (a.agreement_id, a.due_date, a.on_date)
        for a in payments(normal, D(2026, 11, 25), D(2026, 12, 24))
    }
    assert AlertKind.ARREARS not in alert_kinds(ledger, ANNA_STARTS, D(2026, 12, 24))
    # The buffer is still built up as agreed ...
    assert [
        a.amount_cents
        for a in ledger.actions_between(D(2026, 12, 1), D(2026, 12, 24))
        if isinstance(a, BuildUpBuffer)
    ] == [2500]
    # ... and living money pays for the shortage, never below zero, and Carla is told.
    normal_living = sum(living_money(normal, D(2026, 11, 26), D(2026, 12, 24)).values())
    short_living = sum(living_money(ledger, D(2026, 11, 26), D(2026, 12, 24)).values())
    assert short_living < normal_living
    assert all(
        cents > 0 for cents in living_money(ledger, D(2026, 11, 26), D(2026, 12, 24)).values()
    )
    assert AlertKind.LIVING_MONEY_BELOW_AGREED in alert_kinds(
        ledger, D(2026, 11, 26), D(2026, 12, 24)
    )


def test_income_short_living_money_held_at_the_floor_while_the_buffer_can_carry_it() -> None:
    plan = anna_plan()
    assert plan.living_money is not None
    with_floor = plan.living_money.model_copy(update={"monthly_floor_cents": euro("300,00")})
    short = {("benefit", D(2026, 11, 25)): Arrival(D(2026, 11, 25), euro("1.112,48"))}
    ledger = run(anna({"living_money": with_floor}), ANNA_STARTS, D(2026, 12, 24), short)

    payouts = living_money(ledger, D(2026, 11, 26), D(2026, 12, 24))
    weekly_floor = 6923  # 300,00 x 12 / 52
    assert all(cents >= weekly_floor for cents in payouts.values())
    draws = [
        a
        for a in ledger.actions_between(D(2026, 11, 26), D(2026, 12, 24))
        if isinstance(a, DrawOnBuffer) and a.purpose == "living_money"
    ]
    assert draws, "the buffer carries living money up to the floor"
    assert AlertKind.LIVING_MONEY_BELOW_AGREED in alert_kinds(
        ledger, D(2026, 11, 26), D(2026, 12, 24)
    )


# -- the yearly tax, the 31st, Good Friday, Koningsdag --------------------------------------------


def test_yearly_municipal_tax_is_reserved_monthly_and_paid_on_31_march() -> None:
    ledger = run(anna(), ANNA_STARTS, D(2027, 4, 1))
    saved_per_month: dict[tuple[int, int], int] = {}
    for action in ledger.all_actions():
        if isinstance(action, ReserveFixedCost) and action.agreement_id == "taxes":
            month = (action.on_date.year, action.on_date.month)
            saved_per_month[month] = saved_per_month.get(month, 0) + action.amount_cents
    assert sorted(saved_per_month.values()) == [euro("26,00")] * 12
    tax = next(a for a in payments(ledger, ANNA_STARTS, D(2027, 4, 1)) if a.agreement_id == "taxes")
    assert (tax.due_date, tax.on_date, tax.amount_cents) == (D(2027, 3, 31), D(2027, 3, 30), 31200)
    assert not [a for a in ledger.all_actions() if isinstance(a, DrawOnBuffer)]


def test_rent_due_on_the_31st_is_due_on_the_last_day_of_february() -> None:
    rent_31st = RENT.model_copy(update={"schedule": monthly(31)})
    costs = (rent_31st, ENERGY, WATER, MUNICIPAL_TAXES, PHONE)
    ledger = run(anna({"fixed_costs": costs}), ANNA_STARTS, D(2027, 3, 1))
    rent_dues = [
        a.due_date
        for a in payments(ledger, D(2027, 1, 1), D(2027, 3, 1))
        if a.agreement_id == "rent"
    ]
    assert D(2027, 2, 28) in rent_dues
    assert paid_on(ledger, "rent", D(2027, 2, 28)) == D(2027, 2, 26)  # the 28th is a Sunday


def test_due_on_good_friday_and_on_koningsdag() -> None:
    phone_26th = PHONE.model_copy(update={"schedule": monthly(26)})
    water_27th = WATER.model_copy(update={"schedule": monthly(27)})
    costs = (RENT, ENERGY, water_27th, MUNICIPAL_TAXES, phone_26th)
    ledger = run(anna({"fixed_costs": costs}), ANNA_STARTS, D(2027, 4, 30))
    # Due on Good Friday 26 March 2027: TARGET is closed, so it goes on Thursday.
    assert paid_on(ledger, "phone", D(2027, 3, 26)) == D(2027, 3, 25)
    # Due on Koningsdag 27 April: executed on Monday 26 April ...
    assert paid_on(ledger, "water", D(2027, 4, 27)) == D(2027, 4, 26)
    # ... and Koningsdag itself is a bank working day: energy due 28 April goes then.
    assert paid_on(ledger, "energy", D(2027, 4, 28)) == D(2027, 4, 27)


# -- the buffer advance ---------------------------------------------------------------------------


def test_buffer_advance_is_repaid_once_the_buffer_is_at_target_and_then_stops() -> None:
    # Anna's buffer is at target: € 50,00 of it is still the municipality's advance.
    ledger = anna(buffer_advance=euro("50,00"), buffer=euro("1.988,76"))
    run(ledger, ANNA_STARTS, D(2026, 7, 31))
    repayments = [a for a in ledger.all_actions() if isinstance(a, RepayAdvance)]
    assert [(a.month, a.amount_cents) for a in repayments] == [
        (D(2026, 3, 1), euro("25,00")),
        (D(2026, 4, 1), euro("25,00")),
    ]
    assert ledger.balances().buffer_advance_cents == 0
    assert ledger.balances().buffer_cents == euro("2.038,76")
    assert not [a for a in ledger.all_actions() if isinstance(a, BuildUpBuffer)]
    assert alert_kinds(ledger, ANNA_STARTS, D(2026, 7, 31)) == []


def test_buffer_at_target_build_up_and_repayment_share_one_monthly_amount() -> None:
    # € 20,00 short of target: this month builds up 20,00 and repays only 5,00.
    ledger = anna(buffer_advance=euro("1.000,00"), buffer=euro("1.018,76"))
    run(ledger, ANNA_STARTS, D(2026, 4, 30))
    march = ledger.actions_between(ANNA_STARTS, D(2026, 3, 31))
    assert [a.amount_cents for a in march if isinstance(a, BuildUpBuffer)] == [euro("20,00")]
    assert [a.amount_cents for a in march if isinstance(a, RepayAdvance)] == [euro("5,00")]
    april = ledger.actions_between(D(2026, 4, 1), D(2026, 4, 30))
    assert [a.amount_cents for a in april if isinstance(a, RepayAdvance)] == [euro("25,00")]


# -- buffer exhausted ------------------------------------------------------------------------------


def test_buffer_exhausted_rent_becomes_arrears_never_partly_paid_and_paid_when_money_comes() -> (
    None
):
    # A small buffer (€ 200,00 advance), and no income at all in December.
    small = BufferPolicy(
        monthly_build_up_cents=euro("25,00"),
        advance_cents=euro("200,00"),
        monthly_advance_repayment_cents=euro("25,00"),
    )
    no_december = {
        ("benefit", D(2026, 12, 25)): Arrival(None, 0),
        ("zorgtoeslag", D(2026, 12, 20)): Arrival(None, 0),
    }
    ledger = anna({"buffer": small}, buffer_advance=euro("200,00"))
    run(ledger, ANNA_STARTS, D(2027, 1, 27), no_december)

    on_the_31st = ledger.actions_between(D(2026, 12, 31), D(2026, 12, 31))
    # Rent (€ 645,00) does not fit in what is left of the buffer: not paid, not even partly.
    assert not [
        a
        for a in on_the_31st
        if getattr(a, "agreement_id", None) == "rent" and a.rule_id != "alert"
    ]
    arrears = [a for a in on_the_31st if a.rule_id == "alert" and a.alert_kind is AlertKind.ARREARS]
    assert [(a.agreement_id, a.severity) for a in arrears] == [("rent", Severity.URGENT)]
    assert arrears[0].explanation_nl.startswith("Achterstand: Huur Mitros januari 2027")
    # Health insurance does fit and is paid from the buffer, as far as money goes.
    assert paid_on(ledger, "health", D(2027, 1, 1)) == D(2026, 12, 31)

    # When money comes in January, the rent arrears are first in line and paid late.
    late_rent = [
        a
        for a in payments(ledger, D(2027, 1, 1), D(2027, 1, 27))
        if (a.agreement_id, a.due_date) == ("rent", D(2027, 1, 1))
    ]
    assert len(late_rent) == 1 and late_rent[0].late
    assert late_rent[0].explanation_nl == "Huur Mitros januari — te laat, maar nu betaald."
    assert late_rent[0].payment_instruction().requested_execution_date >= late_rent[0].on_date


# -- monthly living money --------------------------------------------------------------------------


def test_monthly_living_money_pays_the_whole_month_on_its_day() -> None:
    policy = LivingMoneyPolicy(
        schedule=MonthlySchedule(day_of_month=26, start_date=ANNA_STARTS),
        payee_name="A. de Vries",
        payee_iban="NL32INGB0007777777",
    )
    ledger = run(anna({"living_money": policy}), ANNA_STARTS, D(2026, 11, 30))
    assert living_money(ledger, D(2026, 9, 1), D(2026, 11, 30)) == {
        D(2026, 9, 26): euro("422,10"),
        D(2026, 10, 26): euro("422,10"),
        D(2026, 11, 26): euro("422,10"),
    }
