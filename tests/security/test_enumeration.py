"""No user enumeration: log-in answers the same, in about the same time, whether the email
is unknown or the password wrong; sign-up's 409 for a taken address is rate limited
(tests/security/test_rate_limits.py)."""

from __future__ import annotations

import statistics
import time

import httpx

from tests.conftest import SignUp
from tests.security.support import client_for, running
from todo.core.config import Settings

ROUNDS = 15
# Real hashing cost (the suite's default makes a hash almost free, which would hide a
# missing dummy hash): a few tens of milliseconds here.
HASHING = {"argon2_time_cost": 2, "argon2_memory_cost": 8192, "argon2_parallelism": 1}


async def _timed(
    http: httpx.AsyncClient, email: str, password: str
) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = await http.post("/api/auth/login", json={"email": email, "password": password})
    return time.perf_counter() - started, response


def _comparable(response: httpx.Response) -> tuple[int, bytes, tuple[tuple[str, str], ...]]:
    headers = sorted((k, v) for k, v in response.headers.items() if k not in ("date",))
    return response.status_code, response.content, tuple(headers)


async def test_unknown_email_and_wrong_password_look_and_take_the_same(
    client: httpx.AsyncClient, settings: Settings, sign_up: SignUp
) -> None:
    async with running(settings, **HASHING) as app, client_for(app) as http:
        # Signed up through this app, so the stored hash has the real cost too.
        created = await http.post(
            "/api/auth/signup", json={"email": "known@example.com", "password": "right password"}
        )
        assert created.status_code == 201
        wrong: list[float] = []
        unknown: list[float] = []
        answers = set()
        for n in range(ROUNDS):
            seconds, response = await _timed(http, "known@example.com", f"wrong password {n}")
            wrong.append(seconds)
            answers.add(_comparable(response))
            seconds, response = await _timed(http, f"nobody{n}@example.com", "wrong password")
            unknown.append(seconds)
            answers.add(_comparable(response))
        ok_seconds, ok = await _timed(http, "known@example.com", "right password")
    assert ok.status_code == 200
    assert len(answers) == 1, answers
    assert next(iter(answers))[0] == 401
    wrong_median, unknown_median = statistics.median(wrong), statistics.median(unknown)
    ratio = unknown_median / wrong_median
    # A missing dummy hash makes the unknown email a database lookup only: a ratio near 0.1
    # with this hashing cost. The wide band keeps a loaded machine from failing the test.
    assert 0.3 < ratio < 3.3, (
        f"unknown email {unknown_median * 1000:.1f} ms vs wrong password "
        f"{wrong_median * 1000:.1f} ms (right password {ok_seconds * 1000:.1f} ms)"
    )
