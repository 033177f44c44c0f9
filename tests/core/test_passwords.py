"""The unknown-email path must cost a real Argon2 verification with the configured parameters."""

from __future__ import annotations

from pathlib import Path

import argon2
import pytest

from tests.conftest import make_settings
from todo.core.security import Passwords


def test_dummy_hash_has_the_parameters_of_real_hashes(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/t.db", tmp_path)
    passwords = Passwords(settings)
    real = passwords._hash.hash("correct horse battery staple")
    assert argon2.extract_parameters(passwords._dummy) == argon2.extract_parameters(real)
    # Well formed, so argon2 runs the whole computation and rejects it by mismatch, the way
    # it rejects a wrong password, rather than failing fast on a malformed hash.
    with pytest.raises(argon2.exceptions.VerifyMismatchError):
        argon2.PasswordHasher.from_parameters(argon2.extract_parameters(real)).verify(
            passwords._dummy, "anything"
        )


async def test_unknown_email_fails_verification(tmp_path: Path) -> None:
    passwords = Passwords(make_settings(f"sqlite+aiosqlite:///{tmp_path}/t.db", tmp_path))
    assert await passwords.verify("anything", None) == (False, None)
    good = await passwords.hash("correct horse battery staple")
    assert (await passwords.verify("correct horse battery staple", good))[0] is True
