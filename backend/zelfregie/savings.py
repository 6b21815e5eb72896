"""Savings goals (potjes): the participant sets aside part of their living money.

- Setting aside moves money `available → savings` (reason `savings.set_aside`), at
  most what is free: the living money the engine would pay out before the next
  income (rules.zelfregie.free_to_set_aside), so fixed costs are never short.
- Withdrawing moves it back `savings → available` (reason `savings.withdraw`). It
  needs no approval (it is their money), but the caseworker sees it: an `info`
  alert of kind `savings_withdrawal`.
- Each movement is linked to its goal (`savings_movement`); the sum over a
  participant's goals equals their `savings` account.

The explanation in the ledger names the goal by number only: the goal's name is
the participant's own free text and the ledger is append-only.
Services only flush: the caller commits.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.access.policy import Party, Principal, ensure_can_act_for_participant
from backend.errors import Conflict, InvalidInput, NotFound
from backend.ledger_store import account_balances, post_entry
from backend.models import SavingsGoal, SavingsMovement
from backend.payments.alerts import raise_alert
from ledger import AMOUNT_CENTS_MAX, AccountKind, AccountRef, JournalEntry, Posting, holding_cents
from rules import Forecast
from rules.zelfregie import GoalForecast, free_to_set_aside, goal_forecast

REASON_SET_ASIDE = "savings.set_aside"
REASON_WITHDRAW = "savings.withdraw"
ALERT_KIND_WITHDRAWAL = "savings_withdrawal"
GOALS_MAX = 10
OWN = frozenset({Party.PARTICIPANT})


@dataclass(frozen=True, slots=True)
class GoalView:
    goal: SavingsGoal
    saved_cents: int
    forecast: GoalForecast


def _euro(cents: int) -> str:
    whole, rest = divmod(cents, 100)
    return f"€ {whole:,}".replace(",", ".") + f",{rest:02d}"


def _holding(session: Session, participant_id: int, kind: AccountKind) -> int:
    ref = AccountRef.of_participant(participant_id, kind)
    return holding_cents(ref, account_balances(session, participant_id=participant_id).get(ref, 0))


def saved_per_goal(session: Session, participant_id: int) -> dict[int, int]:
    return {
        goal_id: int(total)
        for goal_id, total in session.execute(
            select(SavingsMovement.goal_id, func.sum(SavingsMovement.amount_cents))
            .where(SavingsMovement.participant_id == participant_id)
            .group_by(SavingsMovement.goal_id)
        )
    }


def goals(session: Session, participant_id: int, today: dt.date) -> list[GoalView]:
    saved = saved_per_goal(session, participant_id)
    rows = session.scalars(
        select(SavingsGoal)
        .where(SavingsGoal.participant_id == participant_id)
        .order_by(SavingsGoal.id)
    )
    return [
        GoalView(
            goal,
            saved.get(goal.id, 0),
            goal_forecast(
                saved_cents=saved.get(goal.id, 0),
                target_cents=goal.target_cents,
                monthly_cents=goal.monthly_cents,
                today=today,
                target_date=goal.target_date,
            ),
        )
        for goal in rows
    ]


def _ensure_not_ended(session: Session, participant_id: int) -> None:
    """After participation ended (backend.ending) savings are paid out and stay closed."""
    from backend.ending.guard import ensure_participation_open

    ensure_participation_open(session, participant_id)


def create_goal(
    session: Session,
    principal: Principal,
    participant_id: int,
    *,
    name: str,
    target_cents: int,
    monthly_cents: int,
    target_date: dt.date | None,
    today: dt.date,
) -> SavingsGoal:
    ensure_can_act_for_participant(session, principal, participant_id, parties=OWN)
    _ensure_not_ended(session, participant_id)
    name = " ".join(name.split())
    if not 1 <= len(name) <= 100:
        raise InvalidInput("a savings goal needs a name of 1 to 100 characters")
    if not 0 < target_cents <= AMOUNT_CENTS_MAX or not 0 <= monthly_cents <= AMOUNT_CENTS_MAX:
        raise InvalidInput("the target must be above zero and the monthly amount not below")
    if target_date is not None and target_date <= today:
        raise InvalidInput("the target date must be in the future")
    count = session.scalar(select(func.count()).where(SavingsGoal.participant_id == participant_id))
    if (count or 0) >= GOALS_MAX:
        raise Conflict(f"at most {GOALS_MAX} savings goals")
    goal = SavingsGoal(
        participant_id=participant_id,
        name=name,
        target_cents=target_cents,
        target_date=target_date,
        monthly_cents=monthly_cents,
        created_by=principal.user_id,
    )
    session.add(goal)
    session.flush()
    return goal


def _own_goal(session: Session, participant_id: int, goal_id: int) -> SavingsGoal:
    goal = session.get(SavingsGoal, goal_id)
    if goal is None or goal.participant_id != participant_id:
        raise NotFound(f"savings goal {goal_id} not found")
    return goal


def _move(
    session: Session,
    principal: Principal,
    goal: SavingsGoal,
    *,
    amount_cents: int,
    today: dt.date,
    withdraw: bool,
) -> SavingsMovement:
    pid = goal.participant_id
    available = AccountRef.of_participant(pid, AccountKind.AVAILABLE)
    savings = AccountRef.of_participant(pid, AccountKind.SAVINGS)
    amount = _euro(amount_cents)
    if withdraw:
        postings = (Posting(savings, amount_cents), Posting(available, -amount_cents))
        text = (
            f"Je hebt {amount} teruggehaald uit je spaarpotje (spaardoel {goal.id}).",
            f"You took {amount} back from your savings pot (savings goal {goal.id}).",
        )
    else:
        postings = (Posting(available, amount_cents), Posting(savings, -amount_cents))
        text = (
            f"Je hebt {amount} opzij gezet in je spaarpotje (spaardoel {goal.id}).",
            f"You set aside {amount} in your savings pot (savings goal {goal.id}).",
        )
    posted = post_entry(
        session,
        JournalEntry(
            idempotency_key=f"savings:{pid}:{goal.id}:{uuid.uuid4().hex}",
            booking_date=today,
            reason_code=REASON_WITHDRAW if withdraw else REASON_SET_ASIDE,
            explanation=text[0],
            explanation_en=text[1],
            postings=postings,
            metadata=(("savings_goal_id", str(goal.id)),),
        ),
        created_by=principal.username,
    )
    movement = SavingsMovement(
        goal_id=goal.id,
        participant_id=pid,
        journal_entry_id=posted.entry_id,
        amount_cents=-amount_cents if withdraw else amount_cents,
        created_by=principal.user_id,
    )
    session.add(movement)
    session.flush()
    # A daily cycle may have moved money at the same time: never leave a pot below zero.
    if _holding(session, pid, AccountKind.AVAILABLE) < 0 or (
        _holding(session, pid, AccountKind.SAVINGS) < 0
    ):
        raise Conflict("the money moved meanwhile; try again")
    return movement


def set_aside(
    session: Session,
    principal: Principal,
    participant_id: int,
    goal_id: int,
    *,
    amount_cents: int,
    today: dt.date,
    forecast: Forecast | None,
) -> SavingsMovement:
    """Move `amount_cents` of free living money into the goal's pot."""
    ensure_can_act_for_participant(session, principal, participant_id, parties=OWN)
    _ensure_not_ended(session, participant_id)
    goal = _own_goal(session, participant_id, goal_id)
    if not 0 < amount_cents <= AMOUNT_CENTS_MAX:
        raise InvalidInput("the amount must be above zero")
    free = free_to_set_aside(_holding(session, participant_id, AccountKind.AVAILABLE), forecast)
    if amount_cents > free:
        raise Conflict(f"only {free} cents are free to set aside now")
    return _move(session, principal, goal, amount_cents=amount_cents, today=today, withdraw=False)


