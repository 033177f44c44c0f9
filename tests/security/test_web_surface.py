"""Browser-facing protections on every kind of response: the security headers, and HSTS
only over https (the pages' CSP, escaping and CSRF: test_web_csrf.py)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import Account
from tests.security.support import client_for

SAMPLES = [
    ("GET", "/health"),
    ("GET", "/api/me/tasks"),
    ("GET", "/api/me/tasks/999999"),
    ("POST", "/api/auth/login"),
    ("GET", "/docs"),
    ("GET", "/openapi.json"),
    ("GET", "/static/favicon.svg"),
    ("GET", "/no/such/page"),
    ("DELETE", "/health"),
]


def _frames_denied(response: httpx.Response) -> bool:
    policy = response.headers.get("content-security-policy", "")
    return response.headers.get("x-frame-options") == "DENY" or "frame-ancestors 'none'" in policy


@pytest.mark.parametrize(("method", "path"), SAMPLES)
async def test_security_headers_on_every_kind_of_response(
    client: httpx.AsyncClient, alice: Account, method: str, path: str
) -> None:
    response = await client.request(method, path, headers=alice.headers)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] in ("no-referrer", "strict-origin-when-cross-origin")
    assert _frames_denied(response)
    assert "strict-transport-security" not in response.headers


async def test_hsts_only_over_https(app: FastAPI) -> None:
    async with client_for(app, base_url="https://todo.example") as https:
        secure = await https.get("/health")
    assert secure.headers["strict-transport-security"].startswith("max-age=")
    assert int(secure.headers["strict-transport-security"].split("=")[1].split(";")[0]) >= 15552000
