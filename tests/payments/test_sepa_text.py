"""SEPA character set, identifiers and structured creditor references (no database)."""

from __future__ import annotations

import pytest

from backend.errors import InvalidInput
from backend.payments.sepa_text import (
    SEPA_CHARACTERS,
    betalingskenmerk_check_digit,
    check_identifier,
    end_to_end_id_for,
    parse_creditor_reference,
    sepa_name,
    to_sepa_text,
)


def test_zoe_ijzerman_is_transliterated() -> None:
    assert sepa_name("Zoë Ĳzerman") == "Zoe IJzerman"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Straße 1 & Zonen", "Strasse 1 + Zonen"),
        ("Café «Ça va» @ 5%", "Cafe <<Ca va>> 5"),
        ("Ærø   Ørsted\tØ", "AEro Orsted O"),
        ("naïve_façade; ok!", "naive-facade, ok."),
        ("€ 12,50 huur", "EUR 12,50 huur"),
    ],
)
def test_text_only_keeps_the_sepa_character_set(given: str, expected: str) -> None:
    result = to_sepa_text(given, length_max=140)
    assert set(result) <= SEPA_CHARACTERS
    assert result == expected.replace("<<", "((").replace(">>", "))")


def test_text_is_cut_without_trailing_space() -> None:
    assert to_sepa_text("a" * 69 + " b", length_max=70) == "a" * 69


def test_a_name_without_any_sepa_character_is_refused() -> None:
    with pytest.raises(InvalidInput):
        sepa_name("★★★")


@pytest.mark.parametrize(
    "bad", ["", "NOTPROVIDED", "notprovided", "a b", "/abc", "abc/", "a//b", "x" * 36, "Zoë"]
)
def test_bad_identifiers_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        check_identifier(bad, field="EndToEndId")


def test_generated_end_to_end_id_is_deterministic_short_and_safe() -> None:
    first = end_to_end_id_for("cycle:1:rent:2026-12-01")
    assert first == end_to_end_id_for("cycle:1:rent:2026-12-01")
    assert first != end_to_end_id_for("cycle:1:rent:2027-01-01")
    assert len(first) <= 35
    assert check_identifier(first, field="EndToEndId") == first


@pytest.mark.parametrize(
    "reference",
    ["5000 0567 8901 2345", "1223 4534 6225 67", "1234567"],
)
def test_betaalvereniging_examples_are_betalingskenmerken(reference: str) -> None:
    parsed = parse_creditor_reference(reference)
    assert parsed.issuer == "CUR"
    assert parsed.code == "SCOR"
    assert parsed.reference == reference.replace(" ", "")


def test_check_digit_of_the_published_example() -> None:
    assert betalingskenmerk_check_digit("000056789012345") == 5


@pytest.mark.parametrize(
    "reference",
    [
        "6000056789012345",  # wrong check digit
        "12345678",  # 8 digits is not a length
        "123456789012345",  # 15 digits is not a length
        "1923453462256",  # length code 9 but 11 digits follow
        "RF19539007547034",  # wrong RF check digits
        "RF18",
        "INV-2026-001",
    ],
)
def test_wrong_references_are_refused(reference: str) -> None:
    with pytest.raises(InvalidInput):
        parse_creditor_reference(reference)


def test_rf_reference_has_issuer_iso() -> None:
    parsed = parse_creditor_reference("RF18 5390 0754 7034")
    assert (parsed.reference, parsed.issuer) == ("RF18539007547034", "ISO")
