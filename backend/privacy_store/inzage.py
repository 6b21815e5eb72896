"""Inzage (AVG art. 15): everything held about one participant, in one document.

Built from the database itself (backend.privacy_store.schema), so a table a
feature package adds later (plan versions, alerts, payment instructions, app
messages, ...) shows up without a change here. Left out: secrets (password and
token hashes, the BSN ciphertext and blind index, SEPA file bytes) and rows a
table marks as internal (a boolean `internal` / `is_internal` column, or
`visibility = 'internal'`).

The BSN is shown decrypted only to the participant themself; the privacy officer
handling a request sees that it is held, not the number.

Who may ask is decided by the policy layer (ensure_can_see_inzage); this module
only builds the document.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from backend.models import Household, Participant, UserAccount
from backend.participants.history import MOVEMENTS_PER_PAGE_MAX, participant_movements
from backend.participants.service import BSN_CONTEXT
from backend.privacy_store.access_log import entries_about
from backend.privacy_store.schema import ParticipantTable, participant_tables
from ledger import PARTICIPANT_ACCOUNT_KINDS, AccountRef, holding_cents
from privacy.activities import activity_name
from privacy.fields import FieldCipher, FieldCipherError, is_tombstone

ROWS_PER_TABLE_MAX = 5_000
MOVEMENTS_MAX = 20_000
ACCESS_ENTRIES_MAX = 10_000
SECRET_COLUMNS = frozenset(
    {
        "password_hash",
        "token_hash",
        "family_id",
        "bsn_encrypted",
        "bsn_index",
        "file_bytes",
        "previous_hash",
        "record_hash",
    }
)
INTERNAL_FLAGS = ("internal", "is_internal")
# Shown elsewhere in the document (person, ledger, access log).
OWN_SECTIONS = frozenset(
    {"access_log", "ledger_account", "ledger_account_balance", "posting", "user_account"}
)

TITLES = {
    "agreement": "Afspraken (inkomsten en vaste lasten)",
    "alert": "Signalen",
    "autonomy_step": "Stappen naar zelf doen",
    "app_message": "Berichten in de app",
    "caseload_assignment": "Uw budgetcoach",
    "cycle_state": "Tussenstand van de dagelijkse verwerking (technisch)",
    "emergency_request": "Noodknop",
    "income_expectation": "Verwacht inkomen",
    "insight_setting": "Inzicht in uitgaven: uw keuzes (huishouden, delen)",
    "life_event": "Levensgebeurtenissen",
    "note": "Notities",
    "notes": "Notities",
    "payment_instruction": "Betaalopdrachten",
    "plan_version": "Plannen (alle versies)",
    "proposal": "Voorstellen",
    "proposal_event": "Geschiedenis van voorstellen",
    "pseudonymisation": "Pseudonimisering",
    "refresh_token": "Inlogsessies",
    "savings_goal": "Spaardoelen",
    "savings_movement": "Geld opzij gezet en teruggehaald",
    "self_payment_confirmation": "Rekeningen die u zelf betaalt: bevestigd betaald",
    "spending_category": "Inzicht in uitgaven: uw eigen soorten",
    "spending_note": "Inzicht in uitgaven: wat u opschreef",
}
ROLE_NAMES = {
    "participant": "uzelf",
    "household_member": "iemand uit uw huishouden",
    "caseworker": "budgetcoach",
    "finance": "financieel medewerker",
    "privacy_officer": "functionaris gegevensbescherming",
    "admin": "beheerder",
    "system": "het systeem",
}


def json_value(value: Any) -> Any:
    """A database value as JSON: dates as ISO text, bytes left out (None)."""
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return None
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(item) for item in value]
    return value


def _internal(row: dict[str, Any]) -> bool:
    if any(bool(row.get(flag)) for flag in INTERNAL_FLAGS):
        return True
    return row.get("visibility") == "internal"


def _people_columns(table: Table) -> list[str]:
    """Columns that point at an account: shown with that person's name as well."""
    return [
        key.parent.name
        for key in table.foreign_keys
        if key.column.table.name == "user_account" and key.column.name == "id"
    ]


def _section(
    session: Session, ptable: ParticipantTable, participant_id: int, names: dict[int, str]
) -> dict[str, Any]:
    table = ptable.table
    columns = [column for column in table.columns if column.name not in SECRET_COLUMNS]
    flags = [name for name in (*INTERNAL_FLAGS, "visibility") if name in table.c]
    order = list(table.primary_key.columns) or columns[:1]
    query = (
        select(
            *columns, *(table.c[name] for name in flags if name not in {c.name for c in columns})
        )
        .where(ptable.of(participant_id))
        .order_by(*order)
        .limit(ROWS_PER_TABLE_MAX + 1)
    )
    people = _people_columns(table)
    rows: list[dict[str, Any]] = []
    hidden = 0
    fetched = session.execute(query).all()
    for row in fetched[:ROWS_PER_TABLE_MAX]:
        record = dict(row._mapping)
        if _internal(record):
            hidden += 1
            continue
        shown = {column.name: json_value(record[column.name]) for column in columns}
        for column in people:
            user_id = record.get(column)
            if user_id is not None:
                shown[f"{column}_name"] = names.get(int(user_id), f"account {user_id}")
        rows.append(shown)
    return {
        "table": table.name,
        "title": TITLES.get(table.name, table.name.replace("_", " ")),
        "rows": rows,
        "truncated": len(fetched) > ROWS_PER_TABLE_MAX,
        "internal_rows_left_out": hidden,
    }


