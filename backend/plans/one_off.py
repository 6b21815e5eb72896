"""One-off extra payouts (extra leefgeld / noodbetaling): co-decision kind `extra_payout`.

When the participant presses the emergency button and the caseworker decides to help,
she grants a one-off payout: she approves the participant's `extra_payout` proposal, or
applies one alone on the emergency path (at most `emergency_payout_cap_cents`,
default € 250,00, with a written reason the participant sees).

- Before the decision is stored, `check_extra_payout` asks the rules engine
  (`rules.one_off_payout_shortfall`) whether the payout can be paid today from
  available money and the buffer without leaving a fixed cost executed before the next
  income (plus its window) short. If not, it is refused (InvalidInput, naming the
  shortfall) and nothing is stored.
- The applier (`apply_extra_payout`) makes a plan version with a `rules.OneOffPayout`
  (id `proposal-<id>`, or `emergency-<request id>` when the change names the emergency
  request it answers, the amount, the day, the reason, the participant's own account)
  and marks the participant's open emergency requests as handled.
- One emergency request gives at most one payout (`claim_emergency_request`: row lock,
  refused when handled). An unpaid payout is never dropped from the plan; when 20 wait,
  a new one is refused (`plan_with_payout`).
- The daily cycle pays it: the engine's rule `living_money.one_off` books available ->
  payable (after a buffer draw when available money is short) and the SEPA instruction
  goes to the participant's own IBAN. Its idempotency key is made of the payout id
  alone, so it is paid exactly once however often the cycle runs; the buffer refill
  rule fills the buffer again from later income.

Paid on the next cycle run, not at once in the deciding request: the cycle is the one
writer of the engine's entries (its open-items cache, its lock) and the SEPA batch is
made after the cycle anyway, so paying at once would not reach the bank sooner.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.codecision.changes import ExtraPayoutChange, parse_change
from backend.config import get_settings
from backend.errors import Conflict, InvalidInput, NotFound
from backend.ledger_store import account_balances
from backend.models import EmergencyRequest, Participant, Proposal
from backend.plans.service import StoredPlan, apply_plan_change, current_plan, latest_plan
from ledger import Money
from rules import (
    LOOKBACK_DAYS,
    Balances,
    OneOffPayout,
    OpenItems,
    OpenItemsBuilder,
    Plan,
    RulesError,
    one_off_payout_shortfall,
)
from rules.plan import ONE_OFF_PAYOUTS_MAX, ONE_OFF_REASON_LENGTH_MAX

EMERGENCY_PAYOUT_CAP_CENTS_DEFAULT = 25_000  # € 250,00 (docs/co-decision.md)
PAYOUT_ID_PREFIX = "proposal-"
EMERGENCY_PAYOUT_ID_PREFIX = "emergency-"
# An unpaid payout older than this is given up (the engine looks back LOOKBACK_DAYS,
# plus a margin for a cycle catching up on missed days): a new plan version leaves it
# out. A paid payout is left out at once. Any other payout is never dropped.
KEEP_DAYS = LOOKBACK_DAYS + 31
# Proposal statuses that never pay: a request they named may be answered again.
_NOT_PAYING = ("rejected", "withdrawn", "expired")


def emergency_payout_cap_cents() -> int:
    """The most a caseworker may pay out alone (HUISHOUDBOEKJE_EMERGENCY_PAYOUT_CAP_CENTS)."""
    return int(get_settings().emergency_payout_cap_cents)


def payout_id(proposal_id: int, emergency_request_id: int | None = None) -> str:
    """Made from the emergency request when there is one: the engine's idempotency key is
    the payout id, so one request is paid at most once, whatever else goes wrong."""
    if emergency_request_id is not None:
        return f"{EMERGENCY_PAYOUT_ID_PREFIX}{emergency_request_id}"
    return f"{PAYOUT_ID_PREFIX}{proposal_id}"


def claim_emergency_request(
    session: Session, participant_id: int, request_id: int
) -> EmergencyRequest:
    """Lock the emergency request (FOR UPDATE on PostgreSQL, so two clicks wait for each
    other) and refuse (Conflict, nothing stored) when it is already handled or a payout
    already answers it."""
    request = session.scalars(
        select(EmergencyRequest)
        .where(EmergencyRequest.id == request_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if request is None or request.participant_id != participant_id:
        raise NotFound(f"emergency request {request_id} was not found")
    earlier = [
        proposal
        for proposal in session.scalars(
            select(Proposal).where(
                Proposal.participant_id == participant_id,
                Proposal.kind == "extra_payout",
                Proposal.status.not_in(_NOT_PAYING),
            )
        )
        if dict(proposal.payload).get("emergency_request_id") == request_id
    ]
    if request.acknowledged_at is not None or earlier:
        # The participant's own request for a payout with the button, still waiting for
        # the caseworker: approve (or reject) that one, do not add a second.
        waiting = [proposal.id for proposal in earlier if proposal.status == "proposed"]
        raise Conflict(
            f"emergency request {request_id} is already handled"
            + (f" (proposal {earlier[0].id})" if earlier else "")
            + "; no second extra payout is made for it",
            already_handled=True,
            **({"open_proposal_id": waiting[0]} if waiting else {}),
        )
    return request


def _payee(session: Session, plan: Plan, participant_id: int) -> tuple[str, str]:
    """The participant's own account: where living money goes, else their own IBAN."""
    if plan.living_money is not None:
        return plan.living_money.payee_name, plan.living_money.payee_iban
    participant = session.get(Participant, participant_id)
    if participant is None or not participant.own_iban:
        raise InvalidInput(
            "this participant has no own account (IBAN) to pay an extra payout to; "
            "add it under Mijn gegevens first"
        )
    return participant.display_name[:70], participant.own_iban


