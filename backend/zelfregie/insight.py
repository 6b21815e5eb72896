"""Insight (issue 12): "Waar ging mijn leefgeld heen?"

The participant notes what they spent their living money on (day, amount, a
category, an optional short text) and sees per month: the living money they
received (from the ledger), what they noted per category, what is not noted, and
next to it the reference budget for their household type (rules.insight).

Privacy by design: these notes are the participant's own. Only the participant
reads and changes them. Their caseworker may *read* them only while the
participant shares them (a setting, default off); a household member or anyone
else gets 404, as if there were nothing. Nothing here moves money or touches the
ledger except reading the month's living-money payouts.

Services only flush: the caller commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.access.policy import (
    PARTICIPANT_NOT_FOUND,
    Party,
    Principal,
    ensure_can_read_participant,
    party_for,
)
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.models import (
    Household,
    InsightSetting,
    JournalEntryRecord,
    LedgerAccount,
    Participant,
    PostingRecord,
    SpendingCategory,
    SpendingNote,
)
from backend.models.insight import CATEGORY_NAME_LENGTH_MAX, NOTE_TEXT_LENGTH_MAX
from ledger import AMOUNT_CENTS_MAX, AccountKind, AccountRef, holding_cents
from rules.insight import (
    HOUSEHOLD_NOT_SAID,
    HouseholdType,
    MonthInsight,
    ReferenceBudgets,
    Spent,
    compare_month,
    household_type_for,
    next_month,
)

LIVING_MONEY_REASONS = ("living_money.pay", "living_money.pay.reversal")
OWN_PREFIX = "own:"  # category key of a participant's own category: "own:<id>"
OWN_CATEGORIES_MAX = 20
NOTES_PER_MONTH_MAX = 500
# How far back a note may go: insight is about recent months, not an archive.
NOTE_DAYS_BACK_MAX = 400


@dataclass(frozen=True, slots=True)
class InsightAccess:
    participant: Participant
    party: Party
    can_change: bool  # the participant themself; the caseworker only reads


def ensure_insight_access(
    session: Session, principal: Principal, participant_id: int, *, change: bool = False
) -> InsightAccess:
    """The participant: read and change. Their caseworker: read, and only while shared
    (403 otherwise). Anyone else, a household member too: 404."""
    party = party_for(session, principal, participant_id)
    if party is None:
        raise NotFound(PARTICIPANT_NOT_FOUND.format(participant_id=participant_id))
    participant = ensure_can_read_participant(session, principal, participant_id)
    if party is Party.PARTICIPANT:
        return InsightAccess(participant, party, can_change=True)
    if change:
        raise Forbidden("only the participant can change their own spending notes")
    if not shared_with_caseworker(session, participant_id):
        raise Forbidden("the participant has not shared their spending notes")
    return InsightAccess(participant, party, can_change=False)


# ---------------------------------------------------------------------- settings


def setting(session: Session, participant_id: int) -> InsightSetting | None:
    return session.get(InsightSetting, participant_id)


def shared_with_caseworker(session: Session, participant_id: int) -> bool:
    found = setting(session, participant_id)
    return bool(found and found.share_with_caseworker)


def household_type(session: Session, participant_id: int) -> HouseholdType | None:
    return household_type_and_source(session, participant_id)[0]


def household_type_and_source(
    session: Session, participant_id: int
) -> tuple[HouseholdType | None, bool]:
    """(type, is_default): the participant's own choice ("rather not say" included);
    when they never chose, the default from the household composition noted at
    onboarding (backend.models.Household adults/children)."""
    found = setting(session, participant_id)
    if found is not None and found.household_type is not None:
        try:
            return HouseholdType(found.household_type), False
        except ValueError:  # HOUSEHOLD_NOT_SAID: they chose not to say
            return None, False
    household = session.scalar(
        select(Household)
        .join(Participant, Participant.household_id == Household.id)
        .where(Participant.id == participant_id)
    )
    if household is None:
        return None, False
    kind = household_type_for(household.adults, household.children)
    return kind, kind is not None


def _setting_for_change(session: Session, participant_id: int) -> InsightSetting:
    found = setting(session, participant_id)
    if found is None:
        found = InsightSetting(participant_id=participant_id, share_with_caseworker=False)
        session.add(found)
    return found


def set_household_type(
    session: Session, principal: Principal, participant_id: int, kind: HouseholdType | None
) -> None:
    ensure_insight_access(session, principal, participant_id, change=True)
    # "Rather not say" is stored too, so the onboarding default does not come back.
    _setting_for_change(session, participant_id).household_type = (
        kind.value if kind else HOUSEHOLD_NOT_SAID
    )
    session.flush()


def set_sharing(session: Session, principal: Principal, participant_id: int, share: bool) -> None:
    ensure_insight_access(session, principal, participant_id, change=True)
    _setting_for_change(session, participant_id).share_with_caseworker = share
    session.flush()


# ---------------------------------------------------------------------- own categories


def own_categories(session: Session, participant_id: int) -> list[SpendingCategory]:
    return list(
        session.scalars(
            select(SpendingCategory)
            .where(SpendingCategory.participant_id == participant_id)
            .order_by(SpendingCategory.id)
        )
    )


def add_category(
    session: Session, principal: Principal, participant_id: int, name: str
) -> SpendingCategory:
    ensure_insight_access(session, principal, participant_id, change=True)
    name = " ".join(name.split())
    if not 1 <= len(name) <= CATEGORY_NAME_LENGTH_MAX:
        raise InvalidInput(f"a category needs a name of 1 to {CATEGORY_NAME_LENGTH_MAX} characters")
    existing = own_categories(session, participant_id)
    if any(item.name.casefold() == name.casefold() for item in existing):
        raise Conflict("you already have a category with this name")
    if len(existing) >= OWN_CATEGORIES_MAX:
        raise Conflict(f"at most {OWN_CATEGORIES_MAX} own categories")
    category = SpendingCategory(participant_id=participant_id, name=name)
    session.add(category)
    session.flush()
    return category


def _own_category(session: Session, participant_id: int, category_id: int) -> SpendingCategory:
    category = session.get(SpendingCategory, category_id)
    if category is None or category.participant_id != participant_id:
        raise NotFound(f"category {category_id} not found")
    return category


def remove_category(
    session: Session, principal: Principal, participant_id: int, category_id: int
) -> None:
    """Remove an own category; refused while notes use it (move or remove those first)."""
    ensure_insight_access(session, principal, participant_id, change=True)
    category = _own_category(session, participant_id, category_id)
    used = session.scalar(select(func.count()).where(SpendingNote.own_category_id == category.id))
    if used:
        raise Conflict(f"{used} note(s) use this category")
    session.delete(category)
    session.flush()


# ---------------------------------------------------------------------- notes


def category_key(note: SpendingNote) -> str:
    if note.own_category_id is not None:
        return f"{OWN_PREFIX}{note.own_category_id}"
    return note.category or ""


def _resolve_category(
    session: Session, participant_id: int, key: str, budgets: ReferenceBudgets
) -> tuple[str | None, int | None]:
    if key.startswith(OWN_PREFIX):
        number = key.removeprefix(OWN_PREFIX)
        if number.isdigit() and 0 < int(number) < 2**63:
            return None, _own_category(session, participant_id, int(number)).id
        raise InvalidInput("choose a category")
    if key in budgets.category_codes():
        return key, None
    raise InvalidInput("choose a category")


def save_note(
    session: Session,
    principal: Principal,
    participant_id: int,
    *,
    note_id: int | None,
    spent_on: dt.date,
    amount_cents: int,
    category: str,
    text: str,
    today: dt.date,
    budgets: ReferenceBudgets,
) -> SpendingNote:
    """Make a note (note_id None) or change one of the participant's own notes."""
    ensure_insight_access(session, principal, participant_id, change=True)
    if not 0 < amount_cents <= AMOUNT_CENTS_MAX:
        raise InvalidInput("the amount must be above zero")
    if spent_on > today or (today - spent_on).days > NOTE_DAYS_BACK_MAX:
        raise InvalidInput(f"the day must be today or up to {NOTE_DAYS_BACK_MAX} days back")
    text = " ".join(text.split())
    if len(text) > NOTE_TEXT_LENGTH_MAX:
        raise InvalidInput(f"the note is longer than {NOTE_TEXT_LENGTH_MAX} characters")
    reference_code, own_id = _resolve_category(session, participant_id, category, budgets)
    if note_id is None:
        first = spent_on.replace(day=1)
        count = session.scalar(
            select(func.count()).where(
                SpendingNote.participant_id == participant_id,
                SpendingNote.spent_on >= first,
                SpendingNote.spent_on < next_month(first),
            )
        )
        if (count or 0) >= NOTES_PER_MONTH_MAX:
            raise Conflict(f"at most {NOTES_PER_MONTH_MAX} notes a month")
        note = SpendingNote(participant_id=participant_id)
        session.add(note)
    else:
        note = own_note(session, participant_id, note_id)
    note.spent_on = spent_on
    note.amount_cents = amount_cents
    note.category = reference_code
    note.own_category_id = own_id
    note.note = text or None
    session.flush()
    return note


