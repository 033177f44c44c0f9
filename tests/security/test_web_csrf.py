"""The web app's forms: every state-changing route refuses a request without this site's
CSRF token or from another origin, and changes nothing; every page escapes task titles
and carries a strict CSP; cookies are __Host- prefixed over https.

The routes are enumerated from the app, so a new form is checked without being listed."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, routing

from tests.security.support import bearer, client_for
from tests.web.test_pages import PASSWORD, add_task, page_token, sign_up

_PARAMETER = re.compile(r"{(\w+)(?::\w+)?}")
HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)>"
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
# Whatever a form may ask for; the CSRF check comes before any of it is read.
FORM = {
    "title": "changed",
    "name": "changed",
    "email": "x@example.com",
    "password": PASSWORD,
    "current_password": PASSWORD,
    "new_password": "another password",
    "confirm": "x",
    "completed": "true",
    "description": "changed",
}


def _state_changing(app: FastAPI) -> list[tuple[str, str]]:
    found = []
    for route in routing.iter_route_contexts(app.routes):
        # /mcp, like /api, takes a bearer token, which no browser sends by itself: no
        # cookie, nothing to forge (tests/assistants/test_mcp.py refuses it without one).
        # /dav answers CalDAV clients (HTTP Basic, with WebDAV methods a page's form cannot
        # send); tests/caldav checks it.
        if route.methods is None or route.path.startswith(
            ("/api/", "/static", "/mcp", "/dav", "/.well-known/caldav")
        ):
            continue
        for method in sorted(route.methods - {"GET", "HEAD", "OPTIONS"}):
            found.append((method, route.path))
    return sorted(found)


STREAMS = {"/events"}


def _pages(app: FastAPI) -> list[str]:
    pages = []
    for route in routing.iter_route_contexts(app.routes):
        skipped = route.path.startswith(
            ("/api/", "/static", "/docs", "/openapi", "/health", "/dav", "/.well-known")
        )
        # The event stream is no page and never ends (the ASGI test transport waits for the
        # end of an answer): tests/activity/test_live.py reads it over real HTTP.
        skipped = skipped or route.path in STREAMS
        if route.methods and "GET" in route.methods and not skipped:
            pages.append(route.path)
    return sorted(pages)


async def _api_view(http: httpx.AsyncClient, email: str) -> list[Any]:
    login = await http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    headers = bearer(login.json()["access_token"])
    return [
        (await http.get(path, headers=headers)).json()
        for path in (
            "/api/auth/me",
            "/api/me/tasks?status=all",
            "/api/me/lists",
            "/api/me/tags",
            "/api/auth/tokens",
            "/api/auth/feeds",
        )
    ]


def test_the_web_app_has_forms(app: FastAPI) -> None:
    assert len(_state_changing(app)) >= 5, _state_changing(app)


# Sharing's members, links and join pages: no such member, link or secret.
_MADE_UP = {
    "member_user_id": "nobody",
    "link_id": 1,
    "invitation_id": 1,
    "comment_id": 1,
    "password_id": 1,
    "webhook_id": 1,
    "delivery_id": 1,
    "secret": "x" * 43,
}


@pytest.mark.parametrize(
    ("attack", "token", "headers"),
    [
        ("no token", None, {}),
        ("a made-up token", "forged", {}),
        ("another site's origin", "real", {"Origin": "https://evil.example"}),
        ("a cross-site fetch", "real", {"Sec-Fetch-Site": "cross-site"}),
        ("a sibling subdomain", "real", {"Sec-Fetch-Site": "same-site"}),
    ],
)
async def test_every_form_refuses_forged_requests(
    app: FastAPI,
    client: httpx.AsyncClient,
    attack: str,
    token: str | None,
    headers: dict[str, str],
) -> None:
    email = await sign_up(client)
    ids = {"task_id": await add_task(client, "keep me")}
    login = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    api_headers = bearer(login.json()["access_token"])
    made = await client.post("/api/me/lists", headers=api_headers, json={"name": "Keep"})
    ids["list_id"] = made.json()["id"]
    tagged = await client.put(
        f"/api/me/tasks/{ids['task_id']}", headers=api_headers, json={"tags": ["kept"]}
    )
    assert tagged.status_code == 200
    ids["tag_id"] = (await client.get("/api/me/tags", headers=api_headers)).json()[0]["id"]
    kept = await client.post(
        "/api/auth/tokens", headers=api_headers, json={"name": "Kept", "scopes": ["tasks:read"]}
    )
    ids["token_id"] = kept.json()["id"]
    # A real feed, so that a forged delete would show in the view compared below.
    feed = await client.post("/api/auth/feeds", headers=api_headers, json={"name": "Kept"})
    ids["feed_id"] = feed.json()["id"]
    # A forged request is refused before anything is looked up: made-up ids will do.
    ids.update(_MADE_UP)
    before = await _api_view(client, email)
    real = await page_token(client)
    for method, path in _state_changing(app):
        unknown = set(_PARAMETER.findall(path)) - ids.keys()
        assert not unknown, f"{method} {path}: say which object {unknown} names"
        url = _PARAMETER.sub(lambda match: str(ids[match.group(1)]), path)
        data = {**FORM, **({"csrf_token": real if token == "real" else token} if token else {})}
        response = await client.request(method, url, data=data, headers=headers)
        assert response.status_code == 403, f"{attack}: {method} {url}: {response.status_code}"
        assert response.json()["code"] in ("csrf_failed", "cross_site_request"), response.text
    assert await _api_view(client, email) == before
    # Still signed in: not even log-out was carried out.
    assert (await client.get("/", headers=HTML)).status_code == 200
    assert "keep me" in (await client.get("/")).text


async def test_every_page_escapes_titles_and_has_a_strict_csp(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    email = await sign_up(client)
    token = await page_token(client)
    added = await client.post("/tasks", data={"csrf_token": token, "title": HOSTILE})
    assert added.status_code == 303
    login = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    tasks = await client.get("/api/me/tasks", headers=bearer(login.json()["access_token"]))
    assert tasks.json()[0]["title"] == HOSTILE
    ids = {"task_id": tasks.json()[0]["id"], "list_id": tasks.json()[0]["list_id"], **_MADE_UP}
    for path in _pages(app):
        unknown = set(_PARAMETER.findall(path)) - ids.keys()
        assert not unknown, f"GET {path}: say which object {unknown} names"
        url = _PARAMETER.sub(lambda match: str(ids[match.group(1)]), path)
        for headers in (HTML, {**HTML, "HX-Request": "true", "HX-Current-URL": "http://test/"}):
            response = await client.get(url, headers=headers)
            if not response.headers.get("content-type", "").startswith("text/html"):
                continue
            assert "<script>alert(" not in response.text, url
            assert "<img src=x onerror" not in response.text, url
            policy = response.headers["content-security-policy"]
            directives = dict(
                [*part.strip().split(" ", 1), ""][:2] for part in policy.split(";") if part.strip()
            )
            assert directives.get("frame-ancestors") == "'none'", url
            assert "'unsafe-inline'" not in directives.get("script-src", directives["default-src"])
            assert "'unsafe-eval'" not in policy, url
            assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.usefixtures("client")
async def test_cookies_are_host_prefixed_and_secure_over_https(app: FastAPI) -> None:
    async with client_for(app, base_url="https://todo.example") as secure:
        await sign_up(secure)
        cookies = secure.cookies.jar
        names = {cookie.name for cookie in cookies}
        assert names, "no cookies were set"
        assert all(name.startswith("__Host-") for name in names), names
        assert all(cookie.secure and cookie.path == "/" for cookie in cookies)
        page = await secure.get("/", headers=HTML)
        assert page.headers["strict-transport-security"].startswith("max-age=")