def _names(session: Session) -> dict[int, str]:
    return {
        int(user_id): str(name)
        for user_id, name in session.execute(select(UserAccount.id, UserAccount.display_name))
    }


def _ledger(session: Session, participant_id: int) -> dict[str, Any]:
    from backend.ledger_store import account_balances

    raw = account_balances(session, participant_id=participant_id)
    balances = {
        str(kind): holding_cents(
            AccountRef.of_participant(participant_id, kind),
            raw.get(AccountRef.of_participant(participant_id, kind), 0),
        )
        for kind in PARTICIPANT_ACCOUNT_KINDS
    }
    movements: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(movements) < MOVEMENTS_MAX:
        page = participant_movements(
            session, participant_id, limit=MOVEMENTS_PER_PAGE_MAX, cursor=cursor
        )
        movements.extend(
            {
                "entry_id": movement.entry_id,
                "booking_date": movement.booking_date.isoformat(),
                "reason_code": movement.reason_code,
                "explanation": movement.explanation,
                "reverses_entry_id": movement.reverses_entry_id,
                "changes": {
                    str(change.account_kind): change.change_cents for change in movement.changes
                },
            }
            for movement in page.movements
        )
        cursor = page.next_cursor
        if cursor is None:
            break
    return {
        "balances_cents": balances,
        "movements": movements[:MOVEMENTS_MAX],
        "truncated": cursor is not None,
    }


def _access_log(
    session: Session, participant_id: int, names: dict[int, str], own_user_id: int | None
) -> dict[str, Any]:
    records = entries_about(session, participant_id, limit=ACCESS_ENTRIES_MAX + 1)
    entries = []
    for record in records[:ACCESS_ENTRIES_MAX]:
        if record.actor_user_id is None:
            who = "het systeem"
        elif record.actor_user_id == own_user_id:
            who = "uzelf"
        else:
            who = names.get(record.actor_user_id, f"account {record.actor_user_id}")
        entries.append(
            {
                "sequence": record.sequence,
                "when": record.occurred_at.isoformat(),
                "who": who,
                "actor_user_id": record.actor_user_id,
                "role": record.actor_role,
                "role_name": ROLE_NAMES.get(record.actor_role, record.actor_role),
                "what": record.resource,
                "operation": record.operation,
                "why": activity_name(record.processing_activity),
                "processing_activity": record.processing_activity,
                "trace_id": record.trace_id,
            }
        )
    return {"entries": entries, "truncated": len(records) > ACCESS_ENTRIES_MAX}


def _bsn(cipher: FieldCipher, participant: Participant, *, for_self: bool) -> dict[str, Any]:
    if is_tombstone(participant.bsn_encrypted):
        return {"held": False, "value": None, "note": "verwijderd bij pseudonimisering"}
    if not for_self:
        return {
            "held": True,
            "value": None,
            "note": "het BSN wordt alleen aan de deelnemer zelf getoond",
        }
    try:
        value: str | None = cipher.decrypt(participant.bsn_encrypted, context=BSN_CONTEXT)
    except FieldCipherError:
        value = None
    return {"held": True, "value": value, "note": None}


def build_inzage(
    session: Session,
    cipher: FieldCipher,
    participant: Participant,
    *,
    for_self: bool,
    now: dt.datetime,
) -> dict[str, Any]:
    """The whole document as JSON-ready data."""
    names = _names(session)
    account = session.scalar(
        select(UserAccount).where(UserAccount.participant_id == participant.id)
    )
    household = session.get(Household, participant.household_id)
    records = [
        _section(session, ptable, participant.id, names)
        for ptable in participant_tables(session)
        if ptable.name not in OWN_SECTIONS
    ]
    return {
        "about": (
            "Dit zijn alle gegevens die het budgetbeheer van de gemeente over u heeft "
            "vastgelegd, en wie ze wanneer en waarom heeft ingezien (AVG artikel 15)."
        ),
        "generated_at": now.isoformat(),
        "participant_id": participant.id,
        "person": {
            "id": participant.id,
            "name": participant.display_name,
            "bsn": _bsn(cipher, participant, for_self=for_self),
            "own_iban": participant.own_iban,
            "household": {
                "id": participant.household_id,
                "name": household.name if household is not None else None,
                "adults": household.adults if household is not None else None,
                "children": household.children if household is not None else None,
            },
            "status": participant.status,
            "started_on": json_value(participant.started_on),
            "ended_on": json_value(participant.ended_on),
            "created_at": json_value(participant.created_at),
            "account": None
            if account is None
            else {
                "username": account.username,
                "display_name": account.display_name,
                "roles": list(account.roles or []),
                "active": account.active,
                "login_with": "DigiD / OpenID Connect"
                if account.external_subject
                else ("wachtwoord" if account.password_hash else "geen"),
                "created_at": json_value(account.created_at),
                "last_login_at": json_value(account.last_login_at),
            },
        },
        "ledger": _ledger(session, participant.id),
        "records": records,
        "access_log": _access_log(
            session, participant.id, names, account.id if account is not None else None
        ),
    }


def inzage_filename(participant_id: int, now: dt.datetime, extension: str) -> str:
    return f"inzage-deelnemer-{participant_id}-{now:%Y%m%d}.{extension}"
