"""Onboarding (Aanmelden): a caseworker signs up a new participant in one transaction.

    submit_onboarding(session, cipher, caseworker, onboarding, today=..., now=...)

creates, together or not at all:
- the household and the participant (BSN checked with the 11-proef, stored
  encrypted with its blind index, as backend.participants does), on the
  caseworker's caseload;
- the counterparties: a creditor or payer whose IBAN is already known is reused
  (with its existing name), so one creditor serves many participants;
- a participant login account with a random, never shown password and a
  one-time activation code (only its argon2 hash is stored): the participant
  chooses their own password with it on first use (`activate_account`);
- a co-decision proposal of kind `initial_plan` holding the whole first plan.

Nothing runs in the rules engine until the participant approves that proposal:
the engine only sees participants with a plan version, and the version is made
by the applier here (`apply_initial_plan`), which also books the buffer advance.

Every check runs before the first write; the caller commits. A refused
onboarding raises InvalidStep ({field: error type}) and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.access.policy import Party, Principal, ensure_can_act_for_participant
from backend.access.roles import Role
from backend.access.users import assign_caseload, create_user, find_user
from backend.auth.passwords import check_new_password, hash_password, verify_password
from backend.codecision import service as proposals
from backend.codecision.applying import register_applier
from backend.codecision.changes import InitialPlanChange, parse_change
from backend.codecision.matrix import ChangeKind
from backend.ending.guard import ensure_participation_open
from backend.errors import AppError, Conflict, InvalidInput
from backend.ledger_store import post_entries
from backend.models import (
    AccountActivation,
    Counterparty,
    MunicipalBankAccount,
    OnboardingDraft,
    Participant,
    Proposal,
    UserAccount,
)
from backend.onboarding.steps import (
    BankStep,
    FixedCostItem,
    InvalidStep,
    Onboarding,
    PersonStep,
)
from backend.participants.service import BSN_CONTEXT, create_household, create_participant
from backend.plans.service import latest_plan, normalised_plan, store_plan_version
from ledger import AccountKind, AccountRef, JournalEntry, Money, Posting
from privacy import FieldCipher
from rules import (
    Category,
    FixedCostAgreement,
    IncomeAgreement,
    LivingMoneyPolicy,
    MonthlySchedule,
    PaymentReference,
    Plan,
    PriorityClass,
    Weekday,
    WeeklySchedule,
    YearlySchedule,
)
from rules.plan import BufferPolicy

DRAFT_CONTEXT = "onboarding.draft"
ACTIVATION_DAYS = 30
ACTIVATION_ATTEMPTS_MAX = 5
# No 0/O, 1/I/L: the code is read aloud or copied from a letter.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_CODE_LENGTH = 12
PROPOSAL_REASON = "Je eerste plan, gemaakt bij je aanmelding. Klopt het? Keur het dan goed."

_PRIORITY = {
    Category.RENT: PriorityClass.RENT_OR_MORTGAGE,
    Category.MORTGAGE: PriorityClass.RENT_OR_MORTGAGE,
    Category.ENERGY: PriorityClass.ENERGY_WATER_HEATING,
    Category.WATER: PriorityClass.ENERGY_WATER_HEATING,
    Category.DISTRICT_HEATING: PriorityClass.ENERGY_WATER_HEATING,
    Category.HEALTH_INSURANCE: PriorityClass.HEALTH_INSURANCE,
    Category.MUNICIPAL_TAXES: PriorityClass.MUNICIPAL_AND_WATER_BOARD_TAXES,
    Category.WATER_BOARD_TAXES: PriorityClass.MUNICIPAL_AND_WATER_BOARD_TAXES,
    Category.REPAYMENT_ARRANGEMENT: PriorityClass.REPAYMENT_ARRANGEMENT,
}


# ------------------------------------------------- checks that need the database


def check_person(session: Session, cipher: FieldCipher, person: PersonStep) -> None:
    """The BSN is not already a participant; the username is free. The error never
    says whose BSN it is."""
    errors: dict[str, str] = {}
    index = cipher.blind_index(person.bsn, context=BSN_CONTEXT)
    if session.scalar(select(Participant.id).where(Participant.bsn_index == index)) is not None:
        errors["bsn"] = "bsn_taken"
    if find_user(session, person.username) is not None:
        errors["username"] = "username_taken"
    if errors:
        raise InvalidStep(errors)


def check_bank(session: Session, bank: BankStep) -> None:
    """Living money never goes to one of the municipality's own accounts."""
    own = session.scalar(
        select(MunicipalBankAccount.id).where(MunicipalBankAccount.iban == bank.own_iban)
    )
    if own is not None:
        raise InvalidStep({"own_iban": "iban_municipal"})


