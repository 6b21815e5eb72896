"""Retention: what happens to a participant's data when their terms have passed.

Three record types, each with its own term (backend.privacy_store.settings):

- case notes (default 2 years after participation ended): free text about a
  person's life (life-event and emergency notes, proposal reasons, free-text
  payment references) is cleared.
- identity (default 7 years after participation ended): the participant is
  pseudonymised. Name -> "Deelnemer 12 (gepseudonimiseerd)"; BSN ciphertext and
  blind index -> a random tombstone; own IBAN removed; their account disabled and
  anonymised, its sessions revoked; every other table that holds their data is
  scrubbed of their name, IBAN and BSN (found generically, so tables added later
  are covered). Amounts, dates and the ledger stay: totals keep reconciling.
- payment files (default 7 years after execution): the stored SEPA file of a batch
  is removed; its SHA-256 and SHA-1 stay as proof of what was sent.

What is never changed: the ledger (journal entries and postings carry fingerprints
and hold ids, not names), the access log (ids only; its chain keeps verifying) and
the pseudonymisation records. Two immutable tables are redacted by retention, and
only by retention, inside its own transaction with their guard lifted for that
transaction: plan versions (they name the living-money payee) and proposal events
(their reasons are free text).

After scrubbing, every table is scanned again for the participant's identifiers;
anything left is reported as a residual, and the command exits 1, so a table
nobody taught retention about does not go unnoticed.

Services only flush; the command commits per participant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, and_, func, or_, select, text, update
from sqlalchemy.orm import Session

from backend.logging import CURRENT_TRACE, get_logger, new_trace_id
from backend.models import (
    Household,
    JournalEntryRecord,
    LedgerAccount,
    Participant,
    PaymentBatch,
    PaymentInstruction,
    PostingRecord,
    PseudonymisationRecord,
    RefreshToken,
    UserAccount,
)
from backend.models.base import utcnow
from backend.participants.service import BSN_CONTEXT
from backend.privacy_store.access_log import note_access
from backend.privacy_store.schema import ParticipantTable, guarded_tables, participant_tables
from backend.privacy_store.schema import text_columns as schema_text_columns
from privacy.activities import RETENTION
from privacy.fields import FieldCipher, FieldCipherError, is_tombstone, new_tombstone
from privacy.redaction import Identifiers
from privacy.retention import RetentionTerms, due_on, is_due

log = get_logger(__name__)

RESOURCE = "cli:privacy retention"
NOTE_PLACEHOLDER = "[verwijderd]"
# Columns that hold free text about a person, in any table: cleared, not just redacted.
FREE_TEXT_COLUMNS = frozenset(
    {
        "note",
        "notes",
        "remark",
        "remarks",
        "comment",
        "comments",
        "reason",
        "decision_reason",
        "free_text",
        "remittance_unstructured",
    }
)
# Immutable tables retention may redact (guard lifted in its own transaction only).
REDACTABLE_GUARDED = frozenset({"plan_version", "proposal_event"})
# Never touched: they hold ids, not text about the person (and carry hashes).
NEVER_CHANGED = frozenset({"access_log", "pseudonymisation", "ledger_account"})
# Handled column by column below.
EXPLICIT = frozenset({"user_account", "refresh_token"})
CANDIDATES_PER_RUN_MAX = 10_000
ROWS_PER_TABLE_MAX = 100_000


def pseudonym_name(participant_id: int) -> str:
    return f"Deelnemer {participant_id} (gepseudonimiseerd)"


def pseudonym_username(participant_id: int) -> str:
    return f"gepseudonimiseerd-{participant_id}"


@dataclass(frozen=True, slots=True)
class Candidate:
    participant_id: int
    ended_on: dt.date
    due_on: dt.date


@dataclass(frozen=True, slots=True)
class Residual:
    """Identifiers still found after scrubbing: where, how many rows (never the values)."""

    participant_id: int
    table: str
    column: str
    rows: int
    why: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "participant_id": self.participant_id,
            "table": self.table,
            "column": self.column,
            "rows": self.rows,
            "why": self.why,
        }


@dataclass
class ParticipantOutcome:
    participant_id: int
    ended_on: dt.date
    due_on: dt.date
    changed: dict[str, int] = field(default_factory=dict)  # "table.column" -> rows
    residual: list[Residual] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "participant_id": self.participant_id,
            "ended_on": self.ended_on.isoformat(),
            "due_on": self.due_on.isoformat(),
            "changed": dict(sorted(self.changed.items())),
            "residual": [item.as_dict() for item in self.residual],
            "notes": self.notes,
        }


# Who is due


def pseudonymised_ids(session: Session) -> frozenset[int]:
    return frozenset(session.scalars(select(PseudonymisationRecord.participant_id)))


def due_participants(
    session: Session, *, years: int, today: dt.date, skip: frozenset[int] = frozenset()
) -> list[Candidate]:
    """Participants whose participation ended at least `years` ago (oldest first)."""
    rows = session.execute(
        select(Participant.id, Participant.ended_on)
        .where(Participant.ended_on.is_not(None), Participant.ended_on <= today)
        .order_by(Participant.ended_on, Participant.id)
    )
    found: list[Candidate] = []
    for participant_id, ended_on in rows:
        if ended_on is None or participant_id in skip or not is_due(ended_on, years, today):
            continue
        found.append(Candidate(participant_id, ended_on, due_on(ended_on, years)))
        if len(found) >= CANDIDATES_PER_RUN_MAX:
            break
    return found


# Lifting an immutability guard, for retention only


@contextmanager
def guard_lifted(session: Session, table: str) -> Iterator[None]:
    """Inside the current transaction only: the table's change-refusing triggers are off.

    PostgreSQL: ALTER TABLE ... DISABLE TRIGGER USER (transactional; the table is
    locked until commit, and the triggers are back before the commit). SQLite: the
    trigger definitions are read, dropped and re-created verbatim in the same
    transaction. If anything fails, the rollback restores the triggers too.
    """
    if table not in REDACTABLE_GUARDED:
        raise ValueError(f"retention may not lift the guard of {table}")
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text(f'ALTER TABLE "{table}" DISABLE TRIGGER USER'))
        yield
        session.execute(text(f'ALTER TABLE "{table}" ENABLE TRIGGER USER'))
        return
    if dialect == "sqlite":
        triggers = session.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
            {"t": table},
        ).all()
        for name, _ in triggers:
            session.execute(text(f'DROP TRIGGER "{name}"'))
        yield
        for _, definition in triggers:
            session.execute(text(definition))
        return
    raise ValueError(f"no guard handling for database {dialect!r}")


# Scrubbing


def _clear_free_text(document: Any) -> Any:
    """In a JSON document: free-text references ({"kind": "free_text", "text": ...}) cleared."""
    if isinstance(document, dict):
        cleared = {key: _clear_free_text(value) for key, value in document.items()}
        if cleared.get("kind") == "free_text" and isinstance(cleared.get("text"), str):
            cleared["text"] = NOTE_PLACEHOLDER
        return cleared
    if isinstance(document, list):
        return [_clear_free_text(item) for item in document]
    return document


def _scrubbed(column_name: str, value: Any, identifiers: Identifiers | None, nullable: bool) -> Any:
    """The new value of a column, or `value` itself when nothing changes."""
    if value is None:
        return value
    if column_name in FREE_TEXT_COLUMNS:
        if value in ("", NOTE_PLACEHOLDER):
            return value
        return None if nullable else NOTE_PLACEHOLDER
    if isinstance(value, (dict, list)):
        document = _clear_free_text(value)
        return identifiers.redact_document(document) if identifiers is not None else document
    if isinstance(value, str) and identifiers is not None:
        return identifiers.redact(value)
    return value


def _planned_changes(
    session: Session,
    ptable: ParticipantTable,
    participant_id: int,
    identifiers: Identifiers | None,
    outcome: ParticipantOutcome,
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(primary key, new values) per row to rewrite; `identifiers` None: free text only."""
    table: Table = ptable.table
    columns = [
        column
        for column in schema_text_columns(table)
        if identifiers is not None or column.name in FREE_TEXT_COLUMNS
    ]
    keys = list(table.primary_key.columns)
    if not columns or not keys:
        return []
    rows = session.execute(
        select(*keys, *columns).where(ptable.of(participant_id)).limit(ROWS_PER_TABLE_MAX)
    ).all()
    changes: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for row in rows:
        mapping = row._mapping
        values = {}
        for column in columns:
            before = mapping[column]
            after = _scrubbed(column.name, before, identifiers, bool(column.nullable))
            if after != before:
                values[column.name] = after
                name = f"{table.name}.{column.name}"
                outcome.changed[name] = outcome.changed.get(name, 0) + 1
        if values:
            changes.append(({key.name: mapping[key] for key in keys}, values))
    return changes


