"""Payment instructions: created by the daily cycle, cancelled before export.

The daily cycle first posts the journal entry that moves the money from the
participant's reserved/available/buffer account to payable, then, in the same
transaction, calls `create_payment_instruction` with that entry. The instruction's
idempotency key is the entry's key, so re-running the cycle creates nothing new.
Services only flush: the caller commits.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from backend.clock import today_amsterdam
from backend.errors import Conflict, IdempotencyConflict, InvalidInput, NotFound
from backend.iban import validate_iban
from backend.ledger_store import load_entry, post_entries
from backend.ledger_store.driver import insert_rows, select_in
from backend.models import (
    JournalEntryRecord,
    MunicipalBankAccount,
    PaymentBatch,
    PaymentInstruction,
)
from backend.models.base import utcnow
from backend.models.payments import INSTRUCTION_KINDS, SOURCE_KINDS
from backend.payments.sepa_text import (
    REMITTANCE_LENGTH_MAX,
    check_identifier,
    end_to_end_id_for,
    parse_creditor_reference,
    sepa_name,
    to_sepa_text,
)
from ledger import AMOUNT_CENTS_MAX, AccountKind, AccountRef, JournalEntry, Money, reverse

_CHUNK = 500
_ASCII_ALPHANUMERIC = re.compile(r"[A-Za-z0-9]")
_PLAIN_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,34}")
_BIC_PATTERN = re.compile(r"^[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$")
CREDITOR_NAME_LENGTH_MAX = 140
INSTRUCTIONS_PER_CALL_MAX = 100_000

SOURCE_WORDS_NL = {
    "reserved": "gereserveerd voor deze vaste last",
    "available": "beschikbaar",
    "buffer": "in je buffer",
}
SOURCE_WORDS_EN = {
    "reserved": "reserved for this fixed cost",
    "available": "available",
    "buffer": "in your buffer",
}


def payee_words(instruction: PaymentInstruction) -> tuple[str, str]:
    """Who was paid, in words for the ledger (Dutch, English).

    Living money goes to the participant: their name is personal data, and the
    append-only ledger could never forget it, so the ledger says 'your own account'.
    """
    if instruction.kind == "living_money":
        return "je eigen rekening", "your own account"
    return instruction.creditor_name, instruction.creditor_name


@dataclass(frozen=True, slots=True)
class InstructionRequest:
    """Everything `create_payment_instructions` needs for one payment.

    entry: the stored journal entry that moved `amount_cents` from the participant's
        `source_kind` account to their payable account (exactly those two postings).
    execution_date: the requested execution date (TARGET business day before due).
    remittance: free text for the creditor (Ustrd), used when there is no
        creditor_reference; at least one of the two is required.
    creditor_reference: Dutch betalingskenmerk or ISO 11649 RF reference.
    end_to_end_id: optional; by default derived from the entry's key.
    """

    entry: JournalEntry
    participant_id: int
    kind: str
    creditor_name: str
    creditor_iban: str
    amount_cents: int
    due_date: dt.date
    execution_date: dt.date
    remittance: str | None
    creditor_reference: str | None
    source_kind: str
    debtor_iban: str
    end_to_end_id: str | None = None
    creditor_bic: str | None = None
    # The entry's id when the caller has just posted it with `post_entries` in this
    # transaction (which checked its fingerprint): saves looking it up again.
    entry_id: int | None = None


def create_payment_instruction(
    session: Session,
    *,
    entry: JournalEntry,
    participant_id: int,
    kind: str,
    creditor_name: str,
    creditor_iban: str,
    amount_cents: int,
    due_date: dt.date,
    execution_date: dt.date,
    remittance: str | None,
    creditor_reference: str | None,
    source_kind: str,
    debtor_iban: str,
    end_to_end_id: str | None = None,
    creditor_bic: str | None = None,
) -> PaymentInstruction:
    """Create (or, on a replay, return) the instruction for a posted payable entry."""
    request = InstructionRequest(
        entry=entry,
        participant_id=participant_id,
        kind=kind,
        creditor_name=creditor_name,
        creditor_iban=creditor_iban,
        amount_cents=amount_cents,
        due_date=due_date,
        execution_date=execution_date,
        remittance=remittance,
        creditor_reference=creditor_reference,
        source_kind=source_kind,
        debtor_iban=debtor_iban,
        end_to_end_id=end_to_end_id,
        creditor_bic=creditor_bic,
    )
    return create_payment_instructions(session, [request])[0]


def create_payment_instructions(
    session: Session, requests: Sequence[InstructionRequest]
) -> list[PaymentInstruction]:
    """Bulk form of `create_payment_instruction`: one query per chunk, not per payment.

    Idempotent per entry key: an existing instruction with the same content is
    returned; the same key with other content raises IdempotencyConflict.
    """
    keys = _store_instructions(session, requests)
    by_key = _existing_by_key(session, keys)
    return [by_key[key] for key in keys]


def insert_payment_instructions(session: Session, requests: Sequence[InstructionRequest]) -> int:
    """`create_payment_instructions` without loading the instructions back (the daily
    cycle's bulk path: no ORM object per payment). Returns how many were new."""
    before = len(requests)
    return before - len(_store_instructions(session, requests, only_new=True))


def _store_instructions(
    session: Session, requests: Sequence[InstructionRequest], *, only_new: bool = False
) -> list[str]:
    """Checks and inserts; the keys of all requests (`only_new`: of those that existed)."""
    if len(requests) > INSTRUCTIONS_PER_CALL_MAX:
        raise InvalidInput(f"at most {INSTRUCTIONS_PER_CALL_MAX} instructions per call")
    if session.autoflush:  # some lookups below go to the driver, past the ORM's autoflush
        session.flush()
    checker = _RowChecker(_debtor_account_ids(session))
    rows = [_row_for(request, checker) for request in requests]
    keys = [row["idempotency_key"] for row in rows]
    if len(set(keys)) != len(keys):
        raise InvalidInput("the same entry appears twice; one entry pays one instruction")
    entry_ids = _stored_entry_ids(session, requests)
    existing = _existing_rows_by_key(session, keys)
    new_rows: list[dict[str, Any]] = []
    for row in rows:
        key = row["idempotency_key"]
        row["payable_entry_id"] = entry_ids[key]
        found = existing.get(key)
        if found is not None:
            _check_same(found, row)
            continue
        new_rows.append(row)
    _check_end_to_end_ids_free(session, new_rows)
    now = utcnow()
    extra = {"status": "payable", "retry_blocked": False, "created_at": now, "updated_at": now}
    for row in new_rows:
        row.update(extra)
    if new_rows:
        # Straight to the driver (COPY / executemany): the ORM's bulk insert built
        # and processed every row's parameters one by one (docs/performance.md).
        insert_rows(
            session.connection(),
            _INSTRUCTION,
            _INSERTED,
            [_inserted_values(row) for row in new_rows],
        )
    return [key for key in keys if key in existing] if only_new else keys


def _debtor_account_ids(session: Session) -> dict[str, int]:
    return {
        iban: account_id
        for account_id, iban in session.execute(
            select(MunicipalBankAccount.id, MunicipalBankAccount.iban)
        )
    }


class _RowChecker:
    """Checks one call's requests into rows. The texts and IBANs repeat within a call
    (the same creditors, the one debtor account): each distinct one is checked once."""

    def __init__(self, debtor_ids: dict[str, int]) -> None:
        self.debtor_ids = debtor_ids
        self._names: dict[str, str] = {}
        self._references: dict[str, str] = {}
        self._remittances: dict[str, bool] = {}

    def name(self, text: str) -> str:
        name = text.strip()
        if name not in self._names:
            sepa_name(name)  # raises when nothing of it can be sent
            self._names[name] = name
        return name

    def reference(self, text: str) -> str:
        found = self._references.get(text)
        if found is None:
            found = self._references[text] = parse_creditor_reference(text).reference
        return found

    def remittance_sendable(self, text: str) -> bool:
        if _ASCII_ALPHANUMERIC.search(text):  # kept as it is by to_sepa_text
            return True
        found = self._remittances.get(text)
        if found is None:
            found = self._remittances[text] = bool(to_sepa_text(text, length_max=1))
        return found


def _row_for(request: InstructionRequest, checker: _RowChecker) -> dict[str, Any]:
    debtor_ids = checker.debtor_ids
    entry = request.entry
    where = f"payment for entry {entry.idempotency_key!r}"
    if request.kind not in INSTRUCTION_KINDS:
        raise InvalidInput(f"{where}: kind must be one of {', '.join(INSTRUCTION_KINDS)}")
    if request.source_kind not in SOURCE_KINDS:
        raise InvalidInput(f"{where}: source must be one of {', '.join(SOURCE_KINDS)}")
    amount = request.amount_cents
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidInput(f"{where}: amount must be whole cents")
    if not 0 < amount <= AMOUNT_CENTS_MAX:
        raise InvalidInput(f"{where}: amount must be above zero and at most the maximum")
    _check_payable_entry(request, where)
    if len(request.creditor_name.strip()) > CREDITOR_NAME_LENGTH_MAX:
        raise InvalidInput(f"{where}: creditor name is longer than 140 characters")
    name = checker.name(request.creditor_name)
    reference = None
    if request.creditor_reference and request.creditor_reference.strip():
        reference = checker.reference(request.creditor_reference)
    remittance = (request.remittance or "").strip() or None
    if remittance is not None and len(remittance) > REMITTANCE_LENGTH_MAX:
        raise InvalidInput(f"{where}: remittance is longer than {REMITTANCE_LENGTH_MAX}")
    if reference is None and not checker.remittance_sendable(remittance or ""):
        raise InvalidInput(f"{where}: give a remittance text or a creditor reference")
    bic = (request.creditor_bic or "").strip().upper() or None
    if bic is not None and not _BIC_PATTERN.match(bic):
        raise InvalidInput(f"{where}: creditor BIC {request.creditor_bic!r} is not a BIC")
    debtor_iban = validate_iban(request.debtor_iban, field="debtor_iban")
    if debtor_iban not in debtor_ids:
        raise InvalidInput(f"{where}: {debtor_iban} is not one of the municipality's accounts")
    end_to_end_id = request.end_to_end_id or end_to_end_id_for(entry.idempotency_key)
    if request.end_to_end_id and not _plain_identifier(end_to_end_id):
        end_to_end_id = check_identifier(end_to_end_id, field="end_to_end_id")
    return {
        "participant_id": request.participant_id,
        "idempotency_key": entry.idempotency_key,
        "end_to_end_id": end_to_end_id,
        "kind": request.kind,
        "creditor_name": name,
        "creditor_iban": validate_iban(request.creditor_iban, field="creditor_iban"),
        "creditor_bic": bic,
        "amount_cents": amount,
        "remittance_unstructured": remittance,
        "creditor_reference": reference,
        "due_date": request.due_date,
        "requested_execution_date": request.execution_date,
        "debtor_account_id": debtor_ids[debtor_iban],
        "source_kind": request.source_kind,
    }


def _plain_identifier(value: str) -> bool:
    """Letters, digits and inner hyphens, at most 35 and not NOTPROVIDED: an identifier
    `check_identifier` accepts, recognised in one regex match (the cycle's ids are
    all like that) instead of a check per character."""
    return _PLAIN_IDENTIFIER.fullmatch(value) is not None and value.upper() != "NOTPROVIDED"


def _check_payable_entry(request: InstructionRequest, where: str) -> None:
    """The entry moves exactly `amount` from the source account to payable."""
    entry = request.entry
    payable = AccountRef.of_participant(request.participant_id, AccountKind.PAYABLE)
    source = AccountRef.of_participant(request.participant_id, AccountKind(request.source_kind))
    amount = request.amount_cents  # above zero (checked): the two pairs differ
    postings = entry.postings
    if (
        entry.reverses_key is not None
        or len(postings) != 2
        or {(posting.account, posting.amount_cents) for posting in postings}
        != {(payable, -amount), (source, amount)}
    ):
        raise InvalidInput(
            f"{where}: the entry must move exactly {Money(request.amount_cents)} from "
            f"{source.label()} to {payable.label()} and nothing else"
        )


def _stored_entry_ids(session: Session, requests: Sequence[InstructionRequest]) -> dict[str, int]:
    from ledger import entry_fingerprint

    given = {
        request.entry.idempotency_key: request.entry_id
        for request in requests
        if request.entry_id is not None
    }
    wanted = {
        request.entry.idempotency_key: request.entry
        for request in requests
        if request.entry_id is None
    }
    keys = list(wanted)
    stored: dict[str, tuple[int, str]] = {}
    for start in range(0, len(keys), _CHUNK):
        for key, entry_id, fingerprint in session.execute(
            select(
                JournalEntryRecord.idempotency_key,
                JournalEntryRecord.id,
                JournalEntryRecord.fingerprint,
            ).where(JournalEntryRecord.idempotency_key.in_(keys[start : start + _CHUNK]))
        ):
            stored[key] = (entry_id, fingerprint)
    result: dict[str, int] = dict(given)
    for key, entry in wanted.items():
        if key not in stored:
            raise InvalidInput(
                f"entry {key!r} is not in the ledger; post it before creating its payment"
            )
        entry_id, fingerprint = stored[key]
        if fingerprint != entry_fingerprint(entry):
            raise IdempotencyConflict(f"entry {key!r} in the ledger differs from the one given")
        result[key] = entry_id
    return result


_KEYS_STORED = "SELECT idempotency_key FROM payment_instruction WHERE idempotency_key {in}"
_END_TO_END_IDS_TAKEN = "SELECT end_to_end_id FROM payment_instruction WHERE end_to_end_id {in}"


def _existing_rows_by_key(session: Session, keys: Sequence[str]) -> dict[str, Any]:
    """The compared columns of existing instructions (Core rows: no ORM object each).
    Which keys exist is asked of the driver (one cheap query on the unique index);
    only those, usually none, are loaded with their typed columns."""
    stored = [key for (key,) in select_in(session.connection(), _KEYS_STORED, keys)]
    columns = [getattr(PaymentInstruction, name) for name in ("idempotency_key", *_COMPARED)]
    found: dict[str, Any] = {}
    for start in range(0, len(stored), _CHUNK):
        for row in session.execute(
            select(*columns).where(
                PaymentInstruction.idempotency_key.in_(stored[start : start + _CHUNK])
            )
        ):
            found[row.idempotency_key] = row
    return found


def _existing_by_key(session: Session, keys: Sequence[str]) -> dict[str, PaymentInstruction]:
    found: dict[str, PaymentInstruction] = {}
    for start in range(0, len(keys), _CHUNK):
        for instruction in session.scalars(
            select(PaymentInstruction).where(
                PaymentInstruction.idempotency_key.in_(keys[start : start + _CHUNK])
            )
        ):
            found[instruction.idempotency_key] = instruction
    return found


_INSTRUCTION = cast(Table, PaymentInstruction.__table__)
# The columns a new instruction is inserted with (every column with a model default).
_INSERTED = (
    "participant_id",
    "idempotency_key",
    "payable_entry_id",
    "end_to_end_id",
    "kind",
    "creditor_name",
    "creditor_iban",
    "creditor_bic",
    "amount_cents",
    "remittance_unstructured",
    "creditor_reference",
    "due_date",
    "requested_execution_date",
    "debtor_account_id",
    "source_kind",
    "status",
    "retry_blocked",
    "created_at",
    "updated_at",
)
_inserted_values = operator.itemgetter(*_INSERTED)
# A replay must match in everything the caller chose (not in what the insert adds).
_COMPARED = tuple(
    name
    for name in _INSERTED
    if name
    not in {
        "idempotency_key",
        "payable_entry_id",
        "status",
        "retry_blocked",
        "created_at",
        "updated_at",
    }
)


def _check_same(existing: Any, row: dict[str, Any]) -> None:
    differing = [name for name in _COMPARED if getattr(existing, name) != row[name]]
    if differing:
        raise IdempotencyConflict(
            f"entry {row['idempotency_key']!r} already has a payment with a different "
            f"{', '.join(differing)}"
        )


def _check_end_to_end_ids_free(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    ids = [row["end_to_end_id"] for row in rows]
    if len(set(ids)) != len(ids):
        raise Conflict("two payments in one call have the same EndToEndId")
    taken = [found for (found,) in select_in(session.connection(), _END_TO_END_IDS_TAKEN, ids)]
    if taken:
        raise Conflict(f"EndToEndId {taken[0]!r} is already used by another payment")


# ------------------------------------------------------------------ lookups


def get_instruction(session: Session, instruction_id: int) -> PaymentInstruction:
    instruction = session.get(PaymentInstruction, instruction_id, populate_existing=True)
    if instruction is None:
        raise NotFound(f"payment instruction {instruction_id} does not exist")
    return instruction


def instruction_by_end_to_end_id(session: Session, end_to_end_id: str) -> PaymentInstruction | None:
    return session.scalar(
        select(PaymentInstruction)
        .where(PaymentInstruction.end_to_end_id == end_to_end_id)
        .execution_options(populate_existing=True)
    )


# ------------------------------------------------------------------ cancel before export


def cancel_instruction(
    session: Session,
    *,
    instruction_id: int,
    actor: str,
    reason: str,
    today: dt.date | None = None,
) -> PaymentInstruction:
    """Cancel one payment that is not in a prepared batch: the payable entry is reversed,
    so the money goes back exactly where it came from."""
    from backend.payments.batches import record_event, refresh_proposal_totals

    instruction = get_instruction(session, instruction_id)
    if instruction.status == "cancelled":
        return instruction
    batch_id = instruction.batch_id
    if instruction.status == "batched" and batch_id is not None:
        # Lock the proposal: a concurrent `prepare` either happened before (refuse)
        # or waits until this cancellation is committed.
        locked = session.execute(
            update(PaymentBatch)
            .where(PaymentBatch.id == batch_id, PaymentBatch.status == "proposed")
            .values(version=PaymentBatch.version + 1)
            .execution_options(synchronize_session=False)
        )
        if locked.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(
                f"payment {instruction_id} is in batch {batch_id}, which is already prepared; "
                "cancel the batch instead (with --release to keep the other payments)"
            )
    elif instruction.status != "payable":
        raise Conflict(
            f"payment {instruction_id} is {instruction.status}; only payments that are not "
            "exported yet can be cancelled"
        )
    changed = session.execute(
        update(PaymentInstruction)
        .where(
            PaymentInstruction.id == instruction_id,
            PaymentInstruction.status.in_(("payable", "batched")),
        )
        .values(status="cancelled", batch_id=None, status_reason_code=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"payment {instruction_id} changed while it was being cancelled")
    reverse_payable_entries(
        session, [instruction], actor=actor, reason=reason, today=today or today_amsterdam()
    )
    if batch_id is not None:
        record_event(
            session,
            batch_id,
            action="instruction_cancelled",
            from_status="proposed",
            to_status="proposed",
            actor=actor,
            detail={"instruction_id": instruction_id, "reason": reason},
        )
        refresh_proposal_totals(session, [batch_id])
    return get_instruction(session, instruction_id)


def reverse_payable_entries(
    session: Session,
    instructions: Sequence[PaymentInstruction],
    *,
    actor: str,
    reason: str,
    today: dt.date,
) -> int:
    """Post the reversal of each instruction's payable entry; returns how many were new."""
    reversals: list[JournalEntry] = []
    for instruction in instructions:
        found = load_entry(session, instruction.idempotency_key)
        if found is None:
            raise Conflict(f"payable entry of payment {instruction.id} is missing")
        _, original = found
        amount = Money(instruction.amount_cents).format_nl()
        reversals.append(
            reverse(
                original,
                booking_date=today,
                idempotency_key=f"payments:cancel:{instruction.end_to_end_id}",
                explanation=(
                    f"De betaling van {amount} aan {payee_words(instruction)[0]} is geannuleerd. "
                    f"Het geld staat weer {SOURCE_WORDS_NL[instruction.source_kind]}."
                )[:500],
                explanation_en=(
                    f"The payment of {amount} to {payee_words(instruction)[1]} was cancelled "
                    f"({reason[:100]}). The money is {SOURCE_WORDS_EN[instruction.source_kind]} "
                    "again."
                )[:500],
            )
        )
    posted = post_entries(session, reversals, created_by=actor)
    return sum(1 for item in posted if item.created)
