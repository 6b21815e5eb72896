"""Changing one agreement of a plan: follow it up, copy it, or end it.

These are the caseworker's everyday agreement changes (Huishoudboekje's
"vervolgafspraak", "afspraak kopiëren" and "afspraak beëindigen"). They change the
agreements' schedules, not the plan version's date, so one new plan version can
say "the old amount until 28 February, the new amount from 1 March":

- follow_up: the agreement ends the day before `from_date`, and a new agreement
  with the same terms and the new amount starts on `from_date` (and ends when the
  old one would have ended). The engine pays the old amount for due dates before
  `from_date` and the new amount from it; money reserved for a due date of the old
  agreement on or after `from_date` is released and reserved again for the new one.
- copy: a new agreement with the same terms and the given amount from `from_date`;
  the original stays as it is.
- end: the agreement's schedule ends on `end_date` (inclusive). No due date after
  it exists any more, so nothing after it is paid (or expected, for income).

The plan's monthly sums (living money, buffer target) count the agreements in force
on the day (`in_force`): an ended agreement no longer counts, and a follow-up counts
from the day the agreement it follows has ended, so living money is never computed
with both the old and the new rent.

The new agreement's id is chosen by the caller (the backend never reuses ids).
Every function raises RulesError with a message that says what is wrong; the plan
given is never changed (plans are frozen).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import ValidationError

from rules.errors import RulesError
from rules.plan import FixedCostAgreement, IncomeAgreement, Plan
from rules.schedules import OnceSchedule, WeeklySchedule, next_occurrence, schedule_start

Agreement = FixedCostAgreement | IncomeAgreement


def _ended_before(agreement: Agreement, day: dt.date) -> bool:
    schedule = agreement.schedule
    return (
        not isinstance(schedule, OnceSchedule)
        and schedule.end_date is not None
        and schedule.end_date < day
    )


def in_force(plan: Plan, day: dt.date) -> Plan:
    """The plan with only the agreements that count on `day` for the monthly sums
    (living money, buffer target): without repeating agreements that ended before
    `day`, and without follow-ups that have not started while the agreement they
    follow still runs. Agreements that simply start later still count (a yearly tax
    is saved for before it is first due). Returns `plan` itself when nothing is left out.
    """
    agreements: list[Agreement] = [*plan.fixed_costs, *plan.incomes]
    ended = {a.agreement_id for a in agreements if _ended_before(a, day)}
    by_id = {a.agreement_id: a for a in agreements}
    left_out = set(ended)
    for agreement in agreements:
        followed = agreement.follows_agreement_id
        if (
            followed is not None
            and followed in by_id
            and followed not in ended
            and schedule_start(agreement.schedule) > day
        ):
            left_out.add(agreement.agreement_id)
    if not left_out:
        return plan
    # model_copy: a subset of a valid plan is valid; no need to validate again.
    return plan.model_copy(
        update={
            "fixed_costs": tuple(c for c in plan.fixed_costs if c.agreement_id not in left_out),
            "incomes": tuple(i for i in plan.incomes if i.agreement_id not in left_out),
        }
    )


def find_agreement(plan: Plan, agreement_id: str) -> Agreement:
    """The fixed cost or income agreement with this id, or RulesError."""
    found: Agreement | None = plan.fixed_cost(agreement_id) or plan.income(agreement_id)
    if found is None:
        raise RulesError(f"agreement {agreement_id!r} is not in plan version {plan.version}")
    return found


def _repeating(agreement: Agreement) -> None:
    if isinstance(agreement.schedule, OnceSchedule):
        raise RulesError(
            f"agreement {agreement.agreement_id!r} is paid once; only a repeating "
            "agreement can be followed up, copied or ended"
        )


def _schedule_bounds(agreement: Agreement) -> tuple[dt.date, dt.date | None]:
    schedule = agreement.schedule
    assert not isinstance(schedule, OnceSchedule)
    return schedule.start_date, schedule.end_date


def _amount_field(agreement: Agreement) -> str:
    return "amount_cents" if isinstance(agreement, FixedCostAgreement) else "expected_amount_cents"


def _validated(body: dict[str, Any], what: str) -> Plan:
    try:
        return Plan.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise RulesError(f"{what}: {where}: {first['msg']}") from error


def _replace(body: dict[str, Any], agreement: Agreement, new: dict[str, Any] | None) -> None:
    """Put `new` in place of `agreement` in the plan body (None: leave it out)."""
    field = "fixed_costs" if isinstance(agreement, FixedCostAgreement) else "incomes"
    rows: list[dict[str, Any]] = []
    for row in body[field]:
        if row["agreement_id"] == agreement.agreement_id:
            if new is not None:
                rows.append(new)
        else:
            rows.append(row)
    body[field] = rows


def _append(body: dict[str, Any], agreement: Agreement, new: dict[str, Any]) -> None:
    field = "fixed_costs" if isinstance(agreement, FixedCostAgreement) else "incomes"
    body[field] = [*body[field], new]


def _successor(
    agreement: Agreement,
    new_agreement_id: str,
    amount_cents: int,
    from_date: dt.date,
    end_date: dt.date | None,
) -> dict[str, Any]:
    """The agreement's terms with a new id, amount and start (and the given end)."""
    new = agreement.model_dump(mode="json")
    new["agreement_id"] = new_agreement_id
    new["follows_agreement_id"] = None
    new[_amount_field(agreement)] = amount_cents
    start = from_date
    if isinstance(agreement.schedule, WeeklySchedule) and agreement.schedule.every_weeks > 1:
        # Keep the rhythm: every two weeks stays on the same weeks, not from the new date.
        open_schedule = agreement.schedule.model_copy(update={"end_date": None})
        start = next_occurrence(open_schedule, from_date) or from_date
    new["schedule"] = {
        **new["schedule"],
        "start_date": start.isoformat(),
        "end_date": None if end_date is None else end_date.isoformat(),
    }
    return new


