"""The access log's hash chain, as pure functions: any edit, deletion, insertion or
reordering is found, and named by its record."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privacy.audit_chain import (
    GENESIS_HASH,
    AccessEntry,
    Anchor,
    ChainError,
    ChainLink,
    ChainVerifier,
    entry_hash,
    link,
)

START = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)


def entry(sequence: int, **changes: object) -> AccessEntry:
    fields: dict[str, object] = {
        "sequence": sequence,
        "occurred_at": START + dt.timedelta(seconds=sequence),
        "actor_user_id": 3,
        "actor_role": "caseworker",
        "participant_id": 1,
        "resource": "/api/participants/{participant_id}/balances",
        "operation": "read",
        "processing_activity": "budgetbeheer",
        "trace_id": f"{sequence:032x}",
        "operation_id": f"{sequence:016x}",
    }
    fields.update(changes)
    return AccessEntry(**fields)  # type: ignore[arg-type]


def chain(length: int) -> list[ChainLink]:
    links: list[ChainLink] = []
    for sequence in range(1, length + 1):
        links.append(link(entry(sequence), links[-1] if links else None))
    return links


def verify(links: list[ChainLink], anchors: tuple[Anchor, ...] = ()) -> ChainVerifier:
    verifier = ChainVerifier(anchors=anchors)
    for number, item in enumerate(links, start=1):
        verifier.feed(item, record_id=100 + number)
    verifier.finish()
    return verifier


def test_an_untouched_chain_verifies_and_reports_its_head() -> None:
    links = chain(5)
    verifier = verify(links)
    assert verifier.broken is None
    assert verifier.checked == 5
    assert verifier.head == Anchor(5, links[-1].record_hash)
    assert links[0].previous_hash == GENESIS_HASH


def test_an_empty_chain_verifies() -> None:
    assert verify([]).broken is None


def test_changing_one_field_of_one_record_breaks_the_chain_at_that_record() -> None:
    links = chain(5)
    tampered = dataclasses.replace(links[2], entry=entry(3, participant_id=2))
    broken = verify([*links[:2], tampered, *links[3:]]).broken
    assert broken is not None
    assert broken.sequence == 3
    assert broken.record_id == 103
    assert "changed" in broken.reason


def test_rehashing_the_edited_record_breaks_the_link_of_the_next() -> None:
    links = chain(5)
    edited = link(entry(3, actor_user_id=4), links[1])
    broken = verify([*links[:2], edited, *links[3:]]).broken
    assert broken is not None
    assert broken.sequence == 4
    assert "previous_hash" in broken.reason


def test_deleting_a_record_leaves_a_gap() -> None:
    links = chain(5)
    broken = verify([*links[:2], *links[3:]]).broken
    assert broken is not None
    assert broken.sequence == 4
    assert "missing" in broken.reason


def test_a_rewritten_tail_is_caught_by_an_anchor() -> None:
    links = chain(5)
    anchor = Anchor(4, links[3].record_hash)
    rewritten = links[:2]
    for sequence in (3, 4, 5):
        rewritten.append(link(entry(sequence, resource="/elsewhere"), rewritten[-1]))
    assert verify(rewritten).broken is None  # without an anchor, a full rewrite is consistent
    broken = verify(rewritten, (anchor,)).broken
    assert broken is not None and broken.sequence == 4


def test_a_cut_off_tail_is_caught_by_an_anchor() -> None:
    links = chain(5)
    broken = verify(links[:3], (Anchor(5, links[4].record_hash),)).broken
    assert broken is not None
    assert broken.sequence == 5
    assert "removed from the end" in broken.reason


def test_anchor_text_round_trip() -> None:
    anchor = Anchor(12, "ab" * 32)
    assert Anchor.parse(str(anchor)) == anchor
    with pytest.raises(ChainError):
        Anchor.parse("12:nothex")


def test_invalid_entries_are_refused() -> None:
    with pytest.raises(ChainError):
        entry(1, operation="delete")
    with pytest.raises(ChainError):
        entry(1, occurred_at=dt.datetime(2026, 1, 1))  # naive on purpose
    with pytest.raises(ChainError):
        entry(1, trace_id="not-a-trace")
    with pytest.raises(ChainError):
        link(entry(2), None)


def test_the_hash_does_not_depend_on_the_timezone_it_was_written_in() -> None:
    cet = dt.timezone(dt.timedelta(hours=1))
    moment = START.astimezone(cet)
    assert entry_hash(entry(1, occurred_at=moment), GENESIS_HASH) == entry_hash(
        entry(1, occurred_at=START), GENESIS_HASH
    )


FIELDS = st.sampled_from(
    ["actor_user_id", "actor_role", "participant_id", "resource", "processing_activity"]
)


@given(length=st.integers(1, 12), data=st.data(), field=FIELDS)
def test_any_single_edit_anywhere_is_found_at_its_record(
    length: int, data: st.DataObject, field: str
) -> None:
    links = chain(length)
    position = data.draw(st.integers(0, length - 1))
    original = links[position].entry
    value: object = getattr(original, field)
    changed = value + 1 if isinstance(value, int) else f"{value}x"
    links[position] = dataclasses.replace(
        links[position], entry=dataclasses.replace(original, **{field: changed})
    )
    broken = verify(links).broken
    assert broken is not None
    assert broken.sequence == position + 1
