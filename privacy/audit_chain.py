"""The access log's hash chain (pure).

Every access-log record carries the hash of the record before it and its own
hash over (its position, its content, that previous hash). Editing a record
changes its hash, so the next record no longer links to it; deleting a record
leaves a gap in the positions. `ChainVerifier` walks the records in order and
names the first one that does not fit.

A chain alone cannot notice that someone rewrote it from some point to the end,
or cut off its tail: anchors close that gap. An anchor is (sequence, hash) of a
record, copied out of the database (the daily `audit verify` prints the head);
`ChainVerifier(anchors=...)` checks that those records still have those hashes
and that the chain still reaches them.

The hash is SHA-256 over a canonical JSON document, so any auditor can recompute
it with nothing but the rows: no key is needed to verify.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

GENESIS_HASH = "0" * 64
CHAIN_VERSION = 1

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
_OPERATION_ID = re.compile(r"^[0-9a-f]{16}$")
TEXT_LENGTH_MAX = 200
OPERATIONS = ("read", "change")


class ChainError(ValueError):
    """A record that cannot be part of the chain (programmer error: bad field)."""


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """One processing of one participant's data, after the Logboek Dataverwerkingen.

    sequence: position in the chain, 1, 2, 3, ... (gap-free).
    occurred_at: when (timezone-aware; hashed as UTC with microseconds).
    actor_user_id: who (the account); None for the system itself (a scheduled job).
    actor_role: in which role (participant, caseworker, finance, privacy_officer, system).
    participant_id: whose data (the data subject), as an internal id, never a name or BSN.
    resource: what (e.g. the API route template, "cli:privacy retention").
    operation: "read" or "change".
    processing_activity: why (an id from privacy.activities, e.g. "budgetbeheer").
    trace_id: 32 hex characters (W3C trace context), links records of one request.
    operation_id: 16 hex characters, the span within the trace.
    """

    sequence: int
    occurred_at: dt.datetime
    actor_user_id: int | None
    actor_role: str
    participant_id: int
    resource: str
    operation: str
    processing_activity: str
    trace_id: str
    operation_id: str

    def __post_init__(self) -> None:
        if self.sequence < 1:
            raise ChainError("sequence starts at 1")
        if self.occurred_at.tzinfo is None:
            raise ChainError("occurred_at must be timezone-aware")
        if self.operation not in OPERATIONS:
            raise ChainError(f"operation must be one of {', '.join(OPERATIONS)}")
        if not _TRACE_ID.match(self.trace_id):
            raise ChainError("trace_id must be 32 lowercase hex characters")
        if not _OPERATION_ID.match(self.operation_id):
            raise ChainError("operation_id must be 16 lowercase hex characters")
        for name in ("actor_role", "resource", "processing_activity"):
            value: str = getattr(self, name)
            if not value or len(value) > TEXT_LENGTH_MAX:
                raise ChainError(f"{name} must be 1 to {TEXT_LENGTH_MAX} characters")


def timestamp_text(moment: dt.datetime) -> str:
    """The hashed form of a timestamp: UTC, microseconds, always the same length."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(entry: AccessEntry, previous_hash: str) -> bytes:
    document: Mapping[str, object] = {
        "v": CHAIN_VERSION,
        "sequence": entry.sequence,
        "occurred_at": timestamp_text(entry.occurred_at),
        "actor_user_id": entry.actor_user_id,
        "actor_role": entry.actor_role,
        "participant_id": entry.participant_id,
        "resource": entry.resource,
        "operation": entry.operation,
        "processing_activity": entry.processing_activity,
        "trace_id": entry.trace_id,
        "operation_id": entry.operation_id,
        "previous_hash": previous_hash,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode(
        "ascii"
    )


def entry_hash(entry: AccessEntry, previous_hash: str) -> str:
    if not _HEX64.match(previous_hash):
        raise ChainError("previous_hash must be 64 lowercase hex characters")
    return hashlib.sha256(canonical_bytes(entry, previous_hash)).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainLink:
    """A stored record: the entry, the hash it says comes before it, and its own hash."""

    entry: AccessEntry
    previous_hash: str
    record_hash: str


def link(entry: AccessEntry, previous: ChainLink | None) -> ChainLink:
    """The next link: `entry` appended after `previous` (None: the first record)."""
    expected_sequence = 1 if previous is None else previous.entry.sequence + 1
    if entry.sequence != expected_sequence:
        raise ChainError(f"the next record must have sequence {expected_sequence}")
    previous_hash = GENESIS_HASH if previous is None else previous.record_hash
    return ChainLink(entry, previous_hash, entry_hash(entry, previous_hash))


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first record that does not fit, and why (no content of the record)."""

    sequence: int
    record_id: int | None
    reason: str

    def describe(self) -> str:
        where = f"record {self.sequence}"
        if self.record_id is not None:
            where += f" (id {self.record_id})"
        return f"{where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Anchor:
    """A (sequence, hash) pair kept outside the database."""

    sequence: int
    record_hash: str

    @classmethod
    def parse(cls, text: str) -> Anchor:
        """'1234:ab12...' (the form `audit verify` prints as its head)."""
        sequence_text, _, hash_text = text.strip().partition(":")
        if not sequence_text.isdigit() or not _HEX64.match(hash_text):
            raise ChainError("an anchor looks like SEQUENCE:HASH (64 hex characters)")
        return cls(int(sequence_text), hash_text)

    def __str__(self) -> str:
        return f"{self.sequence}:{self.record_hash}"


@dataclass
class ChainVerifier:
    """Feed the records in sequence order (in batches, any size); the first break sticks.

    verifier = ChainVerifier()
    for link, record_id in rows: if verifier.feed(link, record_id): break
    result = verifier.finish()
    """

    anchors: tuple[Anchor, ...] = ()
    checked: int = 0
    head: Anchor | None = None
    broken: ChainBreak | None = None
    _anchors_by_sequence: dict[int, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._anchors_by_sequence = {anchor.sequence: anchor.record_hash for anchor in self.anchors}

    def feed(self, chain_link: ChainLink, record_id: int | None = None) -> ChainBreak | None:
        """Check one record; returns the break (also on later calls) once there is one."""
        if self.broken is not None:
            return self.broken
        entry = chain_link.entry
        expected_sequence = 1 if self.head is None else self.head.sequence + 1
        expected_previous = GENESIS_HASH if self.head is None else self.head.record_hash
        reason: str | None = None
        if entry.sequence != expected_sequence:
            reason = (
                f"expected record {expected_sequence} here; "
                f"records {expected_sequence} to {entry.sequence - 1} are missing"
                if entry.sequence > expected_sequence
                else f"sequence {entry.sequence} repeats or goes back"
            )
        elif chain_link.previous_hash != expected_previous:
            reason = "its previous_hash does not match the record before it"
        elif entry_hash(entry, chain_link.previous_hash) != chain_link.record_hash:
            reason = "its content does not match its hash (the record was changed)"
        elif (
            entry.sequence in self._anchors_by_sequence
            and self._anchors_by_sequence[entry.sequence] != chain_link.record_hash
        ):
            reason = "its hash differs from the anchor kept outside the database"
        if reason is not None:
            self.broken = ChainBreak(entry.sequence, record_id, reason)
            return self.broken
        self.checked += 1
        self.head = Anchor(entry.sequence, chain_link.record_hash)
        return None

    def finish(self) -> ChainBreak | None:
        """The first break, including anchors the chain no longer reaches."""
        if self.broken is not None:
            return self.broken
        reached = self.head.sequence if self.head is not None else 0
        beyond = sorted(sequence for sequence in self._anchors_by_sequence if sequence > reached)
        if beyond:
            self.broken = ChainBreak(
                beyond[0],
                None,
                f"the chain ends at record {reached}, but an anchor names record {beyond[0]} "
                "(records were removed from the end)",
            )
        return self.broken