def known_counterparty_names(session: Session, ibans: list[str]) -> dict[str, str]:
    """IBAN -> the name we already know it by (creditors and payers are shared)."""
    if not ibans:
        return {}
    return {
        str(iban): str(name)
        for iban, name in session.execute(
            select(Counterparty.iban, Counterparty.name).where(Counterparty.iban.in_(ibans))
        )
    }


# ---------------------------------------------------------------------- the plan


def _cost(
    index: int, item: FixedCostItem, start: dt.date, known: dict[str, str]
) -> FixedCostAgreement:
    schedule: MonthlySchedule | YearlySchedule
    if item.frequency == "yearly" and item.month is not None:
        schedule = YearlySchedule(
            month=item.month, day_of_month=item.day_of_month, start_date=start
        )
    else:
        schedule = MonthlySchedule(day_of_month=item.day_of_month, start_date=start)
    reference = (
        PaymentReference(kind="structured", text=item.reference.replace(" ", ""))
        if item.structured_reference
        else PaymentReference(kind="free_text", text=item.reference)
    )
    return FixedCostAgreement(
        agreement_id=f"vaste-last-{index}",
        creditor_name=known.get(item.creditor_iban, item.creditor_name)[:70],
        creditor_iban=item.creditor_iban,
        amount_cents=item.amount_cents,
        schedule=schedule,
        reference=reference,
        priority_class=_PRIORITY.get(item.category, PriorityClass.OTHER),
        category=item.category,
        description_nl=item.description,
    )


def build_plan(
    onboarding: Onboarding, *, participant_id: int, known: dict[str, str] | None = None
) -> Plan:
    """The first plan (version 1) from the steps; InvalidStep when it cannot work:
    a plan the rules refuse, or costs and buffer that leave no living money."""
    names = known or {}
    start = onboarding.buffer.start_date
    incomes = tuple(
        IncomeAgreement(
            agreement_id=f"inkomen-{index}",
            payer_name=item.payer_name,
            payer_iban=item.payer_iban,
            search_terms=item.terms,
            expected_amount_cents=item.amount_cents,
            tolerance_cents=item.tolerance,
            schedule=MonthlySchedule(day_of_month=item.day_of_month, start_date=start),
            window_days_before=2,
            window_days_after=5,
            kind=item.kind,
            description_nl=item.description,
        )
        for index, item in enumerate(onboarding.incomes, start=1)
    )
    living = onboarding.living_money
    schedule: MonthlySchedule | WeeklySchedule
    if living.frequency == "monthly" and living.day_of_month is not None:
        schedule = MonthlySchedule(day_of_month=living.day_of_month, start_date=start)
    else:
        schedule = WeeklySchedule(weekday=Weekday(living.weekday or 0), start_date=start)
    advance = onboarding.buffer.advance_cents or 0
    try:
        plan = Plan(
            participant_id=participant_id,
            version=1,
            effective_from=start,
            incomes=incomes,
            fixed_costs=tuple(
                _cost(index, item, start, names)
                for index, item in enumerate(onboarding.fixed_costs, start=1)
            ),
            buffer=BufferPolicy(
                monthly_build_up_cents=onboarding.buffer.build_up_cents,
                advance_cents=advance,
                monthly_advance_repayment_cents=(onboarding.buffer.repayment_cents or 0)
                if advance
                else 0,
            ),
            living_money=LivingMoneyPolicy(
                schedule=schedule,
                payee_name=onboarding.bank.account_holder,
                payee_iban=onboarding.bank.own_iban,
                monthly_amount_cap_cents=living.cap_cents,
            ),
        )
        plan = normalised_plan(plan)  # the bank's rules: SEPA names, betalingskenmerk
    except (ValidationError, InvalidInput):
        raise InvalidStep({"plan": "plan_invalid"}) from None
    if plan.living_money_monthly_cents <= 0:
        raise InvalidStep({"plan": "plan_no_living_money"})
    return plan


