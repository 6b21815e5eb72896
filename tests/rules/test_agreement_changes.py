"""Follow up, copy and end an agreement (rules.agreement_changes), run through the engine."""

from __future__ import annotations

import datetime as dt

import pytest

from rules import AlertKind, PayFixedCost, PayLivingMoney, Plan, ReleaseReservation, RulesError
from rules import agreement_changes as changes
from tests.rules.support import MiniLedger, anna_from_the_start, anna_plan, euro, run


def _next_version(ledger: MiniLedger, changed: Plan, on: dt.date) -> None:
    """What the backend does when the decided change is stored: version n+1 from `on`."""
    ledger.plan = Plan.model_validate(
        {**changed.model_dump(), "version": ledger.plan.version + 1, "effective_from": on}
    )


def _payments(ledger: MiniLedger, *agreement_ids: str) -> dict[tuple[str, dt.date], int]:
    return {
        (action.agreement_id, action.due_date): action.amount_cents
        for action in ledger.all_actions()
        if isinstance(action, PayFixedCost) and action.agreement_id in agreement_ids
    }


def test_a_follow_up_from_1_march_pays_the_old_amount_in_february_and_the_new_one_in_march() -> (
    None
):
    ledger = run(anna_from_the_start(), dt.date(2026, 3, 20), dt.date(2027, 1, 20))
    decided = changes.follow_up(
        ledger.plan,
        "rent",
        amount_cents=euro("689,50"),
        from_date=dt.date(2027, 3, 1),
        new_agreement_id="rent-2",
    )
    _next_version(ledger, decided, dt.date(2027, 1, 21))
    run(ledger, dt.date(2027, 1, 21), dt.date(2027, 4, 5))

    paid = _payments(ledger, "rent", "rent-2")
    assert paid[("rent", dt.date(2027, 2, 1))] == euro("645,00")
    assert paid[("rent-2", dt.date(2027, 3, 1))] == euro("689,50")
    assert paid[("rent-2", dt.date(2027, 4, 1))] == euro("689,50")
    # The old agreement has no due date from March, and March is paid exactly once.
    assert ("rent", dt.date(2027, 3, 1)) not in paid
    assert ("rent", dt.date(2027, 4, 1)) not in paid
    march = [key for key in paid if key[1] == dt.date(2027, 3, 1)]
    assert march == [("rent-2", dt.date(2027, 3, 1))]
    # The other terms carry over; only the amount and the dates differ.
    old, new = decided.fixed_cost("rent"), decided.fixed_cost("rent-2")
    assert old is not None and new is not None
    assert old.schedule.end_date == dt.date(2027, 2, 28)  # type: ignore[union-attr]
    assert new.schedule.start_date == dt.date(2027, 3, 1)  # type: ignore[union-attr]
    assert (new.creditor_iban, new.reference, new.priority_class) == (
        old.creditor_iban,
        old.reference,
        old.priority_class,
    )


def test_a_follow_up_decided_after_the_old_amount_was_reserved_releases_it() -> None:
    # On 25 February (the benefit arrived) the 1 March rent is reserved at the old
    # amount; the follow-up decided that evening releases it and pays the new amount.
    ledger = run(anna_from_the_start(), dt.date(2026, 3, 20), dt.date(2027, 2, 25))
    reserved = ledger.builder.build(dt.date(2027, 2, 25)).reserved_by_due_date()
    assert reserved[("rent", dt.date(2027, 3, 1))] == euro("645,00")
    decided = changes.follow_up(
        ledger.plan,
        "rent",
        amount_cents=euro("700,00"),
        from_date=dt.date(2027, 3, 1),
        new_agreement_id="rent-2",
    )
    _next_version(ledger, decided, dt.date(2027, 2, 26))
    run(ledger, dt.date(2027, 2, 26), dt.date(2027, 3, 5))
    paid = _payments(ledger, "rent", "rent-2")
    assert paid[("rent-2", dt.date(2027, 3, 1))] == euro("700,00")
    assert ("rent", dt.date(2027, 3, 1)) not in paid
    released = [
        action
        for action in ledger.actions_between(dt.date(2027, 2, 26), dt.date(2027, 3, 5))
        if isinstance(action, ReleaseReservation)
    ]
    assert [(a.agreement_id, a.due_date, a.amount_cents) for a in released] == [
        ("rent", dt.date(2027, 3, 1), euro("645,00"))
    ]


