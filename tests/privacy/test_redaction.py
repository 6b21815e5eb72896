"""Redaction (pure): what keeps BSNs, IBANs and names out of logs and outlived text."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privacy.pseudonyms import household_pseudonym, participant_pseudonym
from privacy.redaction import (
    BSN_PLACEHOLDER,
    IBAN_PLACEHOLDER,
    NAME_PLACEHOLDER,
    Identifiers,
    iban_checksum_ok,
    name_tokens,
    redact_text,
)
from privacy.retention import RecordType, RetentionTerms, add_years, due_on, is_due


def test_bsns_that_pass_the_eleven_test_are_removed_in_any_usual_spelling() -> None:
    for text in ("111222333", "111.222.333", "111 222 333", "1112.22.333", "bsn=111222333;"):
        assert "111" not in redact_text(text), text
        assert BSN_PLACEHOLDER in redact_text(text)


def test_other_numbers_stay() -> None:
    for text in ("111222334", "amount 123456789012", "12345678", "entry 42", "2026-11-28"):
        assert redact_text(text) == text


def test_ibans_are_removed_compact_spaced_and_lower_case() -> None:
    for text in (
        "NL32INGB0007777777",
        "NL32 INGB 0007 7777 77",
        "nl32ingb0007777777",
        "to NL44RABO0123456789.",
    ):
        assert IBAN_PLACEHOLDER in redact_text(text), text
    assert iban_checksum_ok("NL32INGB0007777777")
    assert not iban_checksum_ok("NL33INGB0007777777")


def test_trace_ids_and_following_words_are_not_mistaken_for_ibans() -> None:
    trace_id = "ab12cdef0123456789abcdef01234567"
    assert redact_text(trace_id) == trace_id  # lower case: only removed when the checksum fits
    assert redact_text("NL32INGB0007777777 en meer") == f"{IBAN_PLACEHOLDER} en meer"


def test_names_word_by_word_but_not_particles() -> None:
    words = name_tokens(["Anna de Vries", "Zoë IJzerman"])
    assert words == frozenset({"anna", "vries", "zoë", "ijzerman"})
    assert name_tokens(["participant-12", "Deelnemer 3 (gepseudonimiseerd)"]) == frozenset()
    text = redact_text("Anna de Vries en ZOË ijzerman betalen", name_words=words)
    assert text == f"{NAME_PLACEHOLDER} de {NAME_PLACEHOLDER} en {NAME_PLACEHOLDER} " + (
        f"{NAME_PLACEHOLDER} betalen"
    )


def test_identifiers_touch_only_this_persons_values() -> None:
    person = Identifiers(names=["Anna de Vries"], ibans=["NL32INGB0007777777"], bsns=["111222333"])
    text = "A. de Vries, NL32 INGB 0007 7777 77, not NL44RABO0123456789, bsn 111.222.333"
    assert person.redact(text) == (
        f"A. de {NAME_PLACEHOLDER}, {IBAN_PLACEHOLDER}, not NL44RABO0123456789, "
        f"bsn {BSN_PLACEHOLDER}"
    )
    document = {"payee_name": "A. de Vries", "payee_iban": "NL32INGB0007777777", "n": [1]}
    assert person.redact_document(document) == {
        "payee_name": f"A. de {NAME_PLACEHOLDER}",
        "payee_iban": IBAN_PLACEHOLDER,
        "n": [1],
    }
    assert person.found_in(document)
    assert not person.found_in({"creditor": "Mitros", "iban": "NL44RABO0123456789"})


@given(st.text(max_size=60))
def test_redaction_never_grows_personal_data(text: str) -> None:
    once = redact_text(text)
    assert redact_text(once) == once


def test_pseudonyms_are_stable_per_key_and_unlinkable_across_keys() -> None:
    key, other = b"k" * 32, b"o" * 32
    assert participant_pseudonym(key, 7) == participant_pseudonym(key, 7)
    assert participant_pseudonym(key, 7) != participant_pseudonym(key, 8)
    assert participant_pseudonym(key, 7) != participant_pseudonym(other, 7)
    assert participant_pseudonym(key, 7)[2:] != household_pseudonym(key, 7)[2:]
    with pytest.raises(ValueError, match="32 bytes"):
        participant_pseudonym(b"short", 7)


def test_retention_terms_count_calendar_years() -> None:
    assert add_years(dt.date(2024, 2, 29), 1) == dt.date(2025, 2, 28)
    assert due_on(dt.date(2018, 11, 28), 7) == dt.date(2025, 11, 28)
    assert is_due(dt.date(2018, 11, 28), 7, dt.date(2025, 11, 28))
    assert not is_due(dt.date(2018, 11, 28), 7, dt.date(2025, 11, 27))
    assert not is_due(None, 7, dt.date(2100, 1, 1))
    terms = RetentionTerms()
    assert terms.years(RecordType.IDENTITY) == 7
    with pytest.raises(ValueError):
        RetentionTerms(identity_years=-1)