@dataclass(frozen=True)
class Preview:
    """What the summary step shows: the month in figures."""

    plan: Plan
    known_creditors: dict[str, str]

    @property
    def monthly_income_cents(self) -> int:
        return self.plan.monthly_income_cents

    @property
    def monthly_fixed_costs_cents(self) -> int:
        return self.plan.monthly_fixed_costs_cents

    @property
    def buffer_target_cents(self) -> int:
        return self.plan.buffer_target_cents

    @property
    def living_money_monthly_cents(self) -> int:
        return self.plan.living_money_monthly_cents

    @property
    def living_money_weekly_cents(self) -> int:
        return self.plan.living_money_weekly_cents


def preview(session: Session, onboarding: Onboarding) -> Preview:
    ibans = [item.creditor_iban for item in onboarding.fixed_costs]
    known = known_counterparty_names(session, ibans)
    return Preview(build_plan(onboarding, participant_id=1, known=known), known)


# ---------------------------------------------------------------------- submitting


@dataclass(frozen=True)
class OnboardingResult:
    participant_id: int
    household_id: int
    user_id: int
    username: str
    proposal_id: int
    # Shown once to the caseworker, to hand to the participant; never stored in clear.
    activation_code: str
    activation_expires_at: dt.datetime
    reused_counterparties: tuple[str, ...] = field(default=())


def submit_onboarding(
    session: Session,
    cipher: FieldCipher,
    caseworker: Principal,
    onboarding: Onboarding,
    *,
    today: dt.date,
    now: dt.datetime,
    proposal_expiry_days: int = 14,
) -> OnboardingResult:
    """Create everything in the caller's transaction; InvalidStep before any write."""
    if Role.CASEWORKER not in caseworker.roles:
        raise InvalidInput("only a caseworker onboards a participant")
    check_person(session, cipher, onboarding.person)
    check_bank(session, onboarding.bank)
    onboarding.buffer.check_start(today)
    ibans = sorted(
        {item.creditor_iban for item in onboarding.fixed_costs}
        | {item.payer_iban for item in onboarding.incomes}
    )
    known = known_counterparty_names(session, ibans)
    build_plan(onboarding, participant_id=1, known=known)  # refuse before writing
    account = session.get(UserAccount, caseworker.user_id)
    if account is None:  # pragma: no cover - the principal came from this account
        raise InvalidInput("the caseworker account does not exist")

    household = create_household(
        session,
        name=onboarding.household.household_name,
        adults=onboarding.household.adults,
        children=onboarding.household.children,
    )
    participant = create_participant(
        session,
        cipher,
        household_id=household.id,
        display_name=onboarding.person.display_name,
        bsn=onboarding.person.bsn,
        own_iban=onboarding.bank.own_iban,
        started_on=onboarding.buffer.start_date,
    )
    assign_caseload(
        session,
        caseworker=account,
        participant_id=participant.id,
        assigned_by=f"onboarding:{caseworker.username}",
    )
    _counterparties(session, onboarding, known)
    plan = build_plan(onboarding, participant_id=participant.id, known=known)
    user = create_user(
        session,
        username=onboarding.person.username,
        display_name=onboarding.person.display_name,
        roles=[Role.PARTICIPANT],
        # Nobody knows this password: the participant sets their own with the code.
        password_hash=hash_password(secrets.token_urlsafe(32)),
        participant_id=participant.id,
    )
    code, expires_at = create_activation(
        session, user_id=user.id, created_by=caseworker.user_id, now=now
    )
    proposal = proposals.create_proposal(
        session,
        caseworker,
        participant.id,
        change=InitialPlanChange(plan=plan),
        reason=PROPOSAL_REASON,
        effective_from=plan.effective_from,
        emergency=False,
        today=today,
        now=now,
        expiry_days=max(proposal_expiry_days, ACTIVATION_DAYS),
    )
    discard_draft(session, caseworker.user_id)
    return OnboardingResult(
        participant_id=participant.id,
        household_id=household.id,
        user_id=user.id,
        username=user.username,
        proposal_id=proposal.id,
        activation_code=code,
        activation_expires_at=expires_at,
        reused_counterparties=tuple(sorted(set(known.values()))),
    )


