"""Passwords: argon2id with argon2-cffi's RFC 9106 profile."""

from __future__ import annotations

import pytest

from backend.auth.passwords import (
    check_new_password,
    hash_password,
    needs_rehash,
    verify_password,
)
from backend.errors import InvalidInput


def test_argon2id_hash_verifies_and_never_contains_the_password() -> None:
    hashed = hash_password("correct horse battery staple")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert "correct horse" not in hashed
    assert verify_password(hashed, "correct horse battery staple")
    assert not verify_password(hashed, "correct horse battery stapler")
    assert not needs_rehash(hashed)


def test_garbage_hash_and_missing_hash_do_not_verify() -> None:
    assert not verify_password("not-a-hash", "anything")
    assert not verify_password(None, "anything")
    assert needs_rehash("not-a-hash")


def test_real_accounts_need_a_long_password() -> None:
    with pytest.raises(InvalidInput, match="at least 12"):
        check_new_password("demo")
    assert check_new_password("a" * 12) == "a" * 12
