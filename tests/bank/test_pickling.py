"""Entries cross from the reading process to the importer pickled
(backend.bank.background): what arrives must be the entry that was read, every field
(the source line too, which equality leaves out)."""

from __future__ import annotations

import dataclasses
import pickle

from backend.bank import read_statement_file
from tests.bank.fixture_paths import CAMT_02, CAMT_08, FRIDAY, MONDAY


def test_pickled_entries_arrive_with_every_field() -> None:
    entries = [
        entry
        for path in (CAMT_02 / f"{FRIDAY}.xml", CAMT_08 / f"{MONDAY}.xml")
        for statement in read_statement_file(path)
        for entry in (*statement.entries, *statement.skipped_entries)
    ]
    assert any(len(entry.transactions) > 1 for entry in entries)  # a batch among them
    for protocol in (2, pickle.HIGHEST_PROTOCOL):
        arrived = pickle.loads(pickle.dumps(entries, protocol=protocol))
        assert [dataclasses.astuple(entry) for entry in arrived] == [
            dataclasses.astuple(entry) for entry in entries
        ]
        assert [entry.line for entry in arrived] == [entry.line for entry in entries]
        assert [type(entry) for entry in arrived] == [type(entry) for entry in entries]