def _counterparties(session: Session, onboarding: Onboarding, known: dict[str, str]) -> None:
    """New creditors and payers; a known IBAN keeps its counterparty (and its name)."""
    wanted: dict[str, tuple[str, str]] = {}
    for item in onboarding.fixed_costs:
        wanted.setdefault(item.creditor_iban, (item.creditor_name[:70], str(item.category)))
    for income in onboarding.incomes:
        wanted.setdefault(income.payer_iban, (income.payer_name[:70], str(income.kind)))
    for iban, (name, category) in sorted(wanted.items()):
        if iban not in known:
            session.add(Counterparty(name=name, iban=iban, category=category))
    session.flush()


# ---------------------------------------------------------------------- activation


def _new_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))
    return "-".join(raw[start : start + 4] for start in range(0, _CODE_LENGTH, 4))


def _normal_code(code: str) -> str:
    return "".join(code.upper().split()).replace("-", "")


def create_activation(
    session: Session, *, user_id: int, created_by: int, now: dt.datetime
) -> tuple[str, dt.datetime]:
    """A new one-time code for the account (replacing an unused one); (code, expiry)."""
    code = _new_code()
    expires_at = now + dt.timedelta(days=ACTIVATION_DAYS)
    existing = session.scalar(select(AccountActivation).where(AccountActivation.user_id == user_id))
    if existing is None:
        session.add(
            AccountActivation(
                user_id=user_id,
                code_hash=hash_password(_normal_code(code)),
                expires_at=expires_at,
                failed_attempts=0,
                created_by=created_by,
                created_at=now,
            )
        )
    else:
        existing.code_hash = hash_password(_normal_code(code))
        existing.expires_at = expires_at
        existing.used_at = None
        existing.failed_attempts = 0
        existing.created_by = created_by
    session.flush()
    return code, expires_at


class ActivationFailed(AppError):
    """Unknown name, wrong, used, expired or spent code: one answer for all of them."""

    status_code = 400
    title = "Activation failed"
    slug = "activation-failed"


def activate_account(
    session: Session, *, username: str, code: str, new_password: str, now: dt.datetime
) -> UserAccount:
    """Check the one-time code and set the participant's own password. A wrong code
    counts (flushed before the error; the page commits it); after
    ACTIVATION_ATTEMPTS_MAX wrong codes the code is spent."""
    check_new_password(new_password)
    account = find_user(session, username) if username.strip() else None
    activation = (
        None
        if account is None
        else session.scalar(
            select(AccountActivation).where(AccountActivation.user_id == account.id)
        )
    )
    usable = (
        activation is not None
        and activation.used_at is None
        and activation.failed_attempts < ACTIVATION_ATTEMPTS_MAX
        and _aware(activation.expires_at) > now
    )
    if not usable or activation is None or account is None:
        verify_password(None, code)  # the same time as a real check
        raise ActivationFailed("the activation code is not right, or no longer valid")
    if not verify_password(activation.code_hash, _normal_code(code)):
        # Counted in the database (two wrong guesses at once: the count is 2), not
        # read-add-write in Python, where concurrent guesses would write the same value.
        session.execute(
            update(AccountActivation)
            .where(AccountActivation.id == activation.id)
            .values(failed_attempts=AccountActivation.failed_attempts + 1)
            .returning(AccountActivation.failed_attempts)
        ).scalar_one()
        session.flush()
        raise ActivationFailed("the activation code is not right, or no longer valid")
    # Claimed atomically: only while still unused and not spent by concurrent wrong
    # guesses, so the code works once and not after the limit.
    claimed = session.execute(
        update(AccountActivation)
        .where(
            AccountActivation.id == activation.id,
            AccountActivation.used_at.is_(None),
            AccountActivation.failed_attempts < ACTIVATION_ATTEMPTS_MAX,
        )
        .values(used_at=now)
        .returning(AccountActivation.id)
    ).scalar_one_or_none()
    if claimed is None:
        raise ActivationFailed("the activation code is not right, or no longer valid")
    account.password_hash = hash_password(new_password)
    account.failed_login_count = 0
    account.locked_until = None
    session.flush()
    return account


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


