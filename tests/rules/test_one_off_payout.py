"""One-off extra payouts (co-decision `extra_payout`) and returned handovers in the engine.

A one-off payout in the plan is paid once, on or after its day, to the participant's own
account: from available money the fixed costs up to the horizon end do not need, then
from the buffer (which the refill rule fills again). A payout that would leave such a
fixed cost short waits, with an alert naming the shortfall.

A handover (zelfregie step 3) the bank returns is not the participant's miss: the money
is reserved again and the engine pays the creditor directly, and tells the caseworker.
"""

from __future__ import annotations

import datetime as dt

from ledger import AccountKind, JournalEntry, Posting, check_balances
from rules import (
    REASON_HANDOVER_RETURNED,
    AlertKind,
    Balances,
    BufferPolicy,
    Category,
    DrawOnBuffer,
    FixedCostAgreement,
    HandOverFixedCost,
    IncomeAgreement,
    OneOffPayout,
    OpenItems,
    OpenItemsBuilder,
    PayFixedCost,
    PaymentReference,
    PayOneOffPayout,
    Plan,
    PriorityClass,
    RaiseAlert,
    RefillBuffer,
    evaluate,
    one_off_payout_shortfall,
    returned_payment_metadata,
)
from tests.rules.support import (
    ANNA_ID,
    ANNA_STARTS,
    MUNICIPAL_BANK,
    PHONE,
    Arrival,
    MiniLedger,
    account,
    anna_from_the_start,
    monthly,
    run,
)

D = dt.date
REASON = "Noodknop: geen geld voor boodschappen deze week."


def _payout(pay_on: dt.date, cents: int = 25_000, payout_id: str = "proposal-41") -> OneOffPayout:
    return OneOffPayout(
        payout_id=payout_id,
        amount_cents=cents,
        pay_on=pay_on,
        reason=REASON,
        payee_name="A. de Vries",
        payee_iban="NL32INGB0007777777",
    )


def _with(plan: Plan, version: int, effective_from: dt.date, *payouts: OneOffPayout) -> Plan:
    return Plan.model_validate(
        {
            **plan.model_dump(),
            "version": version,
            "effective_from": effective_from,
            "one_off_payouts": [payout.model_dump() for payout in payouts],
        }
    )


def _money_adds_up(ledger: MiniLedger) -> None:
    """Nothing created or lost: what came in minus what left the bank is still held."""
    balances = ledger.balances()
    held = (
        balances.available_cents
        + balances.reserved_cents
        + balances.buffer_cents
        + balances.payable_cents
        + balances.buffer_advance_cents
    )
    assert held == ledger.opening_cents + ledger.income_cents - ledger.settled_cents
    assert not check_balances(ledger.raw_balances)


def test_a_granted_payout_is_paid_once_from_the_buffer_and_the_buffer_is_refilled() -> None:
    ledger = run(anna_from_the_start(), ANNA_STARTS, D(2026, 11, 9))
    granted = D(2026, 11, 10)
    ledger.plan = _with(ledger.plan, 2, granted, _payout(granted))
    run(ledger, granted, granted)
    # The same day again (a second cycle run, or after a crash): nothing new.
    assert not [a for a in ledger.evaluate(granted) if not isinstance(a, RaiseAlert)]
    run(ledger, granted + dt.timedelta(days=1), D(2026, 12, 31))

    paid = [a for a in ledger.all_actions() if isinstance(a, PayOneOffPayout)]
    assert len(paid) == 1
    payout = paid[0]
    assert payout.on_date == granted and payout.amount_cents == 25_000
    assert payout.idempotency_key == f"rules:{ANNA_ID}:living_money.one_off:proposal-41"
    assert payout.payment_instruction().creditor_iban == "NL32INGB0007777777"
    # The participant reads the reason with the payment (Transacties).
    assert (
        payout.explanation_nl == f"Extra leefgeld: € 250,00 naar je eigen rekening. Reden: {REASON}"
    )
    # Mid-month Anna's available money is spoken for: the buffer pays, and is refilled.
    draws = [
        a
        for a in ledger.all_actions()
        if isinstance(a, DrawOnBuffer) and a.purpose == "one_off_payout"
    ]
    assert sum(a.amount_cents for a in draws) > 0
    refills = [
        a for a in ledger.actions_between(granted, D(2026, 12, 31)) if isinstance(a, RefillBuffer)
    ]
    assert sum(a.amount_cents for a in refills) >= sum(a.amount_cents for a in draws)
    assert ledger.builder.build().buffer_drawn_not_refilled_cents == 0
    # The rent of December and January was paid as always.
    rent = [
        a.due_date
        for a in ledger.actions_between(granted, D(2026, 12, 31))
        if isinstance(a, PayFixedCost) and a.agreement_id == "rent"
    ]
    assert rent == [D(2026, 12, 1), D(2027, 1, 1)]
    _money_adds_up(ledger)


