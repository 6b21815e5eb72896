"""Journal entries: balanced sets of postings with an idempotency key.

An entry is immutable. A mistake is corrected by `reverse(entry)`, a new entry
that points at the one it undoes; nothing is ever edited or deleted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from json.encoder import encode_basestring as _json_text  # as json.dumps, ensure_ascii=False

from ledger.accounts import AccountRef
from ledger.errors import LedgerError
from ledger.money import AMOUNT_CENTS_MAX

IDEMPOTENCY_KEY_LENGTH_MAX = 200
EXPLANATION_LENGTH_MAX = 500
POSTINGS_PER_ENTRY_MAX = 100


@dataclass(frozen=True, slots=True)
class Posting:
    """One line of an entry: positive cents debit the account, negative cents credit it."""

    account: AccountRef
    amount_cents: int


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A balanced movement of money.

    idempotency_key: chosen by the caller before the write; the same movement always
        gets the same key, so a replay can be recognised (e.g. 'import:NL..:REF').
    booking_date: the date the movement counts for (Europe/Amsterdam calendar date).
    reason_code: machine-readable reason, e.g. 'income.matched' or 'fixed_cost.pay'.
    explanation: one plain Dutch sentence a participant understands.
    explanation_en: the same sentence in English.
    reverses_key: idempotency key of the entry this one reverses, if any.
    """

    idempotency_key: str
    booking_date: dt.date
    reason_code: str
    explanation: str
    postings: tuple[Posting, ...]
    explanation_en: str = ""
    reverses_key: str | None = None
    metadata: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        problems = entry_problems(self)
        if problems:
            raise LedgerError(f"journal entry {self.idempotency_key!r}: " + "; ".join(problems))

    @property
    def participant_ids(self) -> frozenset[int]:
        return frozenset(
            posting.account.participant_id
            for posting in self.postings
            if posting.account.participant_id is not None
        )

    def amount_cents(self) -> int:
        """The size of the movement: the sum of its debits."""
        return sum(posting.amount_cents for posting in self.postings if posting.amount_cents > 0)


def entry_problems(entry: JournalEntry) -> list[str]:
    """Everything wrong with an entry, as sentences; empty when it is valid."""
    problems: list[str] = []
    if not entry.idempotency_key or len(entry.idempotency_key) > IDEMPOTENCY_KEY_LENGTH_MAX:
        problems.append(f"idempotency key must be 1 to {IDEMPOTENCY_KEY_LENGTH_MAX} characters")
    if not entry.reason_code:
        problems.append("reason code is missing")
    if not entry.explanation.strip():
        problems.append("explanation is missing: every movement must say why")
    if len(entry.explanation) > EXPLANATION_LENGTH_MAX:
        problems.append(f"explanation is longer than {EXPLANATION_LENGTH_MAX} characters")
    if not isinstance(entry.booking_date, dt.date) or isinstance(entry.booking_date, dt.datetime):
        problems.append("booking date must be a calendar date")
    if len(entry.postings) < 2:
        problems.append("an entry needs at least two postings")
    if len(entry.postings) > POSTINGS_PER_ENTRY_MAX:
        problems.append(f"an entry has at most {POSTINGS_PER_ENTRY_MAX} postings")
    for index, posting in enumerate(entry.postings):
        amount = posting.amount_cents
        if isinstance(amount, bool) or not isinstance(amount, int):
            problems.append(f"posting {index} amount must be whole cents")
            continue
        if amount == 0:
            problems.append(f"posting {index} ({posting.account.label()}) has amount zero")
        if abs(amount) > AMOUNT_CENTS_MAX:
            problems.append(f"posting {index} amount {amount} cents exceeds the maximum")
    if not problems:
        total = sum(posting.amount_cents for posting in entry.postings)
        if total != 0:
            problems.append(f"postings sum to {total} cents instead of zero")
    return problems


def entry_fingerprint(entry: JournalEntry) -> str:
    """SHA-256 over the entry's canonical content.

    Stored with the entry: a replay with the same key must have the same
    fingerprint, and `ledger check` recomputes it to detect tampering.
    """
    encoded = _canonical_json(entry)
    if encoded is None:
        encoded = canonical_dumps(entry)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def canonical_dumps(entry: JournalEntry) -> str:
    """The definition of the fingerprinted text: `json.dumps` over the canonical dict.
    `_canonical_json` builds the same text faster for plain values."""
    canonical = {
        "key": entry.idempotency_key,
        "date": entry.booking_date.isoformat(),
        "reason": entry.reason_code,
        "explanation": entry.explanation,
        "explanation_en": entry.explanation_en,
        "reverses": entry.reverses_key,
        "metadata": sorted(entry.metadata),
        "postings": sorted(
            (posting.account.label(), posting.amount_cents) for posting in entry.postings
        ),
    }
    return json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _canonical_json(entry: JournalEntry) -> str | None:
    """The text `json.dumps` makes of the canonical form in `entry_fingerprint`, built
    directly (the daily cycle fingerprints ~10 entries per participant). None when a
    value is not a plain str (encode_basestring refuses it) or int: the caller then
    uses json.dumps. Byte-identical: tests/ledger/test_fingerprint.py."""
    try:
        metadata = ",".join(
            [f"[{_json_text(key)},{_json_text(value)}]" for key, value in sorted(entry.metadata)]
        )
        postings = []
        for label, amount in sorted(
            (posting.account.label(), posting.amount_cents) for posting in entry.postings
        ):
            if type(amount) is not int:
                return None
            postings.append(f"[{_json_text(label)},{amount}]")
        reverses = "null" if entry.reverses_key is None else _json_text(entry.reverses_key)
        return (
            f'{{"date":{_json_text(entry.booking_date.isoformat())},'
            f'"explanation":{_json_text(entry.explanation)},'
            f'"explanation_en":{_json_text(entry.explanation_en)},'
            f'"key":{_json_text(entry.idempotency_key)},'
            f'"metadata":[{metadata}],"postings":[{",".join(postings)}],'
            f'"reason":{_json_text(entry.reason_code)},"reverses":{reverses}}}'
        )
    except (TypeError, ValueError):  # not str, or metadata items that are not pairs
        return None


def reverse(
    entry: JournalEntry,
    *,
    booking_date: dt.date,
    explanation: str,
    explanation_en: str = "",
    idempotency_key: str | None = None,
) -> JournalEntry:
    """The correcting entry: every posting negated, pointing back at `entry`."""
    if entry.reverses_key is not None:
        raise LedgerError(
            f"entry {entry.idempotency_key!r} is itself a reversal; book a new entry instead"
        )
    return JournalEntry(
        idempotency_key=idempotency_key or f"reversal:{entry.idempotency_key}",
        booking_date=booking_date,
        reason_code=f"{entry.reason_code}.reversal",
        explanation=explanation,
        explanation_en=explanation_en,
        postings=tuple(Posting(p.account, -p.amount_cents) for p in entry.postings),
        reverses_key=entry.idempotency_key,
    )