def open_items_now(session: Session, participant_id: int, today: dt.date) -> OpenItems:
    """The engine's open items as the daily cycle folds them (all entries, no cache)."""
    from backend.cycle import loading  # the cycle package imports plans: import late

    found = loading.entries_after(
        session, incremental_ids=[], rebuild_ids=[participant_id], accounts=loading.AccountCache()
    )[participant_id]
    builder = OpenItemsBuilder()
    for key in loading.rules_alert_keys(session, [participant_id]).get(participant_id, ()):
        builder.add_alert(key)
    for entry in found.entries:
        builder.add_entry(entry)
    return builder.build(today)


def check_extra_payout(
    session: Session, participant_id: int, change: ExtraPayoutChange, today: dt.date
) -> None:
    """Refuse (InvalidInput, nothing stored) a payout that cannot be paid now without
    leaving a fixed cost before the next income short; the message names the shortfall."""
    stored = current_plan(session, participant_id, today)
    if stored is None:
        raise InvalidInput("this participant has no plan in force; an extra payout needs one")
    _payee(session, stored.plan, participant_id)
    base = latest_plan(session, participant_id)
    if base is not None:
        _room_for_payout(base.plan, paid_payout_ids(session, participant_id, today), today)
    balances = Balances.from_ledger(
        participant_id, account_balances(session, participant_id=participant_id)
    )
    try:
        short = one_off_payout_shortfall(
            stored.plan,
            balances,
            open_items_now(session, participant_id, today),
            today,
            change.amount_cents,
        )
    except RulesError as error:
        raise InvalidInput(f"the extra payout cannot be checked: {error}") from error
    if short > 0:
        amount = Money(change.amount_cents).format_nl()
        room = Money(max(0, change.amount_cents - short)).format_nl()
        raise InvalidInput(
            f"an extra payout of {amount} would leave the fixed costs due before the next "
            f"income {Money(short).format_nl()} short; at most {room} can be paid out now",
            short_cents=short,
            room_cents=max(0, change.amount_cents - short),
        )


def paid_payout_ids(session: Session, participant_id: int, today: dt.date) -> frozenset[str]:
    """The one-off payouts the engine has paid (within its lookback)."""
    items = open_items_now(session, participant_id, today)
    return frozenset(item.payout_id for item in items.one_off_paid)


def _kept_payouts(
    base: Plan, paid: frozenset[str], today: dt.date, *, replacing: str | None = None
) -> list[OneOffPayout]:
    """The payouts a new plan version must keep: all but the paid ones and the unpaid
    ones the engine gave up on (older than KEEP_DAYS). Never an unpaid one in reach."""
    oldest = today - dt.timedelta(days=KEEP_DAYS)
    return [
        item
        for item in base.one_off_payouts
        if item.payout_id not in paid and item.pay_on >= oldest and item.payout_id != replacing
    ]