# ---------------------------------------------------------------------- drafts


def load_draft(session: Session, cipher: FieldCipher, caseworker_id: int) -> dict[str, Any]:
    """The caseworker's unfinished onboarding (raw form values per step), or {}."""
    draft = session.scalar(
        select(OnboardingDraft).where(OnboardingDraft.caseworker_id == caseworker_id)
    )
    if draft is None:
        return {}
    data: dict[str, Any] = json.loads(
        cipher.decrypt(draft.data_encrypted, context=f"{DRAFT_CONTEXT}:{caseworker_id}")
    )
    return data


def save_draft(
    session: Session,
    cipher: FieldCipher,
    caseworker_id: int,
    data: dict[str, Any],
    *,
    now: dt.datetime,
) -> None:
    """Store the draft encrypted (it holds a BSN), bound to this caseworker."""
    sealed = cipher.encrypt(
        json.dumps(data, ensure_ascii=False), context=f"{DRAFT_CONTEXT}:{caseworker_id}"
    )
    draft = session.scalar(
        select(OnboardingDraft).where(OnboardingDraft.caseworker_id == caseworker_id)
    )
    if draft is None:
        session.add(
            OnboardingDraft(
                caseworker_id=caseworker_id, data_encrypted=sealed, created_at=now, updated_at=now
            )
        )
    else:
        draft.data_encrypted = sealed
        draft.updated_at = now
    session.flush()


def discard_draft(session: Session, caseworker_id: int) -> None:
    draft = session.scalar(
        select(OnboardingDraft).where(OnboardingDraft.caseworker_id == caseworker_id)
    )
    if draft is not None:
        session.delete(draft)
        session.flush()


# ---------------------------------------------------------------------- approval


def advance_entry(plan: Plan) -> JournalEntry:
    """The municipality's buffer advance: owed by the participant, held in the buffer."""
    cents = plan.buffer.advance_cents
    amount = Money(cents).format_nl()
    pid = plan.participant_id
    return JournalEntry(
        idempotency_key=f"onboarding:{pid}:buffer-advance",
        booking_date=plan.effective_from,
        reason_code="buffer.advance",
        explanation=f"De gemeente schiet {amount} voor om je buffer te starten.",
        explanation_en=f"The municipality advances {amount} to start your buffer.",
        postings=(
            Posting(AccountRef.of_participant(pid, AccountKind.BUFFER_ADVANCE), cents),
            Posting(AccountRef.of_participant(pid, AccountKind.BUFFER), -cents),
        ),
    )


def apply_initial_plan(session: Session, proposal: Proposal, *, now: dt.datetime) -> str:
    """The applier for `initial_plan`: plan version 1 from the (approved) effective
    date, and the buffer advance. Idempotent per proposal (source and entry key)."""
    change = parse_change(proposal.kind, dict(proposal.payload))
    if not isinstance(change, InitialPlanChange):  # pragma: no cover - registered per kind
        raise InvalidInput(f"proposal {proposal.id} is not a first plan")
    body = change.plan.model_dump()
    body.update(version=1, effective_from=proposal.effective_from)
    plan = Plan.model_validate(body)
    if plan.participant_id != proposal.participant_id:
        raise InvalidInput(f"proposal {proposal.id}: the plan is for another participant")
    stored = store_plan_version(
        session,
        plan,
        created_by=f"proposal:{proposal.id}:user:{proposal.decided_by}",
        source=f"proposal:{proposal.id}",
    )
    if plan.buffer.advance_cents:
        post_entries(session, [advance_entry(stored.plan)], created_by=f"proposal:{proposal.id}")
    return f"plan_version:{stored.participant_id}:{stored.version}"


def register_onboarding_applier() -> None:
    register_applier(ChangeKind.INITIAL_PLAN, apply_initial_plan)


# ---------------------------------------------------------------------- loose ends


