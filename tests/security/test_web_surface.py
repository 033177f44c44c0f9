"""Browser-facing protections on every kind of response: the security headers, HSTS only
over https, and (once the web app has pages) a strict CSP and escaped task titles."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI, routing

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


def _web_pages(app: FastAPI) -> list[str]:
    """GET pages of the web app without path parameters: everything outside the API."""
    pages = []
    for route in routing.iter_route_contexts(app.routes):
        path = route.path
        if route.methods is None or "GET" not in route.methods or "{" in path:
            continue
        if path.startswith(("/api", "/docs", "/health", "/openapi", "/static")):
            continue
        pages.append(path)
    return pages


async def test_web_pages_carry_a_strict_csp_and_escape_titles(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    pages = _web_pages(app)
    if not pages:
        pytest.skip("the web app has no pages yet")
    hostile = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    created = await client.post("/api/me/tasks", headers=alice.headers, json={"title": hostile})
    assert created.status_code == 201
    for path in pages:
        response = await client.get(path, headers=alice.headers)
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy or "default-src 'none'" in policy, path
        assert "frame-ancestors 'none'" in policy, path
        assert "'unsafe-inline'" not in policy.split("script-src", 1)[-1].split(";")[0], path
        assert "<script>alert(" not in response.text, path
        assert "<img src=x onerror" not in response.text, path