def own_note(session: Session, participant_id: int, note_id: int) -> SpendingNote:
    note = session.get(SpendingNote, note_id)
    if note is None or note.participant_id != participant_id:
        raise NotFound(f"note {note_id} not found")
    return note


def delete_note(session: Session, principal: Principal, participant_id: int, note_id: int) -> None:
    ensure_insight_access(session, principal, participant_id, change=True)
    session.delete(own_note(session, participant_id, note_id))
    session.flush()


def notes_in_month(session: Session, participant_id: int, month: dt.date) -> list[SpendingNote]:
    return list(
        session.scalars(
            select(SpendingNote)
            .where(
                SpendingNote.participant_id == participant_id,
                SpendingNote.spent_on >= month,
                SpendingNote.spent_on < next_month(month),
            )
            .order_by(SpendingNote.spent_on.desc(), SpendingNote.id.desc())
        )
    )


# ---------------------------------------------------------------------- the month


def living_money_received(session: Session, participant_id: int, month: dt.date) -> int:
    """Living money paid out to the participant in the month (booking date), from the
    ledger: what living-money payouts took from `available`, net of reversals."""
    ref = AccountRef.of_participant(participant_id, AccountKind.AVAILABLE)
    total = session.scalar(
        select(func.coalesce(func.sum(PostingRecord.amount_cents), 0))
        .join(JournalEntryRecord, JournalEntryRecord.id == PostingRecord.journal_entry_id)
        .join(LedgerAccount, LedgerAccount.id == PostingRecord.account_id)
        .where(
            LedgerAccount.participant_id == participant_id,
            LedgerAccount.kind == AccountKind.AVAILABLE.value,
            JournalEntryRecord.reason_code.in_(LIVING_MONEY_REASONS),
            JournalEntryRecord.booking_date >= month,
            JournalEntryRecord.booking_date < next_month(month),
        )
    )
    return max(0, -holding_cents(ref, int(total or 0)))