def test_an_ended_agreement_is_never_paid_after_its_end_date() -> None:
    ledger = run(anna_from_the_start(), dt.date(2026, 3, 20), dt.date(2026, 7, 28))
    # The 1 August rent is reserved by now (the benefit of 25 July has arrived).
    reserved_before = dict(ledger.builder.build(dt.date(2026, 7, 28)).reserved_by_due_date())
    assert ("rent", dt.date(2026, 8, 1)) in reserved_before
    decided = changes.end(ledger.plan, "rent", end_date=dt.date(2026, 7, 31))
    _next_version(ledger, decided, dt.date(2026, 7, 29))
    run(ledger, dt.date(2026, 7, 29), dt.date(2026, 11, 5))

    paid = _payments(ledger, "rent")
    assert paid[("rent", dt.date(2026, 7, 1))] == euro("645,00")
    assert all(due <= dt.date(2026, 7, 31) for _, due in paid)
    released = [
        action
        for action in ledger.actions_between(dt.date(2026, 7, 29), dt.date(2026, 7, 29))
        if isinstance(action, ReleaseReservation) and action.agreement_id == "rent"
    ]
    assert [action.due_date for action in released] == [dt.date(2026, 8, 1)]
    assert sum(action.amount_cents for action in released) == euro("645,00")


def test_an_ended_income_is_no_longer_expected_after_its_end_date() -> None:
    ledger = run(anna_from_the_start(), dt.date(2026, 3, 20), dt.date(2026, 7, 1))
    decided = changes.end(ledger.plan, "zorgtoeslag", end_date=dt.date(2026, 7, 31))
    _next_version(ledger, decided, dt.date(2026, 7, 2))
    # The run only lets incomes arrive on dates of the (new) schedule: none after July.
    run(ledger, dt.date(2026, 7, 2), dt.date(2026, 10, 31))
    missing = [
        alert
        for alert in ledger.alerts_between(dt.date(2026, 7, 2), dt.date(2026, 10, 31))
        if alert.alert_kind is AlertKind.INCOME_MISSING
    ]
    assert missing == []


def test_a_copy_adds_an_agreement_and_keeps_the_original() -> None:
    plan = anna_plan()
    copied = changes.copy(
        plan,
        "phone",
        amount_cents=euro("20,00"),
        from_date=dt.date(2026, 5, 1),
        new_agreement_id="phone-2",
    )
    original, copy = copied.fixed_cost("phone"), copied.fixed_cost("phone-2")
    assert original == plan.fixed_cost("phone")
    assert copy is not None and copy.amount_cents == euro("20,00")
    assert copy.creditor_name == "KPN"
    assert copied.monthly_fixed_costs_cents == plan.monthly_fixed_costs_cents + euro("20,00")


def test_an_income_follow_up_changes_the_expected_amount() -> None:
    plan = anna_plan()
    followed = changes.follow_up(
        plan,
        "benefit",
        amount_cents=euro("1.350,00"),
        from_date=dt.date(2026, 7, 1),
        new_agreement_id="benefit-2",
    )
    new = followed.income("benefit-2")
    assert new is not None and new.expected_amount_cents == euro("1.350,00")
    assert new.expected_date_for(dt.date(2026, 6, 25)) is None
    assert new.expected_date_for(dt.date(2026, 7, 25)) == dt.date(2026, 7, 25)
    old = followed.income("benefit")
    assert old is not None
    assert old.expected_date_for(dt.date(2026, 6, 25)) == dt.date(2026, 6, 25)
    assert old.expected_date_for(dt.date(2026, 7, 25)) is None


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: changes.end(p, "rent", end_date=dt.date(2026, 3, 19)), "before its start"),
        (lambda p: changes.end(p, "nope", end_date=dt.date(2026, 5, 1)), "is not in plan"),
        (
            lambda p: changes.follow_up(
                p,
                "rent",
                amount_cents=-100,
                from_date=dt.date(2026, 6, 1),
                new_agreement_id="rent-2",
            ),
            "negative",
        ),
        (
            lambda p: changes.follow_up(
                p,
                "rent",
                amount_cents=0,
                from_date=dt.date(2026, 6, 1),
                new_agreement_id="rent-2",
            ),
            "above zero",
        ),
        (
            lambda p: changes.follow_up(
                p,
                "rent",
                amount_cents=euro("700,00"),
                from_date=dt.date(2026, 3, 20),
                new_agreement_id="rent-2",
            ),
            "starts after the agreement's first day",
        ),
        (
            lambda p: changes.follow_up(
                p,
                "rent",
                amount_cents=euro("700,00"),
                from_date=dt.date(2026, 6, 1),
                new_agreement_id="phone",
            ),
            "already used",
        ),
        (
            # An income amount below its tolerance would match anything.
            lambda p: changes.follow_up(
                p,
                "benefit",
                amount_cents=300,
                from_date=dt.date(2026, 6, 1),
                new_agreement_id="benefit-2",
            ),
            "tolerance",
        ),
    ],
)
def test_wrong_changes_are_refused_with_a_clear_message(make: object, message: str) -> None:
    plan = anna_plan()
    before = plan.model_dump_json()
    with pytest.raises(RulesError, match=message):
        make(plan)  # type: ignore[operator]
    assert plan.model_dump_json() == before