def withdraw(
    session: Session,
    principal: Principal,
    participant_id: int,
    goal_id: int,
    *,
    amount_cents: int,
    today: dt.date,
) -> SavingsMovement:
    """Take money back from a goal's pot into `available`; no approval, the caseworker
    is told (info alert)."""
    ensure_can_act_for_participant(session, principal, participant_id, parties=OWN)
    _ensure_not_ended(session, participant_id)
    goal = _own_goal(session, participant_id, goal_id)
    saved = saved_per_goal(session, participant_id).get(goal.id, 0)
    if not 0 < amount_cents <= AMOUNT_CENTS_MAX:
        raise InvalidInput("the amount must be above zero")
    if amount_cents > saved:
        raise Conflict(f"only {saved} cents are saved for this goal")
    movement = _move(
        session, principal, goal, amount_cents=amount_cents, today=today, withdraw=True
    )
    amount = _euro(amount_cents)
    raise_alert(
        session,
        dedup_key=f"{ALERT_KIND_WITHDRAWAL}:{movement.id}",
        participant_id=participant_id,
        kind=ALERT_KIND_WITHDRAWAL,
        severity="info",
        message_nl=(
            f"De deelnemer heeft {amount} uit spaardoel {goal.id} gehaald "
            f"(nog {_euro(saved - amount_cents)} gespaard). Dit is ter informatie."
        ),
        message_en=(
            f"The participant took {amount} from savings goal {goal.id} "
            f"({_euro(saved - amount_cents)} still saved). For your information."
        ),
    )
    return movement
