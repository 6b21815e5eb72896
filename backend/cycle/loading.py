"""The daily cycle's queries: everything about a chunk of participants in a few grouped
queries, never one query per participant (see PERFORMANCE-NOTES.md).

- `participants_with_plan`: who the cycle evaluates;
- `holdings_and_counts`: balances per participant account (kept in
  `ledger_account_balance`), and how many of the participant's postings belong to
  entries up to the cached state's last entry;
- `states`: the cached open items (`cycle_state`);
- `entries_after`: the journal entries on the participants' accounts after an entry
  id, rebuilt as `ledger.JournalEntry` (only those the open items are made of);
- `rules_alert_keys`: alerts the engine raised before (for a rebuild).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import ColumnElement, and_, any_, bindparam, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from backend.ledger_store.accounts import account_refs_by_id
from backend.models import (
    AccountBalance,
    Alert,
    CycleState,
    JournalEntryRecord,
    LedgerAccount,
    Participant,
    PaymentInstruction,
    PlanVersionRecord,
    PostingRecord,
)
from ledger import AccountKind, AccountRef, JournalEntry, Posting
from rules import (
    REASON_HANDOVER_RETURNED,
    REASON_INCOME_MATCHED,
    REASON_PAYMENT_RETURNED,
    BuildUpBuffer,
    DrawOnBuffer,
    HandOverFixedCost,
    PayFixedCost,
    PayLivingMoney,
    PayOneOffPayout,
    RefillBuffer,
    ReleaseReservation,
    RepayAdvance,
    ReserveFixedCost,
    returned_payment_metadata,
)
from rules.state import (
    META_AGREEMENT_ID,
    META_DUE_DATE,
    META_PAYMENT_RULE,
    META_SOURCE_KIND,
)

_IN_CHUNK = 500
# The reason codes rules.OpenItemsBuilder folds; every other entry is only counted.
OPEN_ITEM_REASONS = frozenset(
    {
        str(action.model_fields["rule_id"].default)
        for action in (
            ReserveFixedCost,
            ReleaseReservation,
            DrawOnBuffer,
            PayFixedCost,
            HandOverFixedCost,
            RefillBuffer,
            BuildUpBuffer,
            RepayAdvance,
            PayLivingMoney,
            PayOneOffPayout,
        )
    }
    | {REASON_INCOME_MATCHED, REASON_PAYMENT_RETURNED, REASON_HANDOVER_RETURNED}
)
RULES_ALERT_PREFIX = "rules:"
PAY_FIXED_COST = str(PayFixedCost.model_fields["rule_id"].default)
# A returned handover (zelfregie step 3) goes back to the reservation like a payment.
HAND_OVER = str(HandOverFixedCost.model_fields["rule_id"].default)
PAY_LIVING_MONEY = str(PayLivingMoney.model_fields["rule_id"].default)
PAY_ONE_OFF = str(PayOneOffPayout.model_fields["rule_id"].default)
# Entries backend.payments books when a payment comes back. They carry
# rules.payment_outcome_metadata (which instruction, which rule paid it, the fixed cost
# and due date, the bank's reason); see `_payment_outcomes`. Entries booked before they
# did are still in databases: for those only, the key's prefix (followed by the
# EndToEndId) finds the instruction.
PAYMENT_OUTCOME_KEY_PREFIXES = {
    "payment.returned": "payments:return:",
    "payment.rejected": "payments:reject:",
}


def _chunks(items: Sequence[int], size: int = _IN_CHUNK) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def member(session: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """`column IN (values)`; on PostgreSQL `column = ANY(array)`: one parameter instead
    of one per value, so neither SQLAlchemy (expanding the list) nor psycopg (converting
    the placeholders of a query too long for its cache) rewrites a 500-value query at
    every execution (docs/performance.md)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(
            ColumnElement[bool],
            column == any_(bindparam(None, list(values), type_=ARRAY(column.type))),
        )
    return cast(ColumnElement[bool], column.in_(values))


