from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privacy import BsnError, FieldCipher, FieldCipherError, validate_bsn
from privacy.fields import decode_key, new_key_text


def cipher(current: str = "k1", **keys: str) -> FieldCipher:
    decoded = {key_id: decode_key(text) for key_id, text in keys.items()}
    return FieldCipher(decoded, current, decode_key(new_key_text()))


def test_bsn_eleven_test() -> None:
    assert validate_bsn("111222333") == "111222333"
    assert validate_bsn("12345678 2".replace(" ", "")) == "123456782"
    with pytest.raises(BsnError, match="11-proef"):
        validate_bsn("111222334")
    with pytest.raises(BsnError, match="8 or 9 digits"):
        validate_bsn("12ab")


def test_bsn_errors_never_contain_the_number() -> None:
    for wrong in ("111222334", "1234567890", "000000000"):
        with pytest.raises(BsnError) as raised:
            validate_bsn(wrong)
        assert wrong not in str(raised.value)


def test_round_trip_and_context_binding() -> None:
    protector = cipher(k1=new_key_text())
    token = protector.encrypt("111222333", context="participant.bsn")
    assert "111222333" not in token
    assert protector.decrypt(token, context="participant.bsn") == "111222333"
    with pytest.raises(FieldCipherError, match="integrity"):
        protector.decrypt(token, context="other.column")


def test_tampered_ciphertext_is_refused() -> None:
    protector = cipher(k1=new_key_text())
    token = protector.encrypt("111222333", context="c")
    head, last = token.rsplit(".", 1)
    flipped = head + "." + ("A" if last[0] != "A" else "B") + last[1:]
    with pytest.raises(FieldCipherError):
        protector.decrypt(flipped, context="c")


def test_rotation_reads_old_values_and_writes_with_the_new_key() -> None:
    old_key, new_key = new_key_text(), new_key_text()
    old = cipher("k1", k1=old_key)
    token = old.encrypt("123456782", context="c")
    rotated = cipher("k2", k1=old_key, k2=new_key)
    assert rotated.needs_rotation(token)
    assert rotated.decrypt(token, context="c") == "123456782"
    assert not rotated.needs_rotation(rotated.encrypt("123456782", context="c"))


@given(st.text(max_size=200))
def test_any_text_round_trips(value: str) -> None:
    protector = cipher(k1=new_key_text())
    assert protector.decrypt(protector.encrypt(value, context="c"), context="c") == value
