"""Log-in and sign-up attempts are limited per account and per client address (429 with
Retry-After), in memory by default and in Redis, shared by every process, with REDIS_URL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from tests.conftest import NewDatabase, SignUp, make_settings
from tests.reliability.live import server_env, serving
from tests.security.support import client_for, running
from todo import migrations
from todo.core.config import Settings
from todo.core.ratelimit import MemoryCounters, RateLimiter, judge

REDIS_URL = "redis://127.0.0.1:6379/0"
STRICT = {"auth_rate_per_account": 3, "auth_rate_per_address": 6, "auth_rate_window": 60}


def assert_limited(response: httpx.Response, window: int = 60) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "rate_limited"
    assert 1 <= int(response.headers["retry-after"]) <= 2 * window


async def _login(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await http.post("/api/auth/login", json={"email": email, "password": password})


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    prefix = f"todo-test:{uuid.uuid4().hex}:"
    yield prefix
    client = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def test_login_attempts_per_account(
    client: httpx.AsyncClient, settings: Settings, sign_up: SignUp
) -> None:
    victim, other = await sign_up(), await sign_up()
    async with running(settings, **STRICT) as app:
        async with client_for(app, "203.0.113.1") as http:
            for _ in range(3):
                assert (await _login(http, victim.email, "wrong password")).status_code == 401
        # Another address does not reset the account's count, and the right password is
        # refused too: otherwise the limit would still leak which guess was right.
        async with client_for(app, "203.0.113.2") as http:
            assert_limited(await _login(http, victim.email.upper(), victim.password))
            assert (await _login(http, other.email, other.password)).status_code == 200


async def test_login_attempts_per_address(
    client: httpx.AsyncClient, settings: Settings, sign_up: SignUp
) -> None:
    alice = await sign_up()
    async with running(settings, **STRICT) as app:
        async with client_for(app, "198.51.100.7") as http:
            for n in range(6):
                assert (
                    await _login(http, f"nobody{n}@example.com", "guess-guess")
                ).status_code == 401
            assert_limited(await _login(http, alice.email, alice.password))
            form = await http.post(
                "/api/auth/token", data={"username": alice.email, "password": alice.password}
            )
            assert_limited(form)
        async with client_for(app, "198.51.100.8") as http:
            assert (await _login(http, alice.email, alice.password)).status_code == 200


async def test_oauth2_form_counts_against_the_same_account(
    client: httpx.AsyncClient, settings: Settings, sign_up: SignUp
) -> None:
    alice = await sign_up()
    async with running(settings, **STRICT) as app, client_for(app) as http:
        for _ in range(3):
            form = await http.post(
                "/api/auth/token", data={"username": alice.email, "password": "wrong one"}
            )
            assert form.status_code == 401
        assert_limited(await _login(http, alice.email, alice.password))


async def test_signup_of_a_taken_email_is_409_and_limited(
    client: httpx.AsyncClient, settings: Settings, sign_up: SignUp
) -> None:
    alice = await sign_up()
    async with running(settings, **STRICT) as app, client_for(app) as http:
        body = {"email": alice.email, "password": "another password"}
        for _ in range(3):
            taken = await http.post("/api/auth/signup", json=body)
            assert taken.status_code == 409
            assert taken.json()["code"] == "email_taken"
        assert_limited(await http.post("/api/auth/signup", json=body))


async def test_signups_per_address(client: httpx.AsyncClient, settings: Settings) -> None:
    async with running(settings, **STRICT) as app:
        async with client_for(app, "192.0.2.1") as http:
            for n in range(6):
                created = await http.post(
                    "/api/auth/signup",
                    json={
                        "email": f"bulk{n}-{uuid.uuid4().hex[:6]}@example.com",
                        "password": "x" * 8,
                    },
                )
                assert created.status_code == 201
            assert_limited(
                await http.post(
                    "/api/auth/signup", json={"email": "one-more@example.com", "password": "x" * 8}
                )
            )
        async with client_for(app, "192.0.2.2") as http:
            other = await http.post(
                "/api/auth/signup", json={"email": "one-more@example.com", "password": "x" * 8}
            )
            assert other.status_code == 201


async def test_counters_in_redis_are_shared_by_app_instances(
    client: httpx.AsyncClient, settings: Settings, sign_up: SignUp, redis_prefix: str
) -> None:
    alice = await sign_up()
    shared = {**STRICT, "redis_url": SecretStr(REDIS_URL), "redis_key_prefix": redis_prefix}
    async with (
        running(settings, **shared) as first,
        running(settings, **shared) as second,
        client_for(first) as one,
        client_for(second) as two,
    ):
        assert (await _login(one, alice.email, "wrong 1st")).status_code == 401
        assert (await _login(two, alice.email, "wrong 2nd")).status_code == 401
        assert (await _login(one, alice.email, "wrong 3rd")).status_code == 401
        # Each instance alone has seen fewer than three attempts.
        assert_limited(await _login(two, alice.email, alice.password))
    redis = Redis.from_url(REDIS_URL)
    try:
        keys = [key.decode() async for key in redis.scan_iter(match=f"{redis_prefix}*")]
    finally:
        await redis.aclose()
    assert any(f"login:account:{alice.email}" in key for key in keys), keys


async def test_unreachable_redis_falls_back_to_memory(
    client: httpx.AsyncClient, settings: Settings, sign_up: SignUp
) -> None:
    alice = await sign_up()
    down = {**STRICT, "redis_url": SecretStr("redis://127.0.0.1:1/0")}
    async with running(settings, **down) as app, client_for(app) as http:
        assert (await _login(http, alice.email, alice.password)).status_code == 200
        for _ in range(2):
            assert (await _login(http, alice.email, "wrong again")).status_code == 401
        assert_limited(await _login(http, alice.email, alice.password))


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_sliding_window_lets_attempts_back_in_as_they_age() -> None:
    clock = FakeClock(1_000_000.0)
    memory = MemoryCounters()
    limiter = RateLimiter(memory, clock=clock, fallback=memory)
    for _ in range(5):
        assert (await limiter.check("k", limit=5, window=100)).allowed
    refused = await limiter.check("k", limit=5, window=100)
    assert not refused.allowed
    # Retry-After is honest: a hit at that moment gets through.
    clock.now += refused.retry_after
    assert (await limiter.check("k", limit=5, window=100)).allowed
    clock.now += 300
    assert (await limiter.check("k", limit=5, window=100)).allowed


@pytest.mark.parametrize(
    ("previous", "current", "elapsed"),
    [(0, 4, 10.0), (10, 1, 50.0), (3, 3, 99.0), (100, 100, 1.0), (7, 2, 0.0)],
)
def test_retry_after_points_at_the_first_moment_a_hit_fits(
    previous: int, current: int, elapsed: float
) -> None:
    limit, window = 3, 100
    verdict = judge(previous, current, limit=limit, window=window, elapsed=elapsed)
    assert not verdict.allowed
    later = elapsed + verdict.retry_after
    if later < window:
        estimate = previous * (window - later) / window + current + 1
    else:
        estimate = current * (2 * window - later) / window + 1
    assert estimate <= limit + 1e-9


async def test_memory_counters_stay_bounded() -> None:
    memory = MemoryCounters(max_keys=100)
    for n in range(1000):
        await memory.hit(f"spray-{n}", 1 if n < 500 else 5, 60)
    assert len(memory._counts) <= 100


async def test_two_server_processes_share_the_counters_in_redis(
    new_database: NewDatabase, tmp_path: Path, redis_prefix: str
) -> None:
    url = await asyncio.to_thread(new_database.url)
    await asyncio.to_thread(migrations.upgrade, make_settings(url, tmp_path))
    env = server_env(
        url,
        tmp_path,
        REDIS_URL=REDIS_URL,
        REDIS_KEY_PREFIX=redis_prefix,
        AUTH_RATE_PER_ACCOUNT="4",
        AUTH_RATE_WINDOW="60",
    )
    with serving(env, tmp_path) as first, serving(env, tmp_path) as second:
        async with (
            httpx.AsyncClient(base_url=first.base_url) as one,
            httpx.AsyncClient(base_url=second.base_url) as two,
        ):
            signup = await one.post(
                "/api/auth/signup", json={"email": "shared@example.com", "password": "long enough"}
            )
            assert signup.status_code == 201
            for http in (two, one, two, one):
                assert (await _login(http, "shared@example.com", "wrong")).status_code == 401
            assert_limited(await _login(one, "shared@example.com", "long enough"))
            assert_limited(await _login(two, "shared@example.com", "long enough"))