def participants_with_plan(session: Session, on: dt.date) -> list[int]:
    """Active participants that have a plan version in force on `on`, by id."""
    return list(
        session.scalars(
            select(Participant.id)
            .where(
                Participant.status == "active",
                select(PlanVersionRecord.id)
                .where(
                    PlanVersionRecord.participant_id == Participant.id,
                    PlanVersionRecord.effective_from <= on,
                )
                .exists(),
            )
            .order_by(Participant.id)
        )
    )


@dataclass
class ParticipantLedger:
    """A participant's raw balances and posting counts, from one grouped query."""

    raw_balances: dict[AccountRef, int] = field(default_factory=dict)
    postings_total: int = 0
    postings_through_state: int = 0


def holdings_and_counts(
    session: Session, participant_ids: Sequence[int]
) -> dict[int, ParticipantLedger]:
    """Per participant with postings: raw balance per account and posting counts.

    Balances and totals come from the kept balances (`ledger_account_balance`, rows
    only for participant accounts with postings); the postings up to the cached state's last
    entry are the total minus those after it, counted by a range scan of the covering
    posting index (account_id, journal_entry_id, ...) past `through_entry_id`. So the
    cost follows the new postings, not the participant's whole history. Without a
    cached state (or one through entry 0) nothing was folded: 0, as `_needs_rebuild`
    expects."""
    found: dict[int, ParticipantLedger] = {}
    for chunk in _chunks(participant_ids):
        for participant_id, kind, total, count in session.execute(
            select(
                LedgerAccount.participant_id,
                LedgerAccount.kind,
                AccountBalance.balance_cents,
                AccountBalance.postings_count,
            )
            .join(AccountBalance, AccountBalance.account_id == LedgerAccount.id)
            .where(member(session, LedgerAccount.participant_id, chunk))
        ):
            if participant_id is None:  # not with the filter above (typing)
                continue
            ledger = found.get(participant_id)
            if ledger is None:
                ledger = found[participant_id] = ParticipantLedger()
            # Up to two rows per account (one per writer, see AccountBalance): added up.
            ref = AccountRef.of_participant(participant_id, AccountKind(kind))
            ledger.raw_balances[ref] = ledger.raw_balances.get(ref, 0) + int(total)
            ledger.postings_total += int(count)
        for participant_id, after in session.execute(
            select(CycleState.participant_id, func.count(PostingRecord.journal_entry_id))
            .join(LedgerAccount, LedgerAccount.participant_id == CycleState.participant_id)
            .outerjoin(
                PostingRecord,
                and_(
                    PostingRecord.account_id == LedgerAccount.id,
                    PostingRecord.journal_entry_id > CycleState.through_entry_id,
                ),
            )
            # Through entry 0 nothing was folded: 0 already, without counting them all.
            .where(
                member(session, CycleState.participant_id, chunk), CycleState.through_entry_id > 0
            )
            .group_by(CycleState.participant_id)
        ):
            ledger = found.get(participant_id)
            if ledger is not None:
                ledger.postings_through_state = ledger.postings_total - int(after)
    return found


@dataclass(frozen=True, slots=True)
class StateRow:
    """One `cycle_state` row (lean: no ORM object per participant)."""

    participant_id: int
    as_of: dt.date
    through_entry_id: int
    postings_folded: int
    open_items: dict[str, Any]


def states(session: Session, participant_ids: Sequence[int]) -> dict[int, StateRow]:
    found: dict[int, StateRow] = {}
    for chunk in _chunks(participant_ids):
        for row in session.execute(
            select(
                CycleState.participant_id,
                CycleState.as_of,
                CycleState.through_entry_id,
                CycleState.postings_folded,
                CycleState.open_items,
            ).where(member(session, CycleState.participant_id, chunk))
        ):
            found[row[0]] = StateRow(row[0], row[1], int(row[2]), int(row[3]), row[4])
    return found


@dataclass
class EntriesAfter:
    """What `entries_after` found for one participant."""

    entries: list[JournalEntry] = field(default_factory=list)
    # Entry id of every key in `entries`, and the highest entry id seen at all.
    entry_ids: dict[str, int] = field(default_factory=dict)
    last_entry_id: int = 0
    # How many of the participant's postings the entries seen have (all reasons).
    postings: int = 0
    # Original entry ids of reversals whose original is not among the entries seen.
    foreign_reversals: list[int] = field(default_factory=list)
    returned_payments: int = 0


