"""Plan versions: store them, find the one in force, and change a plan from a decision.

A participant's plan is a sequence of immutable versions (rules.Plan as JSON in
`plan_version`). Version n+1 takes effect from its `effective_from` date, which is
never before version n's; the rules engine always runs with the version in force
on the day it evaluates. Agreement ids stay the same across versions, so a due
date paid under one version is never paid again under the next.

Storing a version also maintains two projections:
- `income_expectation`: the income agreements per version with the dates the
  version is in force, for the bank import (`income_expectations_by_payer_iban`);
- `agreement`: one row per agreement of the latest version with a stable integer
  id, which co-decision proposals refer to.

Services only flush: the caller commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Subquery, func, or_, select, update
from sqlalchemy.orm import Session

from backend.codecision.changes import PlanChange
from backend.errors import Conflict, IdempotencyConflict, InvalidInput, NotFound
from backend.iban import validate_iban
from backend.models import IncomeExpectationRecord, Participant, PlanVersionRecord
from backend.payments.sepa_text import parse_creditor_reference, sepa_name
from backend.plans.changes import plan_with_change
from backend.plans.projection import check_agreement_kinds, project_agreements
from rules import IncomeAgreement, Plan, income_metadata

SOURCE_LENGTH_MAX = 100
CREATED_BY_LENGTH_MAX = 100
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class StoredPlan:
    """One stored plan version."""

    record_id: int
    participant_id: int
    version: int
    effective_from: dt.date
    plan: Plan
    source: str
    created_by: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class IncomeExpectation:
    """An income the bank import can match: one income agreement of one plan version.

    In force from `effective_from` until (not including) `effective_until` (None: open).
    `agreement` is the rules.IncomeAgreement, with schedule and window.
    """

    participant_id: int
    agreement_id: str
    plan_version: int
    effective_from: dt.date
    effective_until: dt.date | None
    payer_iban: str
    payer_name: str
    search_terms: tuple[str, ...]
    expected_amount_cents: int
    tolerance_cents: int
    agreement: IncomeAgreement

    def in_force_on(self, day: dt.date) -> bool:
        return self.effective_from <= day and (
            self.effective_until is None or day < self.effective_until
        )

    def amount_matches(self, amount_cents: int) -> bool:
        return abs(amount_cents - self.expected_amount_cents) <= self.tolerance_cents

    def expected_date_for(self, received_on: dt.date) -> dt.date | None:
        """The expected date (period) a payment received that day belongs to, if any."""
        return self.agreement.expected_date_for(received_on)

    def entry_metadata(self, received_on: dt.date) -> tuple[tuple[str, str], ...] | None:
        """The metadata for the `income.matched` journal entry (rules.income_metadata),
        or None when the day is outside every window of this income."""
        expected = self.expected_date_for(received_on)
        if expected is None:
            return None
        return income_metadata(self.agreement_id, expected)


# ---------------------------------------------------------------------- storing


def store_plan_version(session: Session, plan: Plan, *, created_by: str, source: str) -> StoredPlan:
    """Store `plan` as the participant's next version.

    Refuses (InvalidInput / Conflict) a version that is not the previous one + 1, an
    effective date before the previous version's, an invalid IBAN, a betalingskenmerk
    the bank would refuse, and an agreement id that changes from income to fixed cost.
    `source` names where the version comes from ("onboarding", "proposal:42"); storing
    the same source again returns the stored version when the content is the same.
    IBANs are stored in compact form.
    """
    _check_label(source, "source", SOURCE_LENGTH_MAX)
    _check_label(created_by, "created_by", CREATED_BY_LENGTH_MAX)
    plan = normalised_plan(plan)
    participant_id = plan.participant_id
    _lock_participant(session, participant_id)
    existing = _by_source(session, participant_id, source)
    if existing is not None:
        if existing.plan != plan:
            raise IdempotencyConflict(
                f"participant {participant_id} already has plan version {existing.version} "
                f"from {source!r}, with other content"
            )
        return existing
    previous = latest_plan(session, participant_id)
    expected_version = 1 if previous is None else previous.version + 1
    if plan.version != expected_version:
        raise Conflict(
            f"participant {participant_id}: the next plan version is {expected_version}, "
            f"not {plan.version}"
        )
    if previous is not None and plan.effective_from < previous.effective_from:
        raise InvalidInput(
            f"plan version {plan.version} would take effect on {plan.effective_from}, before "
            f"version {previous.version} (from {previous.effective_from}); "
            "a later version cannot take effect earlier"
        )
    check_agreement_kinds(session, plan)
    record = PlanVersionRecord(
        participant_id=participant_id,
        version=plan.version,
        effective_from=plan.effective_from,
        body=plan.model_dump(mode="json"),
        source=source,
        created_by=created_by,
    )
    session.add(record)
    session.flush()
    _project_income_expectations(session, plan)
    project_agreements(session, plan)
    return _stored(record, plan)


def normalised_plan(plan: Plan) -> Plan:
    """The plan with compact IBANs; InvalidInput when an IBAN, a creditor name or a
    betalingskenmerk would be refused by the bank."""
    body: dict[str, Any] = plan.model_dump(mode="json")
    for index, cost in enumerate(body["fixed_costs"]):
        where = f"fixed cost {cost['agreement_id']!r}"
        cost["creditor_iban"] = validate_iban(cost["creditor_iban"], field=f"{where}: IBAN")
        _sepa_name(cost["creditor_name"], where)
        reference = cost["reference"]
        if reference["kind"] == "structured":
            try:
                parse_creditor_reference(reference["text"])
            except InvalidInput as error:
                raise InvalidInput(f"{where}: {error.detail}") from error
        body["fixed_costs"][index] = cost
    for income in body["incomes"]:
        where = f"income {income['agreement_id']!r}"
        income["payer_iban"] = validate_iban(income["payer_iban"], field=f"{where}: IBAN")
    living = body.get("living_money")
    if living is not None:
        living["payee_iban"] = validate_iban(living["payee_iban"], field="living money: IBAN")
        _sepa_name(living["payee_name"], "living money payee")
    try:
        return Plan.model_validate(body)
    except ValidationError as error:  # pragma: no cover - the body came from a valid Plan
        raise InvalidInput(f"plan is not valid: {error}") from error


def _sepa_name(name: str, where: str) -> None:
    try:
        sepa_name(name)
    except InvalidInput as error:
        raise InvalidInput(f"{where}: {error.detail}") from error


def _check_label(text: str, what: str, length_max: int) -> None:
    if not text or not text.strip() or len(text) > length_max:
        raise InvalidInput(f"{what} must be 1 to {length_max} characters")


def _lock_participant(session: Session, participant_id: int) -> None:
    """Serialise version numbering per participant (FOR UPDATE; SQLite has one writer)."""
    found = session.scalar(
        select(Participant.id).where(Participant.id == participant_id).with_for_update()
    )
    if found is None:
        raise NotFound(f"participant {participant_id} does not exist")


def _project_income_expectations(session: Session, plan: Plan) -> None:
    """Close the open rows of earlier versions at this version's start; add this one's."""
    session.execute(
        update(IncomeExpectationRecord)
        .where(
            IncomeExpectationRecord.participant_id == plan.participant_id,
            IncomeExpectationRecord.plan_version < plan.version,
            or_(
                IncomeExpectationRecord.effective_until.is_(None),
                IncomeExpectationRecord.effective_until > plan.effective_from,
            ),
        )
        .values(effective_until=plan.effective_from)
        .execution_options(synchronize_session=False)
    )
    session.add_all(
        IncomeExpectationRecord(
            participant_id=plan.participant_id,
            plan_version=plan.version,
            agreement_id=income.agreement_id,
            effective_from=plan.effective_from,
            effective_until=None,
            payer_iban=income.payer_iban,
            payer_name=income.payer_name,
            search_terms=list(income.search_terms),
            expected_amount_cents=income.expected_amount_cents,
            tolerance_cents=income.tolerance_cents,
            terms=income.model_dump(mode="json"),
        )
        for income in plan.incomes
    )
    session.flush()


# ---------------------------------------------------------------------- reading


def _stored(record: PlanVersionRecord, plan: Plan | None = None) -> StoredPlan:
    return StoredPlan(
        record_id=record.id,
        participant_id=record.participant_id,
        version=record.version,
        effective_from=record.effective_from,
        plan=plan if plan is not None else Plan.model_validate(record.body),
        source=record.source,
        created_by=record.created_by,
        created_at=record.created_at,
    )


def _by_source(session: Session, participant_id: int, source: str) -> StoredPlan | None:
    record = session.scalar(
        select(PlanVersionRecord).where(
            PlanVersionRecord.participant_id == participant_id,
            PlanVersionRecord.source == source,
        )
    )
    return None if record is None else _stored(record)


def latest_plan(session: Session, participant_id: int) -> StoredPlan | None:
    """The highest version, whether or not it is in force yet."""
    record = session.scalar(
        select(PlanVersionRecord)
        .where(PlanVersionRecord.participant_id == participant_id)
        .order_by(PlanVersionRecord.version.desc())
        .limit(1)
    )
    return None if record is None else _stored(record)


def current_plan(session: Session, participant_id: int, on: dt.date) -> StoredPlan | None:
    """The version in force on `on`: the highest version effective on or before that day."""
    record = session.scalar(
        select(PlanVersionRecord)
        .where(
            PlanVersionRecord.participant_id == participant_id,
            PlanVersionRecord.effective_from <= on,
        )
        .order_by(PlanVersionRecord.version.desc())
        .limit(1)
    )
    return None if record is None else _stored(record)


def plan_history(session: Session, participant_id: int) -> list[StoredPlan]:
    """Every version, oldest first."""
    return [
        _stored(record)
        for record in session.scalars(
            select(PlanVersionRecord)
            .where(PlanVersionRecord.participant_id == participant_id)
            .order_by(PlanVersionRecord.version)
        )
    ]


def plans_in_force(
    session: Session, participant_ids: Sequence[int], on: dt.date
) -> dict[int, StoredPlan]:
    """The version in force on `on` for each of the participants that has one (bulk:
    one query per 500 participants, for the daily cycle). A stored body that no longer
    validates is reported as a missing plan by the caller, not raised here: see
    `plan_records_in_force`."""
    return {
        participant_id: _stored(record)
        for participant_id, record in plan_records_in_force(session, participant_ids, on).items()
    }


def plan_records_in_force(
    session: Session, participant_ids: Sequence[int], on: dt.date
) -> dict[int, PlanVersionRecord]:
    found: dict[int, PlanVersionRecord] = {}
    for chunk in _chunks(participant_ids):
        for record in session.scalars(
            select(PlanVersionRecord).join(
                newest := _newest_in_force(chunk, on),
                (PlanVersionRecord.participant_id == newest.c.participant_id)
                & (PlanVersionRecord.version == newest.c.version),
            )
        ):
            found[record.participant_id] = record
    return found


def plan_bodies_in_force(
    session: Session, participant_ids: Sequence[int], on: dt.date
) -> dict[int, dict[str, Any]]:
    """Like `plan_records_in_force`, only the JSON bodies (lean rows, for the cycle)."""
    found: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(participant_ids):
        newest = _newest_in_force(chunk, on)
        for participant_id, body in session.execute(
            select(PlanVersionRecord.participant_id, PlanVersionRecord.body).join(
                newest,
                (PlanVersionRecord.participant_id == newest.c.participant_id)
                & (PlanVersionRecord.version == newest.c.version),
            )
        ):
            found[participant_id] = body
    return found


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start : start + _CHUNK])


def _newest_in_force(participant_ids: list[int], on: dt.date) -> Subquery:
    return (
        select(
            PlanVersionRecord.participant_id.label("participant_id"),
            func.max(PlanVersionRecord.version).label("version"),
        )
        .where(
            PlanVersionRecord.participant_id.in_(participant_ids),
            PlanVersionRecord.effective_from <= on,
        )
        .group_by(PlanVersionRecord.participant_id)
        .subquery()
    )


# ---------------------------------------------------------------------- for the bank import


def _compact(iban: str) -> str:
    return "".join(iban.split()).upper()


def _expectation(record: IncomeExpectationRecord) -> IncomeExpectation:
    return IncomeExpectation(
        participant_id=record.participant_id,
        agreement_id=record.agreement_id,
        plan_version=record.plan_version,
        effective_from=record.effective_from,
        effective_until=record.effective_until,
        payer_iban=record.payer_iban,
        payer_name=record.payer_name,
        search_terms=tuple(record.search_terms),
        expected_amount_cents=record.expected_amount_cents,
        tolerance_cents=record.tolerance_cents,
        agreement=IncomeAgreement.model_validate(record.terms),
    )


def income_expectations_by_payer_iban(
    session: Session, iban: str, *, on: dt.date
) -> list[IncomeExpectation]:
    """The income agreements in force on `on` whose payer pays from `iban`.

    One indexed query (payer_iban, effective_from). A payer such as the municipality's
    benefits department pays many participants: narrow down with the search terms
    and `amount_matches`, then book with `entry_metadata(received_on)` so the rules
    engine sees the income as received. Ordered by participant and agreement id.
    """
    return income_expectations_for_payers(session, [iban], start=on, end=on).get(_compact(iban), [])


def income_expectations_for_payers(
    session: Session, ibans: Iterable[str], *, start: dt.date, end: dt.date
) -> dict[str, list[IncomeExpectation]]:
    """Bulk form for a whole statement: per payer IBAN (compact) the expectations in
    force on any day from `start` to `end`; check `in_force_on(booking_date)` per entry."""
    wanted = sorted({_compact(iban) for iban in ibans})
    found: dict[str, list[IncomeExpectation]] = {iban: [] for iban in wanted}
    for offset in range(0, len(wanted), _CHUNK):
        rows = session.scalars(
            select(IncomeExpectationRecord)
            .where(
                IncomeExpectationRecord.payer_iban.in_(wanted[offset : offset + _CHUNK]),
                IncomeExpectationRecord.effective_from <= end,
                or_(
                    IncomeExpectationRecord.effective_until.is_(None),
                    IncomeExpectationRecord.effective_until > start,
                ),
            )
            .order_by(
                IncomeExpectationRecord.participant_id,
                IncomeExpectationRecord.agreement_id,
                IncomeExpectationRecord.plan_version,
            )
        )
        for record in rows:
            found[record.payer_iban].append(_expectation(record))
    return found


# ---------------------------------------------------------------------- changing a plan


def apply_plan_change(
    session: Session,
    participant_id: int,
    change: Plan | PlanChange,
    *,
    effective_from: dt.date,
    created_by: str,
    source: str,
) -> StoredPlan:
    """Make and store the next plan version from a decided change. The hook for
    co-decision (see backend.plans.appliers for the registered appliers).

    change: a co-decision change (backend.codecision.changes, e.g. a
        LivingMoneyAmountChange) applied to the latest version, or a whole new
        rules.Plan body (its version and effective date are replaced).
    effective_from: the day the new version takes effect. When the latest version
        takes effect later (a change decided earlier for a future date), the new
        version takes effect with it, so no decision is lost.
    source: where the change comes from, e.g. "proposal:42". Idempotent per source:
        a second call with the same source returns the version the first one made.

    Money already paid stays paid: agreement ids carry over, and the daily cycle's
    keys make a due date paid under an earlier version never paid again.
    Raises InvalidInput when the change cannot become a valid plan.
    """
    _lock_participant(session, participant_id)
    existing = _by_source(session, participant_id, source)
    if existing is not None:
        return existing
    base = latest_plan(session, participant_id)
    if base is None:
        raise InvalidInput(
            f"participant {participant_id} has no plan yet; store the first version first"
        )
    effective = max(effective_from, base.effective_from)
    if isinstance(change, Plan):
        if change.participant_id != participant_id:
            raise InvalidInput(
                f"the plan is for participant {change.participant_id}, not {participant_id}"
            )
        changed = change
    else:
        changed = plan_with_change(session, base.plan, change, effective_from=effective)
    body = {**changed.model_dump(), "version": base.version + 1, "effective_from": effective}
    try:
        new_plan = Plan.model_validate(body)
    except ValidationError as error:
        raise InvalidInput(f"the new plan is not valid: {error.errors()[0]['msg']}") from error
    return store_plan_version(session, new_plan, created_by=created_by, source=source)