def _apply(
    session: Session, table: Table, changes: list[tuple[dict[str, Any], dict[str, Any]]]
) -> None:
    for key_values, values in changes:
        condition = [table.c[name] == value for name, value in key_values.items()]
        session.execute(update(table).where(*condition).values(**values))


def _scrub_all(
    session: Session,
    participant_id: int,
    identifiers: Identifiers | None,
    outcome: ParticipantOutcome,
) -> None:
    guarded = guarded_tables(session)
    for ptable in participant_tables(session):
        if ptable.name in NEVER_CHANGED or ptable.name in EXPLICIT:
            continue
        if ptable.name in guarded and ptable.name not in REDACTABLE_GUARDED:
            continue  # reported by the residual scan if it holds identifiers
        changes = _planned_changes(session, ptable, participant_id, identifiers, outcome)
        if not changes:
            continue
        if ptable.name in guarded:
            with guard_lifted(session, ptable.name):
                _apply(session, ptable.table, changes)
        else:
            _apply(session, ptable.table, changes)


def _log_access(session: Session, participant_id: int, actor_user_id: int | None) -> None:
    note_access(
        session,
        actor_user_id=actor_user_id,
        actor_role="privacy_officer" if actor_user_id is not None else "system",
        participant_id=participant_id,
        resource=RESOURCE,
        operation="change",
        activity=RETENTION,
    )