class AccountCache:
    """AccountRef per ledger_account id, filled as needed and kept for the whole run."""

    def __init__(self) -> None:
        self._refs: dict[int, AccountRef] = {}

    def load_participants(self, session: Session, participant_ids: Sequence[int]) -> None:
        for chunk in _chunks(participant_ids):
            for account_id, kind, participant_id in session.execute(
                select(LedgerAccount.id, LedgerAccount.kind, LedgerAccount.participant_id).where(
                    member(session, LedgerAccount.participant_id, chunk)
                )
            ):
                if participant_id is not None:
                    self._refs[account_id] = AccountRef.of_participant(
                        participant_id, AccountKind(kind)
                    )

    def refs(self, session: Session, account_ids: Iterable[int]) -> dict[int, AccountRef]:
        missing = {account_id for account_id in account_ids if account_id not in self._refs}
        if missing:
            self._refs.update(account_refs_by_id(session, missing))
        return self._refs


def entries_after(
    session: Session,
    *,
    incremental_ids: Sequence[int],
    rebuild_ids: Sequence[int],
    accounts: AccountCache,
) -> dict[int, EntriesAfter]:
    """Per participant, the journal entries on their accounts in entry-id order: for
    `incremental_ids` those after their cached state's last entry (`cycle_state`), for
    `rebuild_ids` all of them. Rebuilt as JournalEntry when the open items need them."""
    found = {participant_id: EntriesAfter() for participant_id in (*incremental_ids, *rebuild_ids)}
    touched: list[tuple[int, int, int]] = []
    since = func.coalesce(CycleState.through_entry_id, literal(0))
    for ids, incremental in ((incremental_ids, True), (rebuild_ids, False)):
        for chunk in _chunks(sorted(ids)):
            query = (
                select(
                    LedgerAccount.participant_id,
                    PostingRecord.journal_entry_id,
                    func.count(PostingRecord.id),
                )
                .join(PostingRecord, PostingRecord.account_id == LedgerAccount.id)
                .where(member(session, LedgerAccount.participant_id, chunk))
                .group_by(LedgerAccount.participant_id, PostingRecord.journal_entry_id)
            )
            if incremental:
                query = query.join(
                    CycleState, CycleState.participant_id == LedgerAccount.participant_id
                ).where(PostingRecord.journal_entry_id > since)
            touched.extend(
                (int(participant_id), entry_id, int(count))
                for participant_id, entry_id, count in session.execute(query)
                if participant_id is not None
            )
    return _rebuild_entries(session, touched, found, accounts, incremental=set(incremental_ids))


@dataclass(frozen=True, slots=True)
class _Header:
    key: str
    booking_date: dt.date
    reason: str
    explanation: str
    explanation_en: str
    reverses_id: int | None
    metadata: dict[str, str]


def _headers(session: Session, entry_ids: Iterable[int]) -> dict[int, _Header]:
    found: dict[int, _Header] = {}
    for chunk in _chunks(sorted(set(entry_ids))):
        for row in session.execute(
            select(
                JournalEntryRecord.id,
                JournalEntryRecord.idempotency_key,
                JournalEntryRecord.booking_date,
                JournalEntryRecord.reason_code,
                JournalEntryRecord.explanation,
                JournalEntryRecord.explanation_en,
                JournalEntryRecord.reverses_entry_id,
                JournalEntryRecord.entry_metadata,
            ).where(member(session, JournalEntryRecord.id, chunk))
        ):
            found[row[0]] = _Header(row[1], row[2], row[3], row[4], row[5], row[6], row[7] or {})
    return found


