"""Zelfregie step 3 in the engine: a fixed cost the participant pays themselves.

On the execution date the reserved amount is handed over to the participant's own
account (not new money: the same reservation), with a date by which they confirm it
was paid. A missed confirmation raises `self_payment_missed` and the next due date of
that cost is paid to the creditor directly again.
"""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from ledger import check_balances
from rules import (
    SELF_PAYMENT_CONFIRM_DAYS,
    AlertKind,
    HandOverFixedCost,
    PayFixedCost,
    PayLivingMoney,
    Plan,
    RaiseAlert,
    evaluate,
)
from tests.rules.support import ANNA_STARTS, PHONE, MiniLedger, anna_from_the_start, anna_plan, run

D = dt.date
SWITCH_ON = D(2026, 10, 1)


def _self_paid_phone(plan: Plan, version: int, effective_from: dt.date) -> Plan:
    body = plan.model_dump()
    for cost in body["fixed_costs"]:
        if cost["agreement_id"] == PHONE.agreement_id:
            cost["paid_by_participant"] = True
    return Plan.model_validate({**body, "version": version, "effective_from": effective_from})


def _both_until(end: dt.date, *, confirm: set[dt.date]) -> tuple[MiniLedger, MiniLedger]:
    """Anna twice from the start: `direct` keeps the service paying the phone bill,
    `own` pays it herself from 1 October and confirms the due dates in `confirm`."""
    direct = run(anna_from_the_start(), ANNA_STARTS, SWITCH_ON - dt.timedelta(days=1))
    own = run(anna_from_the_start(), ANNA_STARTS, SWITCH_ON - dt.timedelta(days=1))
    own.plan = _self_paid_phone(own.plan, 2, SWITCH_ON)
    run(direct, SWITCH_ON, end)
    day = SWITCH_ON
    while day <= end:
        run(own, day, day)
        for action in own.actions_between(day, day):
            if isinstance(action, HandOverFixedCost) and action.due_date in confirm:
                own.builder.confirm_self_payment(action.agreement_id, action.due_date)
        day += dt.timedelta(days=1)
    return direct, own


def _of(ledger: MiniLedger, kind: type, start: dt.date, end: dt.date) -> list:  # type: ignore[type-arg]
    return [a for a in ledger.actions_between(start, end) if isinstance(a, kind)]


def test_the_phone_bill_is_handed_over_then_paid_directly_again_after_a_missed_one() -> None:
    direct, own = _both_until(D(2027, 1, 31), confirm={D(2026, 10, 15), D(2026, 11, 15)})

    handovers = _of(own, HandOverFixedCost, SWITCH_ON, D(2027, 1, 31))
    assert [(h.due_date, h.on_date, h.amount_cents) for h in handovers] == [
        (D(2026, 10, 15), D(2026, 10, 14), 3500),
        (D(2026, 11, 15), D(2026, 11, 13), 3500),
        (D(2026, 12, 15), D(2026, 12, 14), 3500),
    ]
    first = handovers[0]
    # To her own account, with the deadline in plain Dutch.
    instruction = first.payment_instruction()
    assert instruction.creditor_iban == own.plan.living_money.payee_iban  # type: ignore[union-attr]
    assert first.confirm_by == D(2026, 10, 15) + dt.timedelta(days=SELF_PAYMENT_CONFIRM_DAYS)
    assert first.explanation_nl.startswith(
        "Voor je rekening Telefoon en internet (KPN) van 15 oktober 2026: € 35,00 naar je "
        "eigen rekening; betaal die zelf."
    )
    assert "uiterlijk 22 oktober 2026" in first.explanation_nl

    # December was not confirmed: one alert the day after the deadline, nothing before.
    missed = [
        a
        for a in own.alerts_between(SWITCH_ON, D(2027, 1, 31))
        if a.alert_kind is AlertKind.SELF_PAYMENT_MISSED
    ]
    assert [(a.on_date, a.subject_date) for a in missed] == [(D(2026, 12, 23), D(2026, 12, 15))]
    assert "vanaf nu weer zelf aan KPN" in missed[0].explanation_nl

    # January's phone bill goes to KPN again, on time, once.
    phone_paid = [
        p for p in _of(own, PayFixedCost, SWITCH_ON, D(2027, 1, 31)) if p.agreement_id == "phone"
    ]
    assert [(p.due_date, p.on_date, p.creditor_iban) for p in phone_paid] == [
        (D(2027, 1, 15), D(2027, 1, 14), PHONE.creditor_iban)
    ]

    # Not a euro created or lost: the same reservations, the same living money, the same
    # buffer as when the service pays the bill itself.
    assert own.balances() == direct.balances()
    assert {
        a.payout_date: a.amount_cents for a in _of(own, PayLivingMoney, SWITCH_ON, D(2027, 1, 31))
    } == {
        a.payout_date: a.amount_cents
        for a in _of(direct, PayLivingMoney, SWITCH_ON, D(2027, 1, 31))
    }
    assert own.settled_cents == direct.settled_cents
    assert not check_balances(own.raw_balances)