def _room_for_payout(
    base: Plan, paid: frozenset[str], today: dt.date, *, replacing: str | None = None
) -> list[OneOffPayout]:
    kept = _kept_payouts(base, paid, today, replacing=replacing)
    if len(kept) >= ONE_OFF_PAYOUTS_MAX:
        raise InvalidInput(
            f"this participant already has {len(kept)} extra payouts waiting to be paid "
            f"(at most {ONE_OFF_PAYOUTS_MAX}); wait until the daily cycle has paid them",
            payouts_waiting=len(kept),
        )
    return kept


def plan_with_payout(
    base: Plan, payout: OneOffPayout, today: dt.date, paid: frozenset[str] = frozenset()
) -> Plan:
    """`base` with `payout` added. Only paid payouts and unpaid ones past KEEP_DAYS are
    left out; when the list would still be too long the payout is refused (InvalidInput),
    never an unpaid one silently dropped."""
    kept = [*_room_for_payout(base, paid, today, replacing=payout.payout_id), payout]
    return Plan.model_validate(
        {**base.model_dump(), "one_off_payouts": [item.model_dump() for item in kept]}
    )


def apply_extra_payout(session: Session, proposal: Proposal, *, now: dt.datetime) -> str:
    """Co-decision applier for `extra_payout`: a plan version with the one-off payout.
    Idempotent per proposal (apply_plan_change's source)."""
    from backend.plans.appliers import proposal_source

    change = parse_change(proposal.kind, dict(proposal.payload))
    assert isinstance(change, ExtraPayoutChange)
    base: StoredPlan | None = latest_plan(session, proposal.participant_id)
    if base is None:
        raise InvalidInput("this participant has no plan; an extra payout needs one")
    name, iban = _payee(session, base.plan, proposal.participant_id)
    pay_on = max(change.pay_on or proposal.effective_from, proposal.effective_from)
    payout = OneOffPayout(
        payout_id=payout_id(proposal.id, change.emergency_request_id),
        amount_cents=change.amount_cents,
        pay_on=pay_on,
        reason=(proposal.reason or "Extra uitbetaling").strip()[:ONE_OFF_REASON_LENGTH_MAX],
        payee_name=name,
        payee_iban=iban,
    )
    stored = apply_plan_change(
        session,
        proposal.participant_id,
        plan_with_payout(
            base.plan,
            payout,
            now.date(),
            paid_payout_ids(session, proposal.participant_id, now.date()),
        ),
        effective_from=proposal.effective_from,
        created_by=f"proposal:{proposal.id}:user:{proposal.decided_by}",
        source=proposal_source(proposal.id),
    )
    _resolve_emergencies(session, proposal, now)
    return f"plan_version:{stored.participant_id}:{stored.version}"


def _resolve_emergencies(session: Session, proposal: Proposal, now: dt.datetime) -> None:
    """The caseworker helped: the participant's open emergency requests (pressed before
    the decision) are handled, by the caseworker who took part in the decision."""
    caseworker = proposal.proposed_by if proposal.proposer_party == "caseworker" else None
    caseworker = caseworker if caseworker is not None else proposal.decided_by
    decided_at = proposal.decided_at or now
    session.execute(
        update(EmergencyRequest)
        .where(
            EmergencyRequest.participant_id == proposal.participant_id,
            EmergencyRequest.acknowledged_at.is_(None),
            EmergencyRequest.created_at <= decided_at,
        )
        .values(acknowledged_by=caseworker, acknowledged_at=now)
        .execution_options(synchronize_session=False)
    )


def granted_payouts(session: Session, participant_id: int) -> list[Proposal]:
    """The participant's decided extra payouts, newest first (for pages and tests)."""
    return list(
        session.scalars(
            select(Proposal)
            .where(
                Proposal.participant_id == participant_id,
                Proposal.kind == "extra_payout",
                Proposal.status.in_(("approved", "emergency_applied")),
            )
            .order_by(Proposal.id.desc())
        )
    )
