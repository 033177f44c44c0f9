"""Password hashing with Argon2id, always off the event loop."""

from __future__ import annotations

import asyncio
import base64
import secrets

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from todo.core.config import Settings

_SALT_BYTES = 16
_DIGEST_BYTES = 32


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode().rstrip("=")


class Passwords:
    def __init__(self, settings: Settings) -> None:
        self._hash = PasswordHash(
            (
                Argon2Hasher(
                    time_cost=settings.argon2_time_cost,
                    memory_cost=settings.argon2_memory_cost,
                    parallelism=settings.argon2_parallelism,
                    hash_len=_DIGEST_BYTES,
                    salt_len=_SALT_BYTES,
                ),
            )
        )
        # Checked against when the email is unknown, so both failures cost the same time.
        # A well-formed hash with our parameters and a random digest: verifying it runs the
        # full Argon2 computation and never matches, and building it costs nothing at start-up
        # (hashing a throwaway password here took a few hundred milliseconds per worker).
        self._dummy = (
            f"$argon2id$v=19$m={settings.argon2_memory_cost},t={settings.argon2_time_cost},"
            f"p={settings.argon2_parallelism}"
            f"${_b64(secrets.token_bytes(_SALT_BYTES))}${_b64(secrets.token_bytes(_DIGEST_BYTES))}"
        )

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hash.hash, password)

    async def verify(self, password: str, hashed: str | None) -> tuple[bool, str | None]:
        """Return (valid, new hash when the stored one uses outdated parameters)."""
        if hashed is None:
            await asyncio.to_thread(self._hash.verify, password, self._dummy)
            return False, None
        return await asyncio.to_thread(self._hash.verify_and_update, password, hashed)
