"""App passwords on the account page, over HTTP: made with a name and shown once, working
for CalDAV at once, listed with their last use, revoked (at once); another user's is a 404."""

from __future__ import annotations

import html
import re

import httpx
from fastapi import FastAPI

from tests.security.support import bearer
from tests.web.test_pages import HTML, PASSWORD, page_token, sign_up
from todo.accounts.schemas import APP_PASSWORDS_PER_USER_MAX

SECRET = re.compile(r'id="new-app-password-secret"[^>]*value="(todo-app-[a-z0-9-]{39})"')
REVOKE = re.compile(r'action="/account/app-passwords/(\d+)/delete"')
NONE_YET = "No app passwords yet."


async def create(client: httpx.AsyncClient, name: str) -> httpx.Response:
    token = await page_token(client, "/account")
    return await client.post(
        "/account/app-passwords", data={"csrf_token": token, "app_password_name": name}
    )


async def dav(client: httpx.AsyncClient, email: str, password: str) -> int:
    answer = await client.request(
        "PROPFIND", "/dav/", auth=(email, password), headers={"Depth": "0"}
    )
    return answer.status_code


async def test_an_app_password_made_on_the_page_is_shown_once_and_opens_caldav(
    client: httpx.AsyncClient,
) -> None:
    email = await sign_up(client)
    made = await create(client, "Phone (DAVx5)")
    assert made.status_code == 200, made.text
    found = SECRET.search(made.text)
    assert found is not None, made.text
    password = found.group(1)
    assert "it is not shown again" in made.text
    assert await dav(client, email, password) == 207
    page = (await client.get("/account")).text
    assert password not in page
    assert NONE_YET not in page
    assert "/dav/" in page
    assert f"<code>{email}</code>" in page
    row = page.split('<p class="token-name">Phone (DAVx5)', 1)[1].split("</li>", 1)[0]
    # Used just now, by the PROPFIND.
    assert "Last used never" not in row
    assert "Last used " in row


async def test_revoking_on_the_page_ends_the_app_password_at_once(
    client: httpx.AsyncClient,
) -> None:
    email = await sign_up(client)
    made = await create(client, "Laptop")
    found = SECRET.search(made.text)
    assert found is not None
    password = found.group(1)
    assert await dav(client, email, password) == 207
    (password_id,) = REVOKE.findall(made.text)
    csrf = await page_token(client, "/account")
    revoked = await client.post(
        f"/account/app-passwords/{password_id}/delete", data={"csrf_token": csrf}
    )
    assert revoked.status_code == 303
    assert revoked.headers["location"] == "/account"
    page = (await client.get("/account")).text
    assert "The app password was revoked" in page
    assert NONE_YET in page
    assert await dav(client, email, password) == 401


async def test_a_bad_name_is_shown_again_with_why(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    for name, message in (
        ("", "Name must be at least 1 character"),
        ("   ", "Name must not be empty"),
        ("x" * 101, "at most 100"),
    ):
        response = await create(client, name)
        assert response.status_code == 422, (name, response.status_code)
        text = html.unescape(response.text)
        assert message in text, (name, text)
        assert 'id="app_password_name-error"' in response.text
        assert SECRET.search(response.text) is None
    hostile = await create(client, "bad\x00name")
    assert hostile.status_code == 422
    assert NONE_YET in (await client.get("/account")).text


async def test_the_cap_is_shown_on_the_form(client: httpx.AsyncClient) -> None:
    email = await sign_up(client)
    login = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    headers = bearer(login.json()["access_token"])
    for i in range(APP_PASSWORDS_PER_USER_MAX):
        body = {"name": f"d{i}"}
        answer = await client.post("/api/auth/app-passwords", headers=headers, json=body)
        assert answer.status_code == 201
    refused = await create(client, "one more")
    assert refused.status_code == 422
    assert f"at most {APP_PASSWORDS_PER_USER_MAX} app passwords" in refused.text
    assert SECRET.search(refused.text) is None


async def test_the_form_needs_its_csrf_token(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    response = await client.post("/account/app-passwords", data={"app_password_name": "x"})
    assert response.status_code == 403
    assert NONE_YET in (await client.get("/account")).text


async def test_another_users_app_password_is_404_on_the_page(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    email = await sign_up(client)
    made = await create(client, "Private")
    found = SECRET.search(made.text)
    assert found is not None
    (password_id,) = REVOKE.findall(made.text)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as other:
        await sign_up(other)
        csrf = await page_token(other, "/account")
        for target in (password_id, str(2**63), "0"):
            response = await other.post(
                f"/account/app-passwords/{target}/delete",
                data={"csrf_token": csrf},
                headers=HTML,
            )
            assert response.status_code == 404, (target, response.status_code)
            assert "Private" not in response.text
    assert "Private" in (await client.get("/account")).text
    assert await dav(client, email, found.group(1)) == 207
