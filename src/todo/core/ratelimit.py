"""Rate limits: a sliding-window counter over two fixed windows, in memory or in Redis.

Each key counts hits in the current fixed window and remembers the previous one; the
estimate weighs the previous window by how much of it still overlaps the sliding window.
That smooths the double burst a plain fixed window allows at its edges, with two integers
per key. Counters live in Redis when `REDIS_URL` is set, so every app process behind a
load balancer shares them; otherwise in this process's memory.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from fastapi import Request

from todo.core.config import Settings
from todo.core.errors import RateLimited

if TYPE_CHECKING:
    # Imported when Redis is configured: the client library costs ~0.2 s of every start-up.
    from redis.asyncio import Redis

log = logging.getLogger("todo")

AuthAction = Literal["login", "signup"]


class CountersUnavailable(Exception):
    """The shared store could not count a hit."""


class Counters(Protocol):
    async def hit(self, key: str, window_index: int, window: int) -> tuple[int, int]:
        """Count one hit in window `window_index`; return (previous window, current window)."""
        ...

    async def aclose(self) -> None: ...


class MemoryCounters:
    """Counters of one process, at most about `max_keys` of them."""

    def __init__(self, *, max_keys: int = 100_000) -> None:
        self._counts: dict[str, tuple[int, int, int]] = {}
        self._max_keys = max_keys

    async def hit(self, key: str, window_index: int, window: int) -> tuple[int, int]:
        index, previous, current = self._counts.get(key, (window_index, 0, 0))
        if index == window_index - 1:
            previous, current = current, 0
        elif index != window_index:
            previous, current = 0, 0
        current += 1
        self._counts[key] = (window_index, previous, current)
        if len(self._counts) > self._max_keys:
            self._sweep(window_index)
        return previous, current

    def _sweep(self, window_index: int) -> None:
        self._counts = {
            key: entry for key, entry in self._counts.items() if entry[0] >= window_index - 1
        }
        if len(self._counts) > self._max_keys:
            # A flood of fresh keys (addresses, emails): forget the oldest half rather than
            # grow without bound; those keys merely start counting again.
            log.warning(
                "rate-limit table full: forgetting the oldest %d keys", len(self._counts) // 2
            )
            kept = list(self._counts.items())[len(self._counts) // 2 :]
            self._counts = dict(kept)

    async def aclose(self) -> None:
        self._counts.clear()


class RedisCounters:
    """Counters shared by every process that talks to the same Redis."""

    def __init__(self, client: Redis, *, prefix: str) -> None:
        self._client = client
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str, *, prefix: str) -> RedisCounters:
        from redis.asyncio import Redis

        # Short timeouts: a slow Redis must not hold up every log-in behind it.
        client = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        return cls(client, prefix=prefix)

    async def hit(self, key: str, window_index: int, window: int) -> tuple[int, int]:
        current_key = f"{self._prefix}{key}:{window_index}"
        previous_key = f"{self._prefix}{key}:{window_index - 1}"
        from redis.exceptions import RedisError

        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.incr(current_key)
                # Kept one window longer: it is the "previous window" of the next one.
                pipe.expire(current_key, 2 * window)
                pipe.get(previous_key)
                current, _, previous = await pipe.execute()
        except RedisError as error:
            raise CountersUnavailable(str(error)) from error
        return int(previous or 0), int(current)

    async def aclose(self) -> None:
        await self._client.aclose()


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int


def judge(previous: int, current: int, *, limit: int, window: int, elapsed: float) -> Verdict:
    """Decide on a hit that has been counted, and when a next one would be let through."""
    remaining = window - elapsed
    estimate = previous * remaining / window + current
    if estimate <= limit:
        return Verdict(True, 0)
    if current + 1 <= limit:
        # Only the previous window's fading share stands in the way.
        wait = remaining - (limit - current - 1) * window / previous
    else:
        # The current window alone is full: wait for the next, then for this one to fade.
        wait = remaining + window * (1 - (limit - 1) / current)
    return Verdict(False, max(1, math.ceil(wait)))


class RateLimiter:
    def __init__(
        self, counters: Counters, *, clock: Callable[[], float] = time.time, fallback: Counters
    ) -> None:
        self._counters = counters
        self._fallback = fallback
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        memory = MemoryCounters()
        if settings.redis_url is None:
            return cls(memory, fallback=memory)
        redis = RedisCounters.from_url(
            settings.redis_url.get_secret_value(), prefix=f"{settings.redis_key_prefix}rl:"
        )
        return cls(redis, fallback=memory)

    async def check(self, key: str, *, limit: int, window: int) -> Verdict:
        """Count a hit on `key` and say whether it is within `limit` per `window` seconds."""
        now = self._clock()
        index = int(now // window)
        try:
            previous, current = await self._counters.hit(key, index, window)
        except (CountersUnavailable, OSError) as error:
            # Better per-process limits than none, and better than refusing every log-in.
            log.warning("rate-limit store unavailable, counting in memory: %s", error)
            previous, current = await self._fallback.hit(key, index, window)
        return judge(previous, current, limit=limit, window=window, elapsed=now - index * window)

    async def enforce(self, key: str, *, limit: int, window: int, detail: str) -> None:
        verdict = await self.check(key, limit=limit, window=window)
        if not verdict.allowed:
            raise RateLimited(detail, retry_after=verdict.retry_after)

    async def aclose(self) -> None:
        await self._counters.aclose()
        if self._fallback is not self._counters:
            await self._fallback.aclose()


def client_address(request: Request) -> str:
    # Behind a proxy, uvicorn's proxy_headers has already put the forwarded address here.
    return request.client.host if request.client else "unknown"


@dataclass(frozen=True)
class AuthAttempt:
    """An attempt to log in or sign up, already counted against the client's address."""

    limiter: RateLimiter
    settings: Settings
    action: AuthAction

    async def for_account(self, email: str) -> None:
        """Count the attempt against the email address; RateLimited when it has had too many."""
        await self.limiter.enforce(
            f"{self.action}:account:{email.strip().lower()}",
            limit=self.settings.auth_rate_per_account,
            window=self.settings.auth_rate_window,
            detail="Too many attempts for this account; wait a moment and try again.",
        )


async def _by_address(request: Request, action: AuthAction) -> AuthAttempt:
    limiter: RateLimiter = request.app.state.ratelimiter
    settings: Settings = request.app.state.settings
    await limiter.enforce(
        f"{action}:address:{client_address(request)}",
        limit=settings.auth_rate_per_address,
        window=settings.auth_rate_window,
        detail="Too many attempts from your address; wait a moment and try again.",
    )
    return AuthAttempt(limiter, settings, action)


def auth_attempt(action: AuthAction) -> Callable[[Request], Awaitable[AuthAttempt]]:
    """A dependency: count the attempt per client address and hand back the per-account check."""

    async def dependency(request: Request) -> AuthAttempt:
        return await _by_address(request, action)

    return dependency


async def check_auth_attempt(request: Request, action: AuthAction, email: str) -> None:
    """For forms outside the JSON API (the web log-in and sign-up): both limits at once."""
    attempt = await _by_address(request, action)
    await attempt.for_account(email)
