"""Personal access tokens on the account page, over HTTP: created with a name, scopes and an
expiry, shown once, listed with their last use, revoked; another user's token is a 404."""

from __future__ import annotations

import html
import re

import httpx
from fastapi import FastAPI

from tests.security.support import bearer
from tests.web.test_pages import HTML, PASSWORD, page_token, sign_up
from todo.accounts.schemas import TOKENS_PER_USER_MAX

SECRET = re.compile(r'id="new-token-secret"[^>]*value="(todo_pat_[A-Za-z0-9_-]{43})"')
REVOKE = re.compile(r'action="/account/tokens/(\d+)/delete"')


async def create(
    client: httpx.AsyncClient, name: str, scopes: list[str], expires: str = "30"
) -> httpx.Response:
    token = await page_token(client, "/account")
    return await client.post(
        "/account/tokens",
        data={"csrf_token": token, "token_name": name, "scopes": scopes, "expires": expires},
    )


async def test_a_token_made_on_the_page_is_shown_once_and_works(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client)
    made = await create(client, "Nightly sync", ["tasks:read", "lists:read"])
    assert made.status_code == 200, made.text
    found = SECRET.search(made.text)
    assert found is not None, made.text
    secret = found.group(1)
    assert "it is not shown again" in made.text
    api = await client.get("/api/me/tasks", headers=bearer(secret))
    assert api.status_code == 200, api.text
    refused = await client.post("/api/me/tasks", headers=bearer(secret), json={"title": "x"})
    assert refused.json()["code"] == "insufficient_scope"
    page = (await client.get("/account")).text
    assert secret not in page
    assert "Nightly sync" in page
    assert '<code class="chip">tasks:read</code>' in page
    row = page.split('<p class="token-name">Nightly sync', 1)[1].split("</li>", 1)[0]
    # Used once, just now, through the API.
    assert "Last used never" not in row
    assert "Last used " in row
    assert "Expires " in row


async def test_revoking_on_the_page_ends_the_token(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    made = await create(client, "Doomed", ["account:read"], expires="never")
    found = SECRET.search(made.text)
    assert found is not None
    secret = found.group(1)
    (token_id,) = REVOKE.findall(made.text)
    csrf = await page_token(client, "/account")
    revoked = await client.post(f"/account/tokens/{token_id}/delete", data={"csrf_token": csrf})
    assert revoked.status_code == 303
    assert revoked.headers["location"] == "/account"
    page = (await client.get("/account")).text
    assert "The token was revoked" in page
    assert "No tokens yet." in page
    assert (await client.get("/api/auth/me", headers=bearer(secret))).status_code == 401


async def test_a_bad_form_is_shown_again_with_why(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    for data, message in (
        ({"token_name": "x", "expires": "30"}, "Choose at least one of the scopes listed."),
        ({"token_name": "x", "scopes": ["tasks:nuke"], "expires": "30"}, "Choose at least one"),
        ({"token_name": " ", "scopes": ["tasks:read"], "expires": "30"}, "Name must not be empty"),
        ({"token_name": "x", "scopes": ["tasks:read"], "expires": "999"}, "Choose when"),
        ({"token_name": "x" * 101, "scopes": ["tasks:read"], "expires": "30"}, "at most 100"),
    ):
        csrf = await page_token(client, "/account")
        response = await client.post("/account/tokens", data={"csrf_token": csrf, **data})
        assert response.status_code == 422, (data, response.status_code)
        assert message in html.unescape(response.text), (data, response.text)
        assert SECRET.search(response.text) is None
    assert "No tokens yet." in (await client.get("/account")).text


async def test_the_cap_is_shown_on_the_form(client: httpx.AsyncClient) -> None:
    email = await sign_up(client)
    login = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    headers = bearer(login.json()["access_token"])
    for i in range(TOKENS_PER_USER_MAX):
        body = {"name": f"t{i}", "scopes": ["tasks:read"]}
        assert (
            await client.post("/api/auth/tokens", headers=headers, json=body)
        ).status_code == 201
    refused = await create(client, "one more", ["tasks:read"])
    assert refused.status_code == 422
    assert f"at most {TOKENS_PER_USER_MAX} personal access tokens" in refused.text


async def test_the_page_needs_its_csrf_token(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    response = await client.post(
        "/account/tokens", data={"token_name": "x", "scopes": ["tasks:read"], "expires": "30"}
    )
    assert response.status_code == 403
    assert "No tokens yet." in (await client.get("/account")).text


async def test_another_users_token_is_404_on_the_page(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await sign_up(client)
    made = await create(client, "Private", ["tasks:read"])
    (token_id,) = REVOKE.findall(made.text)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as other:
        await sign_up(other)
        csrf = await page_token(other, "/account")
        for target in (token_id, str(2**63), "0"):
            response = await other.post(
                f"/account/tokens/{target}/delete", data={"csrf_token": csrf}, headers=HTML
            )
            assert response.status_code == 404, (target, response.status_code)
            assert "Private" not in response.text
    assert "Private" in (await client.get("/account")).text