def clear_case_notes(
    session: Session, candidate: Candidate, *, actor_user_id: int | None = None
) -> ParticipantOutcome:
    """Free text about the participant cleared (their identity stays for now)."""
    outcome = ParticipantOutcome(candidate.participant_id, candidate.ended_on, candidate.due_on)
    _scrub_all(session, candidate.participant_id, None, outcome)
    if outcome.changed:
        _log_access(session, candidate.participant_id, actor_user_id)
    session.flush()
    return outcome


def identifiers_of(session: Session, cipher: FieldCipher, participant: Participant) -> Identifiers:
    names = [participant.display_name]
    account = session.scalar(
        select(UserAccount).where(UserAccount.participant_id == participant.id)
    )
    if account is not None:
        names += [account.username, account.display_name]
    bsns: list[str] = []
    if not is_tombstone(participant.bsn_encrypted):
        # When its key is gone the BSN cannot be searched for; the tombstone replaces it.
        with suppress(FieldCipherError):
            bsns.append(cipher.decrypt(participant.bsn_encrypted, context=BSN_CONTEXT))
    return Identifiers(
        names=names, ibans=[participant.own_iban] if participant.own_iban else [], bsns=bsns
    )


def _anonymise_account(session: Session, participant_id: int, outcome: ParticipantOutcome) -> None:
    account = session.scalar(
        select(UserAccount).where(UserAccount.participant_id == participant_id)
    )
    if account is None:
        return
    account.username = pseudonym_username(participant_id)
    account.display_name = pseudonym_name(participant_id)
    account.password_hash = None
    account.external_subject = None
    account.active = False
    account.failed_login_count = 0
    account.locked_until = None
    account.last_login_at = None
    outcome.changed["user_account"] = 1
    revoked = session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == account.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    if revoked.rowcount:  # type: ignore[attr-defined]
        outcome.changed["refresh_token.revoked_at"] = int(revoked.rowcount)  # type: ignore[attr-defined]


def _rename_household(
    session: Session, participant: Participant, done: frozenset[int], outcome: ParticipantOutcome
) -> None:
    """The household name (often the family name) goes once no current member is left."""
    members = set(
        session.scalars(
            select(Participant.id).where(Participant.household_id == participant.household_id)
        )
    )
    if members - done - {participant.id}:
        outcome.notes.append(
            "household name kept: other members of the household are not pseudonymised"
        )
        return
    household = session.get(Household, participant.household_id)
    if household is not None:
        household.name = f"Huishouden {household.id}"
        household.adults = household.children = None  # composition goes with the name
        outcome.changed["household.name"] = 1