def _outcome(
    payment_rule: str, source_kind: str, metadata: dict[str, str]
) -> tuple[str, str, str] | None:
    """What a returned or rejected payment means to the rules: (reason, agreement id, due
    date) for a fixed cost whose money went back to `reserved`, else None (living money
    and one-off payouts go back to available, which the balances show by themselves).
    - `fixed_cost.pay`: `fixed_cost.returned`, reserved and never retried automatically;
    - `fixed_cost.handover` (zelfregie step 3): `fixed_cost.handover_returned`, the
      engine pays the creditor directly (not the participant's miss)."""
    agreement_id = metadata.get(META_AGREEMENT_ID)
    due_date = metadata.get(META_DUE_DATE)
    if source_kind != "reserved" or agreement_id is None or due_date is None:
        return None
    if payment_rule == PAY_FIXED_COST:
        return REASON_PAYMENT_RETURNED, agreement_id, due_date
    if payment_rule == HAND_OVER:
        return REASON_HANDOVER_RETURNED, agreement_id, due_date
    return None


def _payment_outcomes(
    session: Session, headers: dict[int, _Header]
) -> dict[int, tuple[str, str, str] | None]:
    """For each returned or rejected payment entry: see `_outcome`. Read from the entry's
    own metadata; only entries without it (booked before it existed) are looked up by
    the EndToEndId in their key and the instruction's payable entry."""
    found: dict[int, tuple[str, str, str] | None] = {}
    by_end_to_end: dict[str, int] = {}
    for entry_id, header in headers.items():
        prefix = PAYMENT_OUTCOME_KEY_PREFIXES.get(header.reason)
        if prefix is None:
            continue
        if META_PAYMENT_RULE in header.metadata:
            found[entry_id] = _outcome(
                header.metadata[META_PAYMENT_RULE],
                header.metadata.get(META_SOURCE_KIND, ""),
                header.metadata,
            )
        elif header.key.startswith(prefix):
            # Old format (no metadata): keep accepting it, such entries stay in the
            # ledger for good and a rebuild folds them again.
            by_end_to_end[header.key[len(prefix) :]] = entry_id
            found[entry_id] = None
    ids = sorted(by_end_to_end)
    for start in range(0, len(ids), _IN_CHUNK):
        for end_to_end_id, kind, source_kind, payable_reason, metadata in session.execute(
            select(
                PaymentInstruction.end_to_end_id,
                PaymentInstruction.kind,
                PaymentInstruction.source_kind,
                JournalEntryRecord.reason_code,
                JournalEntryRecord.entry_metadata,
            )
            .join(JournalEntryRecord, JournalEntryRecord.id == PaymentInstruction.payable_entry_id)
            .where(
                member(session, PaymentInstruction.end_to_end_id, ids[start : start + _IN_CHUNK])
            )
        ):
            rule = PAY_FIXED_COST if kind == "fixed_cost" else str(payable_reason)
            found[by_end_to_end[end_to_end_id]] = _outcome(rule, source_kind, metadata or {})
    return found


