"""The `agreement` table as a projection of the latest plan version.

One row per rules agreement id per participant (`plan_agreement_id`), with a stable
integer id that other domains (co-decision proposals) refer to, and the creditor or
payer as a shared counterparty. An agreement the latest version no longer has gets
an `end_date` the day before that version takes effect; it is never deleted.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.orm import Session
from unidecode import unidecode

from backend.counterparties.service import get_or_create_counterparty
from backend.errors import InvalidInput
from backend.models import Agreement
from rules import FixedCostAgreement, IncomeAgreement, OnceSchedule, Plan

DIRECTION_INCOME = "income"
DIRECTION_FIXED_COST = "fixed_cost"


def _rows(session: Session, participant_id: int) -> dict[str, Agreement]:
    return {
        row.plan_agreement_id: row
        for row in session.scalars(
            select(Agreement).where(
                Agreement.participant_id == participant_id,
                Agreement.plan_agreement_id.is_not(None),
            )
        )
        if row.plan_agreement_id is not None
    }


def check_agreement_kinds(session: Session, plan: Plan) -> None:
    """An agreement id keeps its kind across versions (income or fixed cost)."""
    rows = _rows(session, plan.participant_id)
    for direction, agreements in (
        (DIRECTION_FIXED_COST, plan.fixed_costs),
        (DIRECTION_INCOME, plan.incomes),
    ):
        for agreement in agreements:
            row = rows.get(agreement.agreement_id)
            if row is not None and row.direction != direction:
                raise InvalidInput(
                    f"agreement id {agreement.agreement_id!r} was a {row.direction} in an "
                    f"earlier version; it cannot become a {direction}: use a new id"
                )


def project_agreements(session: Session, plan: Plan) -> None:
    rows = _rows(session, plan.participant_id)
    for direction, agreements in (
        (DIRECTION_FIXED_COST, plan.fixed_costs),
        (DIRECTION_INCOME, plan.incomes),
    ):
        for agreement in agreements:
            _upsert(session, plan, direction, agreement, rows.get(agreement.agreement_id))
    present = {cost.agreement_id for cost in plan.fixed_costs} | {
        income.agreement_id for income in plan.incomes
    }
    ended_on = plan.effective_from - dt.timedelta(days=1)
    for agreement_id, row in rows.items():
        if agreement_id not in present and (row.end_date is None or row.end_date > ended_on):
            row.end_date = max(ended_on, row.start_date)
    session.flush()


def _upsert(
    session: Session,
    plan: Plan,
    direction: str,
    agreement: FixedCostAgreement | IncomeAgreement,
    row: Agreement | None,
) -> None:
    category: str
    if isinstance(agreement, FixedCostAgreement):
        name, iban, category = (
            agreement.creditor_name,
            agreement.creditor_iban,
            str(agreement.category),
        )
        amount_cents = agreement.amount_cents
    else:
        name, iban, category = agreement.payer_name, agreement.payer_iban, str(agreement.kind)
        amount_cents = agreement.expected_amount_cents
    description = agreement.description_nl or name
    counterparty = get_or_create_counterparty(session, name=name, iban=iban, category=category)
    schedule = agreement.schedule
    start_date: dt.date
    end_date: dt.date | None
    if isinstance(schedule, OnceSchedule):
        start_date, end_date = schedule.on_date, schedule.on_date
    else:
        start_date, end_date = schedule.start_date, schedule.end_date
    values = {
        "counterparty_id": counterparty.id,
        "direction": direction,
        "description": description[:200],
        "amount_cents": amount_cents,
        "start_date": start_date,
        "end_date": end_date,
        "terms": {**agreement.model_dump(mode="json"), "plan_version": plan.version},
    }
    if row is None:
        session.add(
            Agreement(
                participant_id=plan.participant_id,
                plan_agreement_id=agreement.agreement_id,
                **values,
            )
        )
        return
    for column, value in values.items():
        setattr(row, column, value)


def agreement_ids_ever(session: Session, participant_id: int) -> set[str]:
    """Every rules agreement id the participant's plans have used."""
    return set(
        session.scalars(
            select(Agreement.plan_agreement_id).where(
                Agreement.participant_id == participant_id,
                Agreement.plan_agreement_id.is_not(None),
            )
        )
    )


_SLUG = re.compile(r"[^a-z0-9]+")
SLUG_LENGTH_MAX = 40


def new_agreement_id(description: str, taken: set[str]) -> str:
    """A readable agreement id from a description ("Gemeentelijke belastingen" ->
    "gemeentelijke-belastingen"), unique among `taken` (ids are never reused)."""
    slug = _SLUG.sub("-", unidecode(description).lower()).strip("-")[:SLUG_LENGTH_MAX].strip("-")
    base = slug or "vaste-last"
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        candidate = f"{base}-{number}"
    return candidate