@dataclass(frozen=True, slots=True)
class MonthView:
    insight: MonthInsight
    notes: Sequence[SpendingNote]
    labels: dict[str, str]  # category key -> name to show
    household_type: HouseholdType | None
    shared: bool
    categories: Sequence[SpendingCategory]
    # True: not chosen by the participant, taken from the onboarding composition.
    household_type_default: bool = False


def month_view(
    session: Session,
    participant_id: int,
    month: dt.date,
    budgets: ReferenceBudgets,
    lang: str,
    *,
    other_label: str,
) -> MonthView:
    notes = notes_in_month(session, participant_id, month)
    categories = own_categories(session, participant_id)
    kind, kind_is_default = household_type_and_source(session, participant_id)
    insight = compare_month(
        month=month,
        living_money_cents=living_money_received(session, participant_id, month),
        spent=[Spent(category_key(note), note.amount_cents) for note in notes],
        reference_categories=budgets.category_codes(),
        own_categories=[f"{OWN_PREFIX}{item.id}" for item in categories],
        reference=budgets.for_household(kind) if kind else None,
    )
    labels = {code: budgets.label(code, lang) or code for code in budgets.category_codes()}
    labels.update({f"{OWN_PREFIX}{item.id}": item.name for item in categories})
    for row in insight.rows:
        labels.setdefault(row.category, other_label)
    return MonthView(
        insight=insight,
        notes=notes,
        labels=labels,
        household_type=kind,
        shared=shared_with_caseworker(session, participant_id),
        categories=categories,
        household_type_default=kind_is_default,
    )