def test_an_end_date_cannot_make_an_agreement_longer() -> None:
    ended = changes.end(anna_plan(), "rent", end_date=dt.date(2026, 8, 31))
    with pytest.raises(RulesError, match="already ends on 2026-08-31"):
        changes.end(ended, "rent", end_date=dt.date(2026, 12, 31))
    with pytest.raises(RulesError, match="would leave a gap"):
        changes.follow_up(
            ended,
            "rent",
            amount_cents=euro("700,00"),
            from_date=dt.date(2026, 10, 1),
            new_agreement_id="rent-2",
        )


def test_living_money_counts_the_old_rent_until_the_follow_up_starts() -> None:
    plan = anna_plan()
    decided = changes.follow_up(
        plan,
        "rent",
        amount_cents=euro("689,50"),
        from_date=dt.date(2027, 3, 1),
        new_agreement_id="rent-2",
    )
    february = changes.in_force(decided, dt.date(2027, 2, 28))
    march = changes.in_force(decided, dt.date(2027, 3, 1))
    assert february.living_money_monthly_cents == plan.living_money_monthly_cents
    assert february.buffer_target_cents == plan.buffer_target_cents
    assert march.living_money_monthly_cents == plan.living_money_monthly_cents - euro("44,50")
    assert march.buffer_target_cents == plan.buffer_target_cents + 2 * euro("44,50")
    # Both agreements stay in the plan: only the sums leave one out.
    assert {c.agreement_id for c in decided.fixed_costs} >= {"rent", "rent-2"}
    # A cost that simply starts later (a yearly tax) still counts before it starts.
    assert changes.in_force(plan, dt.date(2026, 3, 20)) is plan


def test_an_ended_agreement_no_longer_counts_for_living_money() -> None:
    plan = anna_plan()
    ended = changes.end(plan, "phone", end_date=dt.date(2026, 8, 31))
    assert changes.in_force(ended, dt.date(2026, 8, 31)).living_money_monthly_cents == (
        plan.living_money_monthly_cents
    )
    after = changes.in_force(ended, dt.date(2026, 9, 1))
    assert after.living_money_monthly_cents == plan.living_money_monthly_cents + euro("35,00")


def test_the_engine_pays_the_same_living_money_until_the_follow_up_starts() -> None:
    """Deciding a follow-up in January changes nothing paid before 1 March."""
    baseline = run(anna_from_the_start(), dt.date(2026, 3, 20), dt.date(2027, 1, 20))
    followed = run(anna_from_the_start(), dt.date(2026, 3, 20), dt.date(2027, 1, 20))
    decided = changes.follow_up(
        followed.plan,
        "rent",
        amount_cents=euro("689,50"),
        from_date=dt.date(2027, 3, 1),
        new_agreement_id="rent-2",
    )
    _next_version(followed, decided, dt.date(2027, 1, 21))
    run(baseline, dt.date(2027, 1, 21), dt.date(2027, 2, 27))
    run(followed, dt.date(2027, 1, 21), dt.date(2027, 2, 27))

    def living(ledger: MiniLedger) -> list[tuple[dt.date, int]]:
        return [
            (action.on_date, action.amount_cents)
            for action in ledger.actions_between(dt.date(2027, 1, 21), dt.date(2027, 2, 27))
            if isinstance(action, PayLivingMoney)
        ]

    assert living(followed) == living(baseline)
    assert living(followed), "living money was paid in the period"
