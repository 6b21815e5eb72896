"""Ending participation through co-decision, and the settlement on the end date.

- `end_participation` proposals (either party asks, the other agrees; the proposal's
  effective_from is the last day). The applier records the agreed end
  (`participation_end`, status `agreed`) and, when that day has come, settles at once.
- The daily cycle calls `settle_due_endings` after the rules engine: every agreed end
  whose date has come is settled (backend.ending.settlement), the snapshot for the
  letter is stored, and the participant is marked `ended` with `ended_on` — from which
  the privacy retention period counts (backend.privacy_store.retention reads
  participant.ended_on). After that the engine skips them (only `active` participants
  are run) and `guard.ensure_participation_open` refuses every change.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from backend.clock import AMSTERDAM
from backend.codecision.applying import register_applier
from backend.codecision.matrix import ChangeKind
from backend.ending.guard import ENDED, ensure_participation_open
from backend.ending.handover import handover_items
from backend.ending.settlement import participant_payee, settle_accounts
from backend.errors import Conflict, InvalidInput
from backend.models import (
    IncomeExpectationRecord,
    MunicipalBankAccount,
    Participant,
    ParticipationEnd,
    Proposal,
    UserAccount,
)
from backend.models.base import utcnow
from backend.plans.service import current_plan

log = logging.getLogger(__name__)
AGREED = "agreed"
SETTLED = "settled"


def end_of(session: Session, participant_id: int) -> ParticipationEnd | None:
    return session.scalar(
        select(ParticipationEnd).where(ParticipationEnd.participant_id == participant_id)
    )


def check_can_propose_end(session: Session, participant_id: int) -> None:
    """Before an `end_participation` proposal is stored: not ended, not agreed already,
    and an own IBAN to pay the remaining money to."""
    ensure_participation_open(session, participant_id)
    existing = end_of(session, participant_id)
    if existing is not None:
        raise Conflict(
            f"the end of participation is already agreed for {existing.end_date.isoformat()}"
        )
    participant = session.get(Participant, participant_id)
    if participant is None or not participant.own_iban:
        raise InvalidInput(
            "the participant has no own IBAN yet; the remaining money is paid to it, "
            "so record it first"
        )


def apply_end(session: Session, proposal: Proposal, *, now: dt.datetime) -> str:
    """Co-decision applier for `end_participation`; idempotent per proposal."""
    end = end_of(session, proposal.participant_id)
    if end is None:
        end = ParticipationEnd(
            participant_id=proposal.participant_id,
            proposal_id=proposal.id,
            end_date=proposal.effective_from,
            reason=proposal.reason,
            status=AGREED,
            remaining_debt_cents=0,
            handover={},
            created_at=now,
        )
        session.add(end)
        session.flush()
    elif end.proposal_id != proposal.id:
        raise Conflict(f"participant {proposal.participant_id} already has an agreed end")
    # Settled at once when the last day has come (co-decision moves a passed date to the
    # day of approval), booked on that last day; a later end is left to the daily cycle.
    if end.status == AGREED and end.end_date <= now.astimezone(AMSTERDAM).date():
        settle(session, end, today=end.end_date)
    return f"participation_end:{proposal.participant_id}"


def register_ending_applier() -> None:
    register_applier(ChangeKind.END_PARTICIPATION, apply_end)


def _debtor_iban(session: Session) -> str:
    iban = session.scalar(select(MunicipalBankAccount.iban).order_by(MunicipalBankAccount.id))
    if iban is None:
        raise Conflict("the municipality has no bank account to pay from; register one first")
    return iban


def _actor(session: Session, end: ParticipationEnd) -> int:
    """Who the savings movements are recorded for: the participant's own account, else
    whoever decided the proposal."""
    own = session.scalar(
        select(UserAccount.id).where(UserAccount.participant_id == end.participant_id)
    )
    if own is not None:
        return int(own)
    proposal = session.get(Proposal, end.proposal_id) if end.proposal_id else None
    if proposal is None or proposal.decided_by is None:
        raise Conflict(f"participant {end.participant_id}: nobody to record the settlement for")
    return int(proposal.decided_by)


def settle(
    session: Session, end: ParticipationEnd, *, today: dt.date, debtor_iban: str | None = None
) -> bool:
    """The final settlement of one agreed end; False when it was settled before."""
    if end.status == SETTLED:
        return False
    pid = end.participant_id
    participant = session.get(Participant, pid)
    if participant is None:
        raise Conflict(f"participant {pid} does not exist")
    debtor = debtor_iban or _debtor_iban(session)
    stored = current_plan(session, pid, today)
    plan = stored.plan if stored is not None else None
    if plan is not None and participant.status == "active":
        # The engine once more for the settlement day: what is due by now is paid as
        # usual, with the cycle's own keys (a day the cycle already ran changes nothing).
        from backend.cycle.service import run_cycle_in_session

        run_cycle_in_session(session, today=today, participant_ids=[pid], debtor_iban=debtor)
    name, own_iban = participant_payee(session, pid)
    if plan is not None and plan.living_money is not None:
        name, own_iban = plan.living_money.payee_name, plan.living_money.payee_iban
    result = settle_accounts(
        session,
        end,
        today=today,
        debtor_iban=debtor,
        actor_user_id=_actor(session, end),
        payee_name=name,
        payee_iban=own_iban,
    )
    handover: dict[str, Any] = {
        "end_date": end.end_date.isoformat(),
        "settled_on": today.isoformat(),
        "reason": end.reason,
        "own_iban": own_iban,
        "plan_version": stored.version if stored is not None else None,
        **handover_items(plan, end_date=end.end_date, settled_on=today),
        "start_holdings": result.start_holdings,
        "savings_cents": result.savings_cents,
        "buffer_paid_cents": result.buffer_paid_cents,
        "advance_debt_cents": result.advance_debt_cents,
        "advance_settled_cents": result.advance_settled_cents,
        "remaining_debt_cents": result.remaining_debt_cents,
        "payouts": [payout.as_dict() for payout in result.payouts],
        "closing_entries": [line.as_dict() for line in result.lines],
    }
    end.handover = handover
    end.remaining_debt_cents = result.remaining_debt_cents
    end.status = SETTLED
    end.settled_on = today
    end.settled_at = utcnow()
    participant.status = ENDED
    participant.ended_on = end.end_date
    _stop_expecting_income(session, pid, after=end.end_date)
    session.flush()
    log.info("participation of %s settled on %s", pid, today)
    return True


def _stop_expecting_income(session: Session, participant_id: int, *, after: dt.date) -> None:
    """Income that still arrives after the last day is no longer matched to the ended
    participant (where it would wait unseen); the import puts it in suspense, where
    finance returns or forwards it."""
    until = after + dt.timedelta(days=1)
    session.execute(
        update(IncomeExpectationRecord)
        .where(
            IncomeExpectationRecord.participant_id == participant_id,
            or_(
                IncomeExpectationRecord.effective_until.is_(None),
                IncomeExpectationRecord.effective_until > until,
            ),
        )
        .values(effective_until=until)
        .execution_options(synchronize_session=False)
    )


def settle_due_endings(session: Session, *, today: dt.date, debtor_iban: str | None = None) -> int:
    """For the daily cycle: settle every agreed end whose date has come. One failure
    (logged, savepoint rolled back) does not stop the others; it is tried again tomorrow."""
    due = list(
        session.scalars(
            select(ParticipationEnd)
            .where(ParticipationEnd.status == AGREED, ParticipationEnd.end_date <= today)
            .order_by(ParticipationEnd.end_date, ParticipationEnd.id)
        )
    )
    settled = 0
    for end in due:
        try:
            with session.begin_nested():
                settled += int(settle(session, end, today=today, debtor_iban=debtor_iban))
        except Exception:
            log.exception("participation end of %s could not be settled", end.participant_id)
            session.expire_all()
    # Money that reached an ended participant after their settlement (a returned payout,
    # suspense assigned to them) is paid to their own IBAN (backend.ending.followup).
    from backend.ending.followup import pay_after_end

    pay_after_end(session, today=today, debtor_iban=debtor_iban)
    return settled