def test_the_paid_payout_survives_the_open_items_cache() -> None:
    ledger = run(anna_from_the_start(), ANNA_STARTS, D(2026, 11, 9))
    ledger.plan = _with(ledger.plan, 2, D(2026, 11, 10), _payout(D(2026, 11, 10)))
    run(ledger, D(2026, 11, 10), D(2026, 11, 10))
    cached = OpenItems.model_validate_json(ledger.builder.build(D(2026, 11, 11)).model_dump_json())
    assert [item.payout_id for item in cached.one_off_paid] == ["proposal-41"]
    again = OpenItemsBuilder.starting_from(cached).build(D(2026, 11, 11))
    actions = evaluate(ledger.plan, ledger.balances(), again, D(2026, 11, 11))
    assert not [a for a in actions if isinstance(a, PayOneOffPayout)]


def _small_household(*payouts: OneOffPayout) -> Plan:
    """Rent on the 1st, a benefit on the 25th; no living money: only the payout pays out."""
    start = D(2026, 11, 2)
    return Plan(
        participant_id=9,
        version=1,
        effective_from=start,
        incomes=(
            IncomeAgreement(
                agreement_id="benefit",
                payer_name="Werk en Inkomen",
                payer_iban="NL71BNGH0285000111",
                search_terms=("Participatiewet",),
                expected_amount_cents=100_000,
                schedule=monthly(25, start),
            ),
        ),
        fixed_costs=(
            FixedCostAgreement(
                agreement_id="rent",
                creditor_name="Mitros",
                creditor_iban="NL00TEST0000000004",
                amount_cents=64_500,
                schedule=monthly(1, start),
                reference=PaymentReference(kind="free_text", text="Huur"),
                priority_class=PriorityClass.RENT_OR_MORTGAGE,
                category=Category.RENT,
            ),
        ),
        buffer=BufferPolicy(),
        one_off_payouts=payouts,
    )


def test_the_shortfall_names_what_the_rent_would_miss() -> None:
    # 27 November: the benefit of the 25th is late; the December rent is executed on
    # Monday 30 November and nothing is reserved for it yet.
    today = D(2026, 11, 27)
    plan = _small_household()
    balances = Balances(available_cents=10_000, buffer_cents=60_000)
    # € 100,00 + € 600,00 - € 645,00 rent = € 55,00 room: € 195,00 short of € 250,00.
    assert one_off_payout_shortfall(plan, balances, OpenItems(), today, 25_000) == 19_500
    assert one_off_payout_shortfall(plan, balances, OpenItems(), today, 5_500) == 0
    richer = Balances(available_cents=10_000, buffer_cents=100_000)
    assert one_off_payout_shortfall(plan, richer, OpenItems(), today, 25_000) == 0


