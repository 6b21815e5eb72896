"""Households and participants. The BSN is checked with the 11-proef, stored
encrypted, and found through its blind index only."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import Conflict, NotFound
from backend.iban import validate_iban
from backend.ledger_store.accounts import resolve_account_ids
from backend.models import Household, Participant
from ledger import PARTICIPANT_ACCOUNT_KINDS, AccountRef
from privacy import FieldCipher, validate_bsn

BSN_CONTEXT = "participant.bsn"


def create_household(
    session: Session, *, name: str, adults: int | None = None, children: int | None = None
) -> Household:
    household = Household(name=name, adults=adults, children=children)
    session.add(household)
    session.flush()
    return household


def create_participant(
    session: Session,
    cipher: FieldCipher,
    *,
    household_id: int,
    display_name: str,
    bsn: str,
    own_iban: str | None,
    started_on: dt.date,
) -> Participant:
    digits = validate_bsn(bsn)
    index = cipher.blind_index(digits, context=BSN_CONTEXT)
    if session.scalar(select(Participant.id).where(Participant.bsn_index == index)) is not None:
        raise Conflict("a participant with this BSN already exists")
    if session.get(Household, household_id) is None:
        raise NotFound(f"household {household_id} does not exist")
    participant = Participant(
        household_id=household_id,
        display_name=display_name,
        bsn_encrypted=cipher.encrypt(digits, context=BSN_CONTEXT),
        bsn_index=index,
        own_iban=validate_iban(own_iban, field="own_iban") if own_iban else None,
        status="active",
        started_on=started_on,
    )
    session.add(participant)
    session.flush()
    resolve_account_ids(
        session,
        [AccountRef.of_participant(participant.id, kind) for kind in PARTICIPANT_ACCOUNT_KINDS],
    )
    return participant


def find_participant_by_bsn(session: Session, cipher: FieldCipher, bsn: str) -> Participant | None:
    index = cipher.blind_index(validate_bsn(bsn), context=BSN_CONTEXT)
    return session.scalar(select(Participant).where(Participant.bsn_index == index))


def reveal_bsn(cipher: FieldCipher, participant: Participant) -> str:
    return cipher.decrypt(participant.bsn_encrypted, context=BSN_CONTEXT)
