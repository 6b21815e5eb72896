"""What a proposal changes: one explicit schema per change kind.

Stored as `proposal.kind` plus `proposal.payload` (the fields below without
`kind`). The rules/plan integration turns an approved change into a new plan
version; `parse_change` gives it back the typed model.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from backend.errors import InvalidInput
from backend.iban import validate_iban
from ledger import AMOUNT_CENTS_MAX
from rules import Plan

AmountCents = Annotated[int, Field(gt=0, le=AMOUNT_CENTS_MAX, description="amount in euro cents")]
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]


class _Change(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _iban(value: str) -> str:
    try:
        return validate_iban(value)
    except InvalidInput as error:
        raise ValueError(error.detail) from error


class LivingMoneyAmountChange(_Change):
    kind: Literal["living_money_amount"] = "living_money_amount"
    amount_cents_per_month: AmountCents


class LivingMoneyScheduleChange(_Change):
    kind: Literal["living_money_schedule"] = "living_money_schedule"
    frequency: Literal["weekly", "every_two_weeks", "monthly"]
    weekday: int | None = Field(
        default=None, ge=0, le=6, description="0 = Monday; for weekly and every two weeks"
    )
    day_of_month: int | None = Field(default=None, ge=1, le=28, description="for monthly")

    @model_validator(mode="after")
    def _day_fits_frequency(self) -> LivingMoneyScheduleChange:
        if self.frequency == "monthly":
            if self.day_of_month is None or self.weekday is not None:
                raise ValueError("a monthly schedule needs day_of_month and no weekday")
        elif self.weekday is None or self.day_of_month is not None:
            raise ValueError("a weekly schedule needs weekday and no day_of_month")
        return self


class FixedCostAddChange(_Change):
    kind: Literal["fixed_cost_add"] = "fixed_cost_add"
    creditor_name: str = Field(min_length=1, max_length=140)
    creditor_iban: str = Field(min_length=5, max_length=42)
    description: str = Field(min_length=1, max_length=200)
    amount_cents: AmountCents
    day_of_month: int = Field(ge=1, le=31)
    month: int | None = Field(default=None, ge=1, le=12, description="for a yearly cost")
    priority: int = Field(default=5, ge=1, le=9, description="1 is paid first when money is short")

    @field_validator("creditor_iban")
    @classmethod
    def _valid_iban(cls, value: str) -> str:
        return _iban(value)


class FixedCostRemoveChange(_Change):
    kind: Literal["fixed_cost_remove"] = "fixed_cost_remove"
    agreement_id: Id


class FixedCostAmountChange(_Change):
    kind: Literal["fixed_cost_amount"] = "fixed_cost_amount"
    agreement_id: Id
    amount_cents: AmountCents


class BufferPolicyChange(_Change):
    kind: Literal["buffer_policy"] = "buffer_policy"
    target_months: int = Field(ge=0, le=6, description="buffer target in months of fixed costs")
    build_up_cents_per_month: int = Field(ge=0, le=AMOUNT_CENTS_MAX)


class ExtraPayoutChange(_Change):
    kind: Literal["extra_payout"] = "extra_payout"
    amount_cents: AmountCents
    source: Literal["available", "buffer"] = "available"
    pay_on: dt.date | None = Field(default=None, description="default: the effective date")
    # One-off payout after the emergency button: one request gives at most one payout
    # (backend.plans.one_off.claim_emergency_request; the payout id is made from it).
    emergency_request_id: Id | None = Field(
        default=None, description="the emergency request this payout answers (at most one each)"
    )


class CreditorIbanCorrectionChange(_Change):
    kind: Literal["creditor_iban_correction"] = "creditor_iban_correction"
    counterparty_id: Id
    iban: str = Field(min_length=5, max_length=42)
    evidence: str = Field(
        min_length=3, max_length=500, description="where the new IBAN comes from (letter, invoice)"
    )

    @field_validator("iban")
    @classmethod
    def _valid_iban(cls, value: str) -> str:
        return _iban(value)


class AgreementFollowUpChange(_Change):
    """Follow up an agreement (income or fixed cost): a new amount from a date."""

    kind: Literal["agreement_follow_up"] = "agreement_follow_up"
    agreement_id: Id
    amount_cents: AmountCents
    from_date: dt.date


class AgreementCopyChange(_Change):
    """A new agreement with the terms of an existing one and its own amount, from a date."""

    kind: Literal["agreement_copy"] = "agreement_copy"
    agreement_id: Id
    amount_cents: AmountCents
    from_date: dt.date


class AgreementEndChange(_Change):
    """End an agreement (income or fixed cost): the last day it is due."""

    kind: Literal["agreement_end"] = "agreement_end"
    agreement_id: Id
    end_date: dt.date


class InitialPlanChange(_Change):
    """Onboarding (backend.onboarding): the whole first plan, as rules.Plan JSON.

    Only for a participant without any plan version; approving it stores version 1
    (and books the buffer advance, if any)."""

    kind: Literal["initial_plan"] = "initial_plan"
    plan: Plan


class AutonomyStepChange(_Change):
    """Not a plan change: the participant's step of autonomy (backend.zelfregie.steps)."""

    kind: Literal["autonomy_step"] = "autonomy_step"
    step: int = Field(ge=1, le=4, description="1 everything managed .. 4 preparing to leave")


class FixedCostPaidByParticipantChange(_Change):
    """Zelfregie step 3: the participant pays this fixed cost themselves (the service
    hands the reserved amount over and watches that it was paid), or no longer."""

    kind: Literal["fixed_cost_paid_by_participant"] = "fixed_cost_paid_by_participant"
    agreement_id: Id
    paid_by_participant: bool


class EndParticipationChange(_Change):
    """Not a plan change: ending participation (backend.ending). The proposal's
    effective_from is the last day of participation; its reason says why."""

    kind: Literal["end_participation"] = "end_participation"


PlanChange = Annotated[
    LivingMoneyAmountChange
    | LivingMoneyScheduleChange
    | FixedCostAddChange
    | FixedCostRemoveChange
    | FixedCostAmountChange
    | BufferPolicyChange
    | ExtraPayoutChange
    | CreditorIbanCorrectionChange
    | AutonomyStepChange
    | InitialPlanChange
    | AgreementFollowUpChange
    | AgreementCopyChange
    | AgreementEndChange
    | EndParticipationChange
    | FixedCostPaidByParticipantChange,
    Field(discriminator="kind"),
]

_ADAPTER: TypeAdapter[PlanChange] = TypeAdapter(PlanChange)


def change_payload(change: _Change) -> dict[str, Any]:
    return change.model_dump(mode="json", exclude={"kind"})


def parse_change(kind: str, payload: dict[str, Any]) -> PlanChange:
    """The typed change stored in a proposal."""
    return _ADAPTER.validate_python({**payload, "kind": kind})
