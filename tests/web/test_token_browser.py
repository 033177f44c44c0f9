"""Personal access tokens in Chromium: made on the account page, copied, used by a program
against the live server, then revoked there; the page pictured on a phone and a desktop,
light and dark (tests/artifacts/tokens-*.png)."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.web.conftest import ARTIFACTS, LiveServer, WebUser, each_look
from tests.web.test_accessibility import serious_violations

pytestmark = pytest.mark.browser


async def test_a_token_is_made_used_and_revoked_from_the_account_page(
    page: Page, context: BrowserContext, live_server: LiveServer, user: WebUser
) -> None:
    await context.grant_permissions(["clipboard-read", "clipboard-write"])
    await page.goto("/account")
    tokens = page.get_by_role("region", name="Personal access tokens")
    await expect(tokens.get_by_text("No tokens yet.")).to_be_visible()
    await tokens.get_by_label("Token name").fill("Nightly backup")
    await tokens.get_by_role("checkbox", name="tasks:read").check()
    await tokens.get_by_role("checkbox", name="tasks:write").check()
    await tokens.get_by_label("Expires").select_option(label="In 90 days")
    await tokens.get_by_role("button", name="Create token").click()

    secret_field = page.get_by_label("The new token")
    await expect(secret_field).to_have_value(re.compile(r"^todo_pat_[A-Za-z0-9_-]{43}$"))
    secret = await secret_field.input_value()
    await page.get_by_role("button", name="Copy").click()
    await expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == secret
    listed = page.locator(".token", has_text="Nightly backup")
    await expect(listed).to_contain_text("tasks:read")
    await expect(listed).to_contain_text("Last used never")

    async for scheme, device in each_look(page):
        assert await serious_violations(page) == [], f"{scheme}, {device}"
        name = f"tokens-account-{device}-{scheme}"
        await page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True, caret="initial")
        await tokens.screenshot(path=ARTIFACTS / f"{name}-section.png", caret="initial")

    headers = {"Authorization": f"Bearer {secret}"}
    async with httpx.AsyncClient(base_url=live_server.url, headers=headers) as program:
        made = await program.post("/api/me/tasks", json={"title": "Made by the backup script"})
        assert made.status_code == 201, made.text
        assert (await program.get("/api/me/tasks")).json()[0]["title"] == (
            "Made by the backup script"
        )
        refused = await program.get("/api/me/lists")
        assert refused.status_code == 403
        assert refused.json()["code"] == "insufficient_scope"

        # Reloaded, the page no longer shows the secret, and tells of its use.
        await page.goto("/account")
        await expect(page.get_by_label("The new token")).to_have_count(0)
        assert secret not in await page.content()
        await expect(listed).not_to_contain_text("Last used never")
        await expect(listed).to_contain_text("Last used")

        await listed.get_by_role("button", name="Revoke Nightly backup").click()
        await expect(page.locator("#toasts")).to_contain_text("The token was revoked")
        await expect(tokens.get_by_text("No tokens yet.")).to_be_visible()
        gone = await program.get("/api/me/tasks")
        assert gone.status_code == 401
        assert gone.json()["code"] == "invalid_token"
    await expect(page.get_by_role("link", name="← Tasks")).to_be_visible()


async def test_a_form_without_scopes_is_shown_again_with_why(page: Page, user: WebUser) -> None:
    await page.goto("/account")
    tokens = page.get_by_role("region", name="Personal access tokens")
    await tokens.get_by_label("Token name").fill("Nothing allowed")
    await tokens.get_by_role("button", name="Create token").click()
    await expect(page.locator("#scopes-error")).to_have_text(
        "Choose at least one of the scopes listed."
    )
    await expect(page.get_by_label("Token name")).to_have_value("Nothing allowed")
    await expect(page.get_by_label("The new token")).to_have_count(0)
