"""Pseudonymised export for policy reporting (beleidsinformatie).

One row per change to a participant's pot: who (a pseudonym), when (booking date),
why (reason code, never the explanation text, which may name people), which pot,
how much, and the participation's status and dates. No names, BSNs, IBANs, free
text or internal ids.

The pseudonym is HMAC-SHA256(export key, participant id): stable across exports
made with the same key, so a recipient can follow a participant over time; exports
made with different keys cannot be joined. Each participant included is recorded
in the access log (activity "beleidsinformatie").
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import JournalEntryRecord, LedgerAccount, Participant, PostingRecord
from backend.privacy_store.access_log import note_access
from ledger import AccountKind, AccountRef, holding_cents
from privacy.activities import POLICY_REPORTING
from privacy.pseudonyms import household_pseudonym, participant_pseudonym

RESOURCE = "cli:privacy export"
FORMATS = ("csv", "json")
COLUMNS = (
    "participant",
    "household",
    "participation_status",
    "participation_started_on",
    "participation_ended_on",
    "booking_date",
    "reason_code",
    "pot",
    "amount_cents",
)
ROWS_PER_QUERY = 5_000
ROWS_MAX = 50_000_000


@dataclass(frozen=True, slots=True)
class ExportSummary:
    key_id: str
    file: str
    file_format: str
    rows: int
    participants: int
    sha256: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "file": self.file,
            "format": self.file_format,
            "rows": self.rows,
            "participants": self.participants,
            "sha256": self.sha256,
        }


def _rows(session: Session, key: bytes, seen: set[int]) -> Iterator[dict[str, Any]]:
    people = {
        participant_id: (household_id, status, started_on, ended_on)
        for participant_id, household_id, status, started_on, ended_on in session.execute(
            select(
                Participant.id,
                Participant.household_id,
                Participant.status,
                Participant.started_on,
                Participant.ended_on,
            )
        )
    }
    after = 0
    emitted = 0
    while True:
        batch = session.execute(
            select(
                PostingRecord.id,
                PostingRecord.amount_cents,
                LedgerAccount.participant_id,
                LedgerAccount.kind,
                JournalEntryRecord.booking_date,
                JournalEntryRecord.reason_code,
            )
            .join(LedgerAccount, LedgerAccount.id == PostingRecord.account_id)
            .join(JournalEntryRecord, JournalEntryRecord.id == PostingRecord.journal_entry_id)
            .where(LedgerAccount.participant_id.is_not(None), PostingRecord.id > after)
            .order_by(PostingRecord.id)
            .limit(ROWS_PER_QUERY)
        ).all()
        for posting_id, amount, owner, kind, booking_date, reason_code in batch:
            after = posting_id
            assert owner is not None  # the query only selects participants' accounts
            participant_id = owner
            household_id, status, started_on, ended_on = people[participant_id]
            seen.add(participant_id)
            emitted += 1
            if emitted > ROWS_MAX:
                raise ValueError(f"an export holds at most {ROWS_MAX} rows")
            yield {
                "participant": participant_pseudonym(key, participant_id),
                "household": household_pseudonym(key, household_id),
                "participation_status": status,
                "participation_started_on": started_on.isoformat(),
                "participation_ended_on": ended_on.isoformat() if ended_on else "",
                "booking_date": booking_date.isoformat(),
                "reason_code": reason_code,
                "pot": kind,
                "amount_cents": holding_cents(
                    AccountRef.of_participant(participant_id, AccountKind(kind)), amount
                ),
            }
        if len(batch) < ROWS_PER_QUERY:
            return


def _write_csv(handle: IO[str], rows: Iterator[dict[str, Any]]) -> int:
    writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count


def _write_json(handle: IO[str], rows: Iterator[dict[str, Any]], key_id: str) -> int:
    handle.write('{"key_id": ' + json.dumps(key_id) + ', "columns": ')
    handle.write(json.dumps(list(COLUMNS)) + ', "rows": [')
    count = 0
    for row in rows:
        handle.write(("," if count else "") + "\n  " + json.dumps(row, sort_keys=True))
        count += 1
    handle.write("\n]}\n")
    return count


def export_pseudonymised(
    session: Session,
    *,
    key: bytes,
    key_id: str,
    path: Path,
    file_format: str,
    actor_user_id: int | None = None,
) -> ExportSummary:
    """Write the export to `path` (replacing it) and note each participant in the access log."""
    if file_format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    seen: set[int] = set()
    temporary = path.with_name(path.name + ".partial")
    with temporary.open("w", encoding="utf-8", newline="") as handle:
        rows = _rows(session, key, seen)
        count = (
            _write_csv(handle, rows) if file_format == "csv" else _write_json(handle, rows, key_id)
        )
    temporary.replace(path)
    for participant_id in sorted(seen):
        note_access(
            session,
            actor_user_id=actor_user_id,
            actor_role="privacy_officer" if actor_user_id is not None else "system",
            participant_id=participant_id,
            resource=RESOURCE,
            operation="read",
            activity=POLICY_REPORTING,
        )
    return ExportSummary(
        key_id=key_id,
        file=str(path),
        file_format=file_format,
        rows=count,
        participants=len(seen),
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
    )