def test_running_the_day_again_hands_nothing_over_twice() -> None:
    ledger = run(anna_from_the_start(), ANNA_STARTS, SWITCH_ON - dt.timedelta(days=1))
    ledger.plan = _self_paid_phone(ledger.plan, 2, SWITCH_ON)
    run(ledger, SWITCH_ON, D(2026, 10, 13))
    ledger.settle_payable(D(2026, 10, 14))
    first = ledger.run_day(D(2026, 10, 14))
    assert [a.idempotency_key for a in first if isinstance(a, HandOverFixedCost)] == [
        "rules:7:fixed_cost.handover:phone:2026-10-15"
    ]
    # Same day again, with what was booked: nothing more (no second handover, no payment).
    assert ledger.evaluate(D(2026, 10, 14)) == []
    # And the next days neither pay the creditor nor hand over again.
    run(ledger, D(2026, 10, 15), D(2026, 10, 22))
    phone = [
        a
        for a in ledger.actions_between(D(2026, 10, 14), D(2026, 10, 22))
        if isinstance(a, PayFixedCost | HandOverFixedCost) and a.agreement_id == "phone"
    ]
    assert len(phone) == 1


def test_confirmed_in_time_raises_nothing_and_stays_self_paid() -> None:
    _, own = _both_until(D(2026, 12, 31), confirm={D(2026, 10, 15), D(2026, 11, 15)})
    kinds = [a.alert_kind for a in own.alerts_between(SWITCH_ON, D(2026, 12, 22))]
    assert AlertKind.SELF_PAYMENT_MISSED not in kinds
    assert not [
        p for p in _of(own, PayFixedCost, SWITCH_ON, D(2026, 12, 31)) if p.agreement_id == "phone"
    ]


def test_a_plan_version_switching_it_on_again_after_a_miss_hands_over_again() -> None:
    _, own = _both_until(D(2027, 1, 31), confirm=set())
    # October was missed: November to January went to KPN directly.
    direct = [
        p.due_date
        for p in _of(own, PayFixedCost, SWITCH_ON, D(2027, 1, 31))
        if p.agreement_id == "phone"
    ]
    assert direct == [D(2026, 11, 15), D(2026, 12, 15), D(2027, 1, 15)]
    own.plan = _self_paid_phone(own.plan, 3, D(2027, 2, 1))
    run(own, D(2027, 2, 1), D(2027, 2, 28))
    handed = [h.due_date for h in _of(own, HandOverFixedCost, D(2027, 2, 1), D(2027, 2, 28))]
    assert handed == [D(2027, 2, 15)]


def test_a_self_paid_cost_needs_an_account_to_hand_over_to() -> None:
    with pytest.raises(ValidationError, match="needs living money"):
        _self_paid_phone(anna_plan(living_money=None), 1, ANNA_STARTS)


def test_a_missed_cost_that_left_the_plan_raises_no_alert() -> None:
    _, own = _both_until(D(2026, 12, 20), confirm={D(2026, 10, 15), D(2026, 11, 15)})
    assert own.builder.build(D(2026, 12, 23)).self_payments[-1].missed(D(2026, 12, 23))
    body = own.plan.model_dump()
    body["fixed_costs"] = [c for c in body["fixed_costs"] if c["agreement_id"] != "phone"]
    plan = Plan.model_validate({**body, "version": 3, "effective_from": D(2026, 12, 21)})
    actions = evaluate(plan, own.balances(), own.builder.build(D(2026, 12, 23)), D(2026, 12, 23))
    assert not [
        a
        for a in actions
        if isinstance(a, RaiseAlert)
        and a.alert_kind is AlertKind.SELF_PAYMENT_MISSED
        and a.subject_date == D(2026, 12, 15)
    ]