def _check_new_id(plan: Plan, new_agreement_id: str) -> None:
    if plan.fixed_cost(new_agreement_id) or plan.income(new_agreement_id):
        raise RulesError(f"agreement id {new_agreement_id!r} is already used in this plan")


def follow_up(
    plan: Plan, agreement_id: str, *, amount_cents: int, from_date: dt.date, new_agreement_id: str
) -> Plan:
    """The plan with `agreement_id` ending the day before `from_date` and a follow-up
    agreement `new_agreement_id` paying `amount_cents` from `from_date`."""
    agreement = find_agreement(plan, agreement_id)
    _repeating(agreement)
    _check_new_id(plan, new_agreement_id)
    start, end = _schedule_bounds(agreement)
    if from_date <= start:
        raise RulesError(
            f"the follow-up of {agreement_id!r} starts on {from_date}, but the agreement "
            f"itself starts on {start}; a follow-up starts after the agreement's first day"
        )
    if end is not None and from_date > end:
        raise RulesError(
            f"agreement {agreement_id!r} already ends on {end}; a follow-up from {from_date} "
            "would leave a gap: copy the agreement instead"
        )
    body = plan.model_dump(mode="json")
    ended = agreement.model_dump(mode="json")
    ended["schedule"] = {
        **ended["schedule"],
        "end_date": (from_date - dt.timedelta(days=1)).isoformat(),
    }
    _replace(body, agreement, ended)
    successor = _successor(agreement, new_agreement_id, amount_cents, from_date, end)
    successor["follows_agreement_id"] = agreement_id
    _append(body, agreement, successor)
    return _validated(body, f"the follow-up of {agreement_id!r} is not valid")


def copy(
    plan: Plan, agreement_id: str, *, amount_cents: int, from_date: dt.date, new_agreement_id: str
) -> Plan:
    """The plan with a new agreement `new_agreement_id`: the terms of `agreement_id`,
    paying `amount_cents` from `from_date`, without an end. The original stays."""
    agreement = find_agreement(plan, agreement_id)
    _repeating(agreement)
    _check_new_id(plan, new_agreement_id)
    body = plan.model_dump(mode="json")
    _append(body, agreement, _successor(agreement, new_agreement_id, amount_cents, from_date, None))
    return _validated(body, f"the copy of {agreement_id!r} is not valid")


def end(plan: Plan, agreement_id: str, *, end_date: dt.date) -> Plan:
    """The plan with `agreement_id` ending on `end_date` (the last day it is due)."""
    agreement = find_agreement(plan, agreement_id)
    _repeating(agreement)
    start, current_end = _schedule_bounds(agreement)
    if end_date < start:
        raise RulesError(
            f"the end date {end_date} of {agreement_id!r} is before its start date {start}"
        )
    if current_end is not None and end_date > current_end:
        raise RulesError(
            f"agreement {agreement_id!r} already ends on {current_end}; an end date cannot "
            "make it longer: make a follow-up or a copy instead"
        )
    body = plan.model_dump(mode="json")
    ended = agreement.model_dump(mode="json")
    ended["schedule"] = {**ended["schedule"], "end_date": end_date.isoformat()}
    _replace(body, agreement, ended)
    return _validated(body, f"ending {agreement_id!r} is not valid")