def residual_identifiers(
    session: Session, participant_id: int, identifiers: Identifiers
) -> list[Residual]:
    """Every place the participant's name, IBAN or BSN still appears (counts only)."""
    found: list[Residual] = []
    guarded = guarded_tables(session)

    def scan(table: Table, condition: Any, why: str) -> None:
        columns = schema_text_columns(table)
        if not columns:
            return
        counts: dict[str, int] = {}
        for row in session.execute(select(*columns).where(condition).limit(ROWS_PER_TABLE_MAX)):
            for column in columns:
                if identifiers.found_in(row._mapping[column]):
                    counts[column.name] = counts.get(column.name, 0) + 1
        found.extend(
            Residual(participant_id, table.name, name, rows, why) for name, rows in counts.items()
        )

    participant_table = Participant.__table__
    scan(participant_table, participant_table.c.id == participant_id, "participant row")  # type: ignore[arg-type]
    for ptable in participant_tables(session):
        if ptable.name == "access_log":
            continue
        why = "immutable table" if ptable.name in guarded else "not scrubbed"
        scan(ptable.table, ptable.of(participant_id), why)
    accounts = select(LedgerAccount.id).where(LedgerAccount.participant_id == participant_id)
    entries = select(PostingRecord.journal_entry_id).where(PostingRecord.account_id.in_(accounts))
    journal = JournalEntryRecord.__table__
    scan(journal, journal.c.id.in_(entries), "ledger (append-only, never changed)")  # type: ignore[arg-type]
    # Entries about their payments that touch only bank accounts (export, settlement,
    # return): found through the end-to-end ids of their payment instructions.
    end_to_end_ids = sorted(
        session.scalars(
            select(PaymentInstruction.end_to_end_id).where(
                PaymentInstruction.participant_id == participant_id
            )
        )
    )
    for start in range(0, len(end_to_end_ids), 100):
        chunk = end_to_end_ids[start : start + 100]
        condition = or_(*(journal.c.idempotency_key.like(f"%:{e2e}") for e2e in chunk))
        scan(journal, and_(condition, journal.c.id.not_in(entries)), "ledger: their payments")  # type: ignore[arg-type]
    return _merged(found)


def _merged(found: list[Residual]) -> list[Residual]:
    """One residual per (table, column, why), rows added up."""
    merged: dict[tuple[str, str, str], Residual] = {}
    for item in found:
        key = (item.table, item.column, item.why)
        if key in merged:
            earlier = merged[key]
            item = Residual(
                item.participant_id, item.table, item.column, earlier.rows + item.rows, item.why
            )
        merged[key] = item
    return list(merged.values())


def pseudonymise(
    session: Session,
    cipher: FieldCipher,
    candidate: Candidate,
    *,
    terms: RetentionTerms,
    done: frozenset[int] = frozenset(),
    actor_user_id: int | None = None,
) -> ParticipantOutcome:
    """Remove the participant's direct identifiers; the financial records stay."""
    outcome = ParticipantOutcome(candidate.participant_id, candidate.ended_on, candidate.due_on)
    participant = session.get(Participant, candidate.participant_id, with_for_update=True)
    if participant is None:
        raise ValueError(f"participant {candidate.participant_id} does not exist")
    identifiers = identifiers_of(session, cipher, participant)
    _scrub_all(session, participant.id, identifiers, outcome)
    _anonymise_account(session, participant.id, outcome)
    participant.display_name = pseudonym_name(participant.id)
    participant.bsn_encrypted = new_tombstone()
    participant.bsn_index = new_tombstone()
    participant.own_iban = None
    outcome.changed["participant"] = 1
    session.flush()
    _rename_household(session, participant, done, outcome)
    session.flush()
    outcome.residual = residual_identifiers(session, participant.id, identifiers)
    trace = CURRENT_TRACE.get()
    session.add(
        PseudonymisationRecord(
            participant_id=participant.id,
            ended_on=candidate.ended_on,
            term_years=terms.identity_years,
            due_on=candidate.due_on,
            pseudonymised_at=utcnow(),
            trace_id=trace.trace_id if trace is not None else new_trace_id(),
        )
    )
    _log_access(session, participant.id, actor_user_id)
    session.flush()
    log.info(
        "participant pseudonymised",
        participant_id=participant.id,
        residual=len(outcome.residual),
    )
    return outcome


def due_payment_files(session: Session, *, years: int, today: dt.date) -> list[int]:
    rows = session.execute(
        select(PaymentBatch.id, PaymentBatch.execution_date)
        .where(PaymentBatch.file_bytes.is_not(None))
        .order_by(PaymentBatch.execution_date, PaymentBatch.id)
    )
    return [batch_id for batch_id, executed in rows if is_due(executed, years, today)][
        :CANDIDATES_PER_RUN_MAX
    ]


def remove_payment_files(session: Session, batch_ids: list[int]) -> int:
    if not batch_ids:
        return 0
    result = session.execute(
        update(PaymentBatch)
        .where(PaymentBatch.id.in_(batch_ids), PaymentBatch.file_bytes.is_not(None))
        .values(file_bytes=None)
    )
    session.flush()
    return int(result.rowcount)  # type: ignore[attr-defined]


def count_pseudonymised(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(PseudonymisationRecord)) or 0)
