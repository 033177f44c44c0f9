"""App passwords in Chromium: made on the account page, copied, used by a real CalDAV
client (the python `caldav` library) against the live server, then revoked there; the
section pictured on a phone and a desktop, light and dark (tests/artifacts/app-passwords-*)."""

from __future__ import annotations

import asyncio
import re

import pytest
from caldav.lib.error import AuthorizationError
from playwright.async_api import BrowserContext, Page, expect

import caldav
from tests.web.conftest import ARTIFACTS, LiveServer, WebUser, each_look
from tests.web.test_accessibility import serious_violations

pytestmark = pytest.mark.browser


def _calendars(url: str, email: str, password: str) -> list[str]:
    with caldav.DAVClient(url=f"{url}/dav/", username=email, password=password) as client:
        return [str(calendar.name) for calendar in client.principal().calendars()]


async def test_an_app_password_is_made_used_and_revoked_from_the_account_page(
    page: Page, context: BrowserContext, live_server: LiveServer, user: WebUser
) -> None:
    await context.grant_permissions(["clipboard-read", "clipboard-write"])
    await page.goto("/account")
    section = page.get_by_role("region", name="Calendar and task apps (CalDAV)")
    await expect(section.get_by_text("No app passwords yet.")).to_be_visible()
    await expect(section.locator(".caldav-address")).to_have_text(f"{live_server.url}/dav/")
    await section.get_by_label("App password name").fill("Phone (DAVx5)")
    await section.get_by_role("button", name="Create app password").click()

    secret_field = page.get_by_label("The new app password")
    await expect(secret_field).to_have_value(re.compile(r"^todo-app-[a-z0-9-]{39}$"))
    password = await secret_field.input_value()
    await section.get_by_role("button", name="Copy").click()
    await expect(section.get_by_role("button", name="Copied")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == password
    listed = section.locator(".token", has_text="Phone (DAVx5)")
    await expect(listed).to_contain_text("Last used never")

    async for scheme, device in each_look(page):
        assert await serious_violations(page) == [], f"{scheme}, {device}"
        name = f"app-passwords-{device}-{scheme}"
        await section.screenshot(path=ARTIFACTS / f"{name}.png", caret="initial")

    names = await asyncio.to_thread(_calendars, live_server.url, user.email, password)
    assert names, "the CalDAV client found no calendar"
    # Not a reload: that would post the form again.
    await page.goto("/account")
    await expect(listed).not_to_contain_text("Last used never")
    assert password not in await page.content()

    await listed.get_by_role("button", name="Revoke Phone (DAVx5)").click()
    await expect(page.locator("#toasts")).to_contain_text("The app password was revoked")
    await expect(section.get_by_text("No app passwords yet.")).to_be_visible()
    with pytest.raises(AuthorizationError):
        await asyncio.to_thread(_calendars, live_server.url, user.email, password)