@dataclass(frozen=True)
class NewActivation:
    username: str
    # Shown once to the caseworker; never stored in clear.
    code: str
    expires_at: dt.datetime


def _participant_account(session: Session, participant_id: int) -> UserAccount:
    account = session.scalar(
        select(UserAccount).where(UserAccount.participant_id == participant_id)
    )
    if account is None or str(Role.PARTICIPANT) not in (account.roles or []):
        raise Conflict(f"participant {participant_id} has no participant account")
    return account


def activation_pending(session: Session, participant_id: int) -> bool:
    """The participant's account was made by onboarding and is not activated yet."""
    return bool(
        session.scalar(
            select(AccountActivation.id)
            .join(UserAccount, UserAccount.id == AccountActivation.user_id)
            .where(
                UserAccount.participant_id == participant_id,
                AccountActivation.used_at.is_(None),
            )
        )
    )


def issue_activation_code(
    session: Session, caseworker: Principal, participant_id: int, *, now: dt.datetime
) -> NewActivation:
    """A new one-time code for a participant who has not activated yet (the caseworker
    button; the CLI's `users activation-code` uses the same `create_activation`). The
    old code stops working. Refused once activated: they have their own password."""
    ensure_can_act_for_participant(
        session, caseworker, participant_id, parties=frozenset({Party.CASEWORKER})
    )
    ensure_participation_open(session, participant_id)
    account = _participant_account(session, participant_id)
    activation = session.scalar(
        select(AccountActivation).where(AccountActivation.user_id == account.id)
    )
    if activation is None or activation.used_at is not None:
        raise Conflict(
            f"the account of participant {participant_id} is already activated; the "
            "participant logs in with their own password",
            code="already_activated",
        )
    code, expires_at = create_activation(
        session, user_id=account.id, created_by=caseworker.user_id, now=now
    )
    return NewActivation(account.username, code, expires_at)


REPROPOSE_STATUSES = ("expired", "rejected")


def earlier_initial_plan(session: Session, participant_id: int) -> Proposal | None:
    """The latest first-plan proposal, when it expired or was rejected and the
    participant still has no plan (so a new proposal can be made); else None."""
    if latest_plan(session, participant_id) is not None:
        return None
    latest = session.scalar(
        select(Proposal)
        .where(
            Proposal.participant_id == participant_id,
            Proposal.kind == str(ChangeKind.INITIAL_PLAN),
        )
        .order_by(Proposal.id.desc())
        .limit(1)
    )
    if latest is None or latest.status not in REPROPOSE_STATUSES:
        return None
    return latest


def repropose_initial_plan(
    session: Session,
    caseworker: Principal,
    participant_id: int,
    *,
    reason: str,
    start: dt.date | None,
    today: dt.date,
    now: dt.datetime,
    proposal_expiry_days: int = 14,
) -> Proposal:
    """ "Nieuw voorstel": the first plan of the expired or rejected proposal, proposed
    again (from `start`, default the earlier start or today if that has passed). The
    content is the same; after approval the plan changes as any plan does."""
    ensure_can_act_for_participant(
        session, caseworker, participant_id, parties=frozenset({Party.CASEWORKER})
    )
    proposals.expire_due(session, now=now, participant_id=participant_id)
    earlier = earlier_initial_plan(session, participant_id)
    if earlier is None:
        raise Conflict(
            f"participant {participant_id} has no expired or rejected first plan to propose "
            "again (a plan exists, or the proposal is still open)",
            code="no_initial_plan_to_repropose",
        )
    change = parse_change(earlier.kind, dict(earlier.payload))
    if not isinstance(change, InitialPlanChange):  # pragma: no cover - kind checked above
        raise InvalidInput(f"proposal {earlier.id} is not a first plan")
    effective = start or max(earlier.effective_from, today)
    plan = Plan.model_validate({**change.plan.model_dump(), "effective_from": effective})
    return proposals.create_proposal(
        session,
        caseworker,
        participant_id,
        change=InitialPlanChange(plan=plan),
        reason=reason,
        effective_from=effective,
        emergency=False,
        today=today,
        now=now,
        expiry_days=max(proposal_expiry_days, ACTIVATION_DAYS),
    )
