"""Key rotation: every BSN is re-encrypted under the new key, batch by batch, while
reads keep working with the old key configured; afterwards the old key can go."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.config import DEMO_FIELD_KEY, Settings
from backend.demo.seed import DEMO_PARTICIPANTS
from backend.models import Participant
from backend.participants.service import find_participant_by_bsn, reveal_bsn
from backend.privacy_store.rotation import PROTECTED_COLUMNS, rotate_batch, values_by_key_id
from privacy.fields import key_id_of, new_key_text
from tests.privacy.conftest import Cli, Demo, sqlite_database_url

NEW_KEY = new_key_text()

# Nothing here depends on the database kind: SQLite only, for speed.
database_url = pytest.fixture(sqlite_database_url)


def rotated_settings(database_url: str, *, keep_old: bool = True) -> Settings:
    return Settings(
        database_url=database_url,
        demo=True,
        field_key=NEW_KEY,
        field_key_id="k2",
        field_old_keys=json.dumps({"k1": DEMO_FIELD_KEY}) if keep_old else None,
    )


def key_ids(session_factory: sessionmaker[Session]) -> list[str | None]:
    with session_factory() as session:
        return [
            key_id_of(token)
            for token in session.scalars(select(Participant.bsn_encrypted).order_by(Participant.id))
        ]


def test_reads_keep_working_halfway_through_a_rotation(
    demo: Demo, database_url: str, session_factory: sessionmaker[Session]
) -> None:
    assert key_ids(session_factory) == ["k1", "k1", "k1"]
    cipher = rotated_settings(database_url).field_cipher()
    with session_factory() as session, session.begin():
        first = rotate_batch(session, cipher, PROTECTED_COLUMNS[0], after_id=0, batch_rows=1)
    assert first.rotated == 1
    assert key_ids(session_factory) == ["k2", "k1", "k1"]
    with session_factory() as session:
        for seeded in DEMO_PARTICIPANTS:
            participant = find_participant_by_bsn(session, cipher, seeded.bsn)
            assert participant is not None
            assert reveal_bsn(cipher, participant) == seeded.bsn


def test_rotate_keys_round_trip(
    demo: Demo, cli: Cli, database_url: str, session_factory: sessionmaker[Session]
) -> None:
    env = {
        "HUISHOUDBOEKJE_FIELD_KEY": NEW_KEY,
        "HUISHOUDBOEKJE_FIELD_KEY_ID": "k2",
        "HUISHOUDBOEKJE_FIELD_OLD_KEYS": json.dumps({"k1": DEMO_FIELD_KEY}),
    }
    result = cli("privacy", "rotate-keys", "--batch-size", "2", "--json", env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["rotated"], report["batches"], report["ok"]) == (3, 2, True)
    assert report["values_by_key_id"]["participant.bsn_encrypted"]["k1"] == 0
    assert key_ids(session_factory) == ["k2", "k2", "k2"]
    again = json.loads(cli("privacy", "rotate-keys", "--json", env=env).output)
    assert again["rotated"] == 0
    # The old key is no longer needed: reads work with the new key alone.
    cipher = rotated_settings(database_url, keep_old=False).field_cipher()
    with session_factory() as session:
        for seeded in DEMO_PARTICIPANTS:
            participant = find_participant_by_bsn(session, cipher, seeded.bsn)
            assert participant is not None
            assert reveal_bsn(cipher, participant) == seeded.bsn
        assert values_by_key_id(session, cipher)["participant.bsn_encrypted"]["k2"] == 3


def test_a_value_under_an_unconfigured_key_is_reported_without_the_value(
    demo: Demo, cli: Cli
) -> None:
    env = {"HUISHOUDBOEKJE_FIELD_KEY": NEW_KEY, "HUISHOUDBOEKJE_FIELD_KEY_ID": "k2"}
    result = cli("privacy", "rotate-keys", "--json", env=env)
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert len(report["failed"]) == 3
    assert "'k1'" in report["failed"][0]["reason"]
    for seeded in DEMO_PARTICIPANTS:
        assert seeded.bsn not in result.output
