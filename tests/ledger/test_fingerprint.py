"""The fingerprint's shortcut (built text instead of json.dumps) is byte-identical:
`ledger check` recomputes the fingerprints stored for existing entries, so one
changed byte would report every stored entry as tampered."""

from __future__ import annotations

import datetime as dt
import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import AccountKind, AccountRef, JournalEntry, Posting, entry_fingerprint
from ledger.accounts import PARTICIPANT_ACCOUNT_KINDS
from ledger.journal import _canonical_json, canonical_dumps


def reference_fingerprint(entry: JournalEntry) -> str:
    """The definition (json.dumps over the canonical dict), never the fast text."""
    return hashlib.sha256(canonical_dumps(entry).encode("utf-8")).hexdigest()


# Everything JSON escapes or treats specially: quotes, backslashes, control
# characters, non-ASCII, surrogate-free astral characters, line separators.
TRICKY = st.text(
    alphabet=st.sampled_from("aZ09 \"\\/\n\t\r\b\f\x00\x1f\x7f€éñ中\u2028\u2029😀<>&'"),
    min_size=1,
    max_size=30,
).filter(lambda text: text.strip() != "")


@st.composite
def entries(draw: st.DrawFn) -> JournalEntry:
    amounts = draw(st.lists(st.integers(1, 10**8), min_size=1, max_size=4))
    participant = draw(st.integers(1, 10**6))
    kinds = list(PARTICIPANT_ACCOUNT_KINDS)
    postings = [
        Posting(AccountRef.of_participant(participant, draw(st.sampled_from(kinds))), amount)
        for amount in amounts
    ]
    postings.append(Posting(AccountRef.bank("NL84BNGH0285050123"), -sum(amounts)))
    return JournalEntry(
        idempotency_key=draw(TRICKY),
        booking_date=draw(st.dates(dt.date(1900, 1, 1), dt.date(2200, 12, 31))),
        reason_code=draw(TRICKY),
        explanation=draw(TRICKY),
        explanation_en=draw(st.one_of(st.just(""), TRICKY)),
        postings=tuple(postings),
        reverses_key=draw(st.one_of(st.none(), TRICKY)),
        metadata=tuple(sorted(draw(st.dictionaries(TRICKY, TRICKY, max_size=4)).items())),
    )


@settings(max_examples=300)
@given(entries())
def test_fingerprint_is_byte_identical_to_the_json_definition(entry: JournalEntry) -> None:
    assert _canonical_json(entry) is not None  # the shortcut is really taken
    assert entry_fingerprint(entry) == reference_fingerprint(entry)


def test_values_the_shortcut_does_not_handle_fall_back_to_json() -> None:
    entry = JournalEntry(
        idempotency_key="k",
        booking_date=dt.date(2026, 11, 1),
        reason_code="r",
        explanation="Uitleg.",
        postings=(
            Posting(AccountRef.of_participant(1, AccountKind.AVAILABLE), 5),
            Posting(AccountRef.of_participant(1, AccountKind.BUFFER), -5),
        ),
        metadata=(("count", 3), ("note", "ok")),  # type: ignore[arg-type]
    )
    assert _canonical_json(entry) is None
    # The definition's text, written out: the number stays a JSON number.
    expected = (
        '{"date":"2026-11-01","explanation":"Uitleg.","explanation_en":"","key":"k",'
        '"metadata":[["count",3],["note","ok"]],"postings":[["participant:1:available",5],'
        '["participant:1:buffer",-5]],"reason":"r","reverses":null}'
    )
    assert entry_fingerprint(entry) == hashlib.sha256(expected.encode()).hexdigest()


def test_a_known_fingerprint_never_changes() -> None:
    """Pinned: a fingerprint stored years ago must still match."""
    entry = JournalEntry(
        idempotency_key="import:NL84BNGH0285050123:REF-1",
        booking_date=dt.date(2026, 10, 25),
        reason_code="income.matched",
        explanation="Loon van oktober ontvangen (€ 1.312,50).",
        explanation_en="October wages received.",
        postings=(
            Posting(AccountRef.bank("NL84BNGH0285050123"), 131250),
            Posting(AccountRef.of_participant(7, AccountKind.AVAILABLE), -131250),
        ),
        metadata=(("agreement_id", "loon"), ("expected_date", "2026-10-25")),
    )
    assert entry_fingerprint(entry) == reference_fingerprint(entry)
    assert entry_fingerprint(entry) == (
        "23b5c99d3824f28d5ef79ab2d3601e35b51f07581b663fb028989c0330f48a60"
    )