def _rebuild_entries(
    session: Session,
    touched: list[tuple[int, int, int]],
    found: dict[int, EntriesAfter],
    accounts: AccountCache,
    *,
    incremental: set[int],
) -> dict[int, EntriesAfter]:
    """Turn the touched entries into what rules.OpenItemsBuilder understands.

    Payments' outcomes are translated into the rules' vocabulary, so the engine never
    pays a due date again that was paid once (rules: "a returned payment is never
    retried automatically; its money stays reserved for the caseworker"):
    - a fixed-cost payment returned or rejected by the bank (`payment.returned`,
      `payment.rejected`) or cancelled before export (the reversal of a
      `fixed_cost.pay`) becomes `fixed_cost.returned` for its agreement and due date;
    - a cancelled living-money payment (reversal of `living_money.pay`) is left out:
      the payout date stays decided and the money is available again.
    """
    touched.sort(key=lambda row: (row[0], row[1]))
    headers = _headers(session, (entry_id for _, entry_id, _ in touched))
    originals = _headers(
        session,
        (
            header.reverses_id
            for header in headers.values()
            if header.reverses_id is not None and header.reverses_id not in headers
        ),
    )
    originals.update(headers)
    outcomes = _payment_outcomes(session, headers)
    wanted = {
        entry_id
        for entry_id, header in headers.items()
        if header.reason in OPEN_ITEM_REASONS
        or header.reverses_id is not None
        or outcomes.get(entry_id) is not None
    }
    postings: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for chunk in _chunks(sorted(wanted)):
        for entry_id, account_id, amount in session.execute(
            select(
                PostingRecord.journal_entry_id, PostingRecord.account_id, PostingRecord.amount_cents
            )
            .where(member(session, PostingRecord.journal_entry_id, chunk))
            .order_by(PostingRecord.id)
        ):
            postings[entry_id].append((account_id, amount))
    refs = accounts.refs(
        session, (account_id for lines in postings.values() for account_id, _ in lines)
    )

    def build(
        entry_id: int,
        *,
        reason: str | None = None,
        metadata: dict[str, str] | None = None,
        reverses_key: str | None = None,
    ) -> JournalEntry:
        header = headers[entry_id]
        return JournalEntry(
            idempotency_key=header.key,
            booking_date=header.booking_date,
            reason_code=reason or header.reason,
            explanation=header.explanation,
            explanation_en=header.explanation_en,
            postings=tuple(
                Posting(refs[account_id], amount) for account_id, amount in postings[entry_id]
            ),
            reverses_key=reverses_key,
            metadata=tuple(sorted((header.metadata if metadata is None else metadata).items())),
        )

    def returned(
        entry_id: int, agreement_id: str, due_date: str, reason: str = REASON_PAYMENT_RETURNED
    ) -> JournalEntry:
        return build(
            entry_id,
            reason=reason,
            metadata=dict(returned_payment_metadata(agreement_id, dt.date.fromisoformat(due_date))),
        )

    for participant_id, entry_id, count in touched:
        result = found[participant_id]
        result.postings += count
        result.last_entry_id = max(result.last_entry_id, entry_id)
        if entry_id not in wanted:
            continue
        header = headers[entry_id]
        entry: JournalEntry | None = None
        if header.reverses_id is not None:
            original = originals.get(header.reverses_id)
            if original is None or original.reason not in OPEN_ITEM_REASONS:
                continue
            if original.reason in (PAY_FIXED_COST, HAND_OVER):
                agreement_id = original.metadata.get(META_AGREEMENT_ID)
                due_date = original.metadata.get(META_DUE_DATE)
                if agreement_id is None or due_date is None:
                    continue
                entry = returned(entry_id, agreement_id, due_date)
            elif original.reason in (PAY_LIVING_MONEY, PAY_ONE_OFF):
                # A cancelled payout stays decided; its money is available again.
                continue
            elif original.key in result.entry_ids:
                entry = build(entry_id, reverses_key=original.key)
            elif participant_id in incremental:
                # It undoes something folded into the cache: only a rebuild can.
                result.foreign_reversals.append(header.reverses_id)
                continue
            else:
                continue
        elif entry_id in outcomes:
            outcome = outcomes[entry_id]
            if outcome is None:
                continue
            reason, agreement_id, due_date = outcome
            entry = returned(entry_id, agreement_id, due_date, reason)
        else:
            entry = build(entry_id)
        if entry.reason_code in (REASON_PAYMENT_RETURNED, REASON_HANDOVER_RETURNED):
            result.returned_payments += 1
        result.entries.append(entry)
        result.entry_ids[entry.idempotency_key] = entry_id
    return found


def reason_codes(session: Session, entry_ids: Sequence[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for chunk in _chunks(sorted(set(entry_ids))):
        for entry_id, reason in session.execute(
            select(JournalEntryRecord.id, JournalEntryRecord.reason_code).where(
                member(session, JournalEntryRecord.id, chunk)
            )
        ):
            found[entry_id] = reason
    return found


def rules_alert_keys(session: Session, participant_ids: Sequence[int]) -> dict[int, set[str]]:
    found: dict[int, set[str]] = defaultdict(set)
    for chunk in _chunks(participant_ids):
        for participant_id, key in session.execute(
            select(Alert.participant_id, Alert.dedup_key).where(
                and_(
                    member(session, Alert.participant_id, chunk),
                    Alert.dedup_key.startswith(RULES_ALERT_PREFIX, autoescape=True),
                )
            )
        ):
            if participant_id is not None:
                found[participant_id].add(key)
    return dict(found)
