"""`/health` is answered by `HealthShortcut` ahead of the middleware (core/health.py): the
answer must be the one the route and the middleware give, headers included."""

from __future__ import annotations

import httpx

# The app's CORS layer sees a request with an Origin, so the shortcut leaves it to the app.
ORIGIN = {"Origin": "http://elsewhere.example"}
# What only the routed answer can carry.
ROUTED_ONLY = {
    "vary",
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-expose-headers",
}


def _headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k not in ROUTED_ONLY}


async def test_the_shortcut_answers_as_the_route_does(client: httpx.AsyncClient) -> None:
    short = await client.get("/health")
    routed = await client.get("/health", headers=ORIGIN)
    assert short.status_code == routed.status_code == 200
    assert short.content == routed.content
    assert short.json() == {"status": "ok", "app": "TODO API", "version": short.json()["version"]}
    assert _headers(short) == _headers(routed)
    assert short.headers["content-security-policy"]
    assert short.headers["x-content-type-options"] == "nosniff"


async def test_over_https_it_carries_hsts_as_the_route_does(client: httpx.AsyncClient) -> None:
    short = await client.get("https://test/health")
    routed = await client.get("https://test/health", headers=ORIGIN)
    assert short.headers["strict-transport-security"] == "max-age=31536000"
    assert _headers(short) == _headers(routed)


async def test_other_methods_and_paths_still_go_to_the_app(client: httpx.AsyncClient) -> None:
    assert (await client.post("/health")).status_code == 405
    assert (await client.get("/health/ready")).json() == {"status": "ok", "database": "ok"}
    assert (await client.get("/health/")).status_code in (307, 404)