def test_a_payout_that_would_leave_the_rent_unpaid_waits_and_the_rent_is_paid() -> None:
    ledger = MiniLedger(_small_household(_payout(D(2026, 11, 27), payout_id="p-1")))
    ledger.open_with(D(2026, 11, 2), available=10_000, buffer=60_000)
    late = {("benefit", D(2026, 11, 25)): Arrival(D(2026, 12, 2), 100_000)}
    run(ledger, D(2026, 11, 27), D(2026, 12, 1), late)
    before = ledger.actions_between(D(2026, 11, 27), D(2026, 12, 1))
    assert not [a for a in before if isinstance(a, PayOneOffPayout)]
    short = [
        a
        for a in before
        if isinstance(a, RaiseAlert) and a.alert_kind is AlertKind.ONE_OFF_PAYOUT_SHORT
    ]
    assert [(a.on_date, a.amount_cents) for a in short] == [(D(2026, 11, 27), 19_500)]
    assert "€ 195,00 te weinig" in short[0].explanation_nl
    rent = [a for a in before if isinstance(a, PayFixedCost)]
    assert [(a.due_date, a.on_date) for a in rent] == [(D(2026, 12, 1), D(2026, 11, 30))]
    # The benefit arrives on 2 December: then there is room, and it is paid once.
    run(ledger, D(2026, 12, 2), D(2026, 12, 10), late)
    paid = [a for a in ledger.all_actions() if isinstance(a, PayOneOffPayout)]
    assert [(a.on_date, a.amount_cents) for a in paid] == [(D(2026, 12, 2), 25_000)]
    _money_adds_up(ledger)


# ---------------------------------------------------------------------- returned handover


def _self_paid_phone(plan: Plan, version: int, effective_from: dt.date) -> Plan:
    body = plan.model_dump()
    for cost in body["fixed_costs"]:
        if cost["agreement_id"] == PHONE.agreement_id:
            cost["paid_by_participant"] = True
    return Plan.model_validate({**body, "version": version, "effective_from": effective_from})


def test_a_returned_handover_is_paid_to_the_creditor_and_is_not_a_miss() -> None:
    ledger = run(anna_from_the_start(), ANNA_STARTS, D(2026, 9, 30))
    ledger.plan = _self_paid_phone(ledger.plan, 2, D(2026, 10, 1))
    run(ledger, D(2026, 10, 1), D(2026, 10, 15))
    handovers = [a for a in ledger.all_actions() if isinstance(a, HandOverFixedCost)]
    assert [(a.due_date, a.amount_cents) for a in handovers] == [(D(2026, 10, 15), 3_500)]
    # The bank returns it on 16 October (her account number was wrong).
    ledger.post(
        JournalEntry(
            idempotency_key="payments:return:handover-phone",
            booking_date=D(2026, 10, 16),
            reason_code=REASON_HANDOVER_RETURNED,
            explanation="Het geld kwam terug.",
            postings=(
                Posting(MUNICIPAL_BANK, 3_500),
                Posting(account(AccountKind.RESERVED), -3_500),
            ),
            metadata=returned_payment_metadata(PHONE.agreement_id, D(2026, 10, 15)),
        )
    )
    ledger.settled_cents -= 3_500  # the money came back into the bank
    run(ledger, D(2026, 10, 16), D(2026, 11, 30))
    after = ledger.actions_between(D(2026, 10, 16), D(2026, 11, 30))
    direct = [a for a in after if isinstance(a, PayFixedCost) and a.agreement_id == "phone"]
    assert [(a.due_date, a.on_date, a.creditor_iban) for a in direct] == [
        (D(2026, 10, 15), D(2026, 10, 16), PHONE.creditor_iban)
    ]
    kinds = [
        a.alert_kind
        for a in after
        if isinstance(a, RaiseAlert) and a.subject_date == D(2026, 10, 15)
    ]
    # The caseworker is told once; the October bill is not "not marked as paid".
    assert kinds == [AlertKind.HANDOVER_RETURNED]
    # Her own paying goes on: November is handed over again.
    later = [a for a in after if isinstance(a, HandOverFixedCost)]
    assert [a.due_date for a in later] == [D(2026, 11, 15)]
    _money_adds_up(ledger)
