"""Password hashing with Argon2id, always off the event loop."""

from __future__ import annotations

import asyncio
import secrets

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from todo.core.config import Settings


class Passwords:
    def __init__(self, settings: Settings) -> None:
        self._hash = PasswordHash(
            (
                Argon2Hasher(
                    time_cost=settings.argon2_time_cost,
                    memory_cost=settings.argon2_memory_cost,
                    parallelism=settings.argon2_parallelism,
                ),
            )
        )
        # Checked against when the email is unknown, so both failures cost the same time.
        self._dummy = self._hash.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hash.hash, password)

    async def verify(self, password: str, hashed: str | None) -> tuple[bool, str | None]:
        """Return (valid, new hash when the stored one uses outdated parameters)."""
        if hashed is None:
            await asyncio.to_thread(self._hash.verify, password, self._dummy)
            return False, None
        return await asyncio.to_thread(self._hash.verify_and_update, password, hashed)
