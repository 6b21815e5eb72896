"""Actions become journal entries on the participant's accounts and payment instructions."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from pydantic import ValidationError

from ledger import AccountKind, fold_balances
from rules import (
    ActionList,
    Balances,
    BuildUpBuffer,
    DrawOnBuffer,
    PayFixedCost,
    PayLivingMoney,
    RaiseAlert,
    RefillBuffer,
    ReleaseReservation,
    RepayAdvance,
    ReserveFixedCost,
    end_to_end_id,
)
from rules.actions import AlertKind, Severity
from tests.rules.support import ANNA_ID, ANNA_STARTS, RENT, anna_from_the_start, run

D = dt.date
COMMON: dict[str, object] = {
    "participant_id": ANNA_ID,
    "plan_version": 3,
    "on_date": D(2026, 11, 30),
    "idempotency_key": "key",
    "amount_cents": 1000,
    "explanation_nl": "Uitleg.",
    "explanation_en": "Explanation.",
}
DUE = {"agreement_id": "rent", "due_date": D(2026, 12, 1)}


@pytest.mark.parametrize(
    ("action", "moved_from", "moved_to"),
    [
        (ReserveFixedCost.model_validate({**COMMON, **DUE}), "available", "reserved"),
        (ReleaseReservation.model_validate({**COMMON, **DUE}), "reserved", "available"),
        (
            DrawOnBuffer.model_validate({**COMMON, **DUE, "purpose": "fixed_cost"}),
            "buffer",
            "reserved",
        ),
        (
            DrawOnBuffer.model_validate(
                {**COMMON, "purpose": "living_money", "payout_date": D(2026, 11, 30)}
            ),
            "buffer",
            "available",
        ),
        (RefillBuffer.model_validate(COMMON), "available", "buffer"),
        (BuildUpBuffer.model_validate({**COMMON, "month": D(2026, 11, 1)}), "available", "buffer"),
        (
            RepayAdvance.model_validate({**COMMON, "month": D(2026, 11, 1)}),
            "available",
            "buffer_advance",
        ),
    ],
)
def test_each_action_moves_money_between_the_participants_accounts(
    action: ReserveFixedCost, moved_from: str, moved_to: str
) -> None:
    entry = action.to_journal_entry(D(2026, 11, 30))
    assert entry is not None
    assert entry.reason_code == action.rule_id
    assert entry.explanation == "Uitleg." and entry.explanation_en == "Explanation."
    holdings = Balances.from_ledger(ANNA_ID, fold_balances([entry])).model_dump()
    assert holdings[f"{moved_from}_cents"] == -1000
    assert holdings[f"{moved_to}_cents"] == 1000
    assert sum(holdings.values()) == 0
    metadata = dict(entry.metadata)
    assert metadata["rule_id"] == action.rule_id
    assert metadata["plan_version"] == "3"


def _anna_payments() -> tuple[list[PayFixedCost], list[PayLivingMoney]]:
    ledger = run(anna_from_the_start(), ANNA_STARTS, D(2026, 12, 1))
    actions = ledger.all_actions()
    return (
        [a for a in actions if isinstance(a, PayFixedCost)],
        [a for a in actions if isinstance(a, PayLivingMoney)],
    )


def test_paying_rent_is_one_entry_and_one_instruction() -> None:
    fixed, _ = _anna_payments()
    rent = next(a for a in fixed if a.agreement_id == "rent" and a.due_date == D(2026, 12, 1))
    assert rent.explanation_nl == "Huur Mitros december — betaald volgens afspraak."
    assert rent.explanation_en == "Rent Mitros December — paid as agreed."
    entry = rent.to_journal_entry(rent.on_date)
    assert entry is not None
    holdings = Balances.from_ledger(ANNA_ID, fold_balances([entry]))
    assert holdings.reserved_cents == -64500 and holdings.payable_cents == 64500
    assert dict(entry.metadata) == {
        "agreement_id": "rent",
        "due_date": "2026-12-01",
        "plan_version": "1",
        "rule_id": "fixed_cost.pay",
    }
    instruction = rent.payment_instruction()
    assert instruction.creditor_name == "Mitros"
    assert instruction.creditor_iban == RENT.creditor_iban
    assert instruction.amount_cents == 64500
    assert instruction.reference == RENT.reference
    assert instruction.requested_execution_date == D(2026, 11, 30)
    assert instruction.due_date == D(2026, 12, 1)
    assert instruction.end_to_end_id == end_to_end_id(rent.idempotency_key)


def test_payment_key_is_participant_agreement_and_due_date_not_plan_version() -> None:
    fixed, _ = _anna_payments()
    rent = next(a for a in fixed if a.agreement_id == "rent" and a.due_date == D(2026, 12, 1))
    # The plan version is in the entry's metadata, not in the key: a new version of the
    # plan can never pay the same due date again.
    assert rent.idempotency_key == f"rules:{ANNA_ID}:fixed_cost.pay:rent:2026-12-01"


def test_end_to_end_id_is_sepa_safe_35_characters_and_deterministic() -> None:
    key = f"rules:{ANNA_ID}:fixed_cost.pay:rent:2026-12-01"
    identifier = end_to_end_id(key)
    assert len(identifier) == 35
    assert re.fullmatch(r"[A-Z0-9]+", identifier)
    assert end_to_end_id(key) == identifier
    assert end_to_end_id(key + "x") != identifier


def test_living_money_goes_to_annas_own_account() -> None:
    _, living = _anna_payments()
    payout = living[0]
    instruction = payout.payment_instruction()
    assert instruction.creditor_iban == "NL32INGB0007777777"
    assert instruction.amount_cents == payout.amount_cents
    assert instruction.due_date is None
    entry = payout.to_journal_entry(payout.on_date)
    assert entry is not None
    holdings = Balances.from_ledger(ANNA_ID, fold_balances([entry]))
    assert holdings.available_cents == -payout.amount_cents
    assert holdings.payable_cents == payout.amount_cents
    assert AccountKind.PAYABLE in {p.account.kind for p in entry.postings}


def test_an_alert_moves_no_money() -> None:
    alert = RaiseAlert.model_validate(
        {**COMMON, "alert_kind": AlertKind.ARREARS, "severity": Severity.URGENT}
    )
    assert alert.to_journal_entry(D(2026, 11, 30)) is None
    assert alert.payment_instruction() is None


def test_actions_round_trip_through_json() -> None:
    ledger = run(anna_from_the_start(), ANNA_STARTS, D(2026, 6, 1))
    actions = ledger.all_actions()
    assert ActionList.validate_json(ActionList.dump_json(actions)) == actions


@pytest.mark.parametrize("field", ["explanation_nl", "explanation_en"])
def test_an_action_without_an_explanation_cannot_exist(field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        ReserveFixedCost.model_validate({**COMMON, **DUE, field: ""})
