"""Two people in two Chromium contexts share a list: the one it is shared with sees it and
adds a task, the owner sees that task after a reload. The Share panel passes axe, light and
dark, on a phone and a desktop, and is pictured for review (tests/artifacts/screenshots/)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.web.conftest import LiveServer, sign_up, watch
from tests.web.test_accessibility import SCREENSHOTS, serious_violations

pytestmark = pytest.mark.browser

SIZES = {"phone": (390, 844), "desktop": (1280, 800)}


async def _picture(page: Page, name: str) -> None:
    for scheme in ("light", "dark"):
        await page.emulate_media(color_scheme=scheme)
        for device, (width, height) in SIZES.items():
            await page.set_viewport_size({"width": width, "height": height})
            # As a phone opens the page: the sidebar is a closed menu (app.js at load).
            await page.evaluate(
                f"document.getElementById('sidebar').open = {str(device != 'phone').lower()}"
            )
            assert await serious_violations(page) == [], f"{name}, {scheme}, {device}"
            await page.screenshot(
                path=SCREENSHOTS / f"{name}-{device}-{scheme}.png", full_page=True, caret="initial"
            )


async def test_a_shared_list_is_seen_and_written_by_both(
    browser: Browser, live_server: LiveServer
) -> None:
    first = await browser.new_context(base_url=live_server.url)
    second = await browser.new_context(base_url=live_server.url)
    try:
        ada = await first.new_page()
        bob = await second.new_page()
        problems = watch(ada) + watch(bob)
        await sign_up(ada, "Ada Lovelace")
        bob_user = await sign_up(bob, "Bob Babbage")

        await ada.get_by_label("New list").fill("Family groceries")
        await ada.get_by_role("button", name="Create list").click()
        await expect(ada.get_by_role("heading", name="Family groceries")).to_be_visible()
        await ada.get_by_label("New task").fill("Buy bread")
        await ada.get_by_label("New task").press("Enter")
        await expect(ada.get_by_role("link", name="Buy bread", exact=True)).to_be_visible()
        await ada.locator(".share-panel summary").click()
        await ada.get_by_label("Invite by email").fill(bob_user.email)
        await ada.get_by_role("button", name="Invite").click()
        await expect(ada.get_by_role("status")).to_contain_text("Shared with Bob Babbage")
        await ada.locator(".share-panel summary").click()
        await expect(ada.locator(".share-panel .member")).to_have_count(2)
        await _picture(ada, "share-panel")

        await bob.reload()
        shared = bob.locator("#sidebar-lists a", has_text="Family groceries")
        await expect(shared.locator(".shared-mark")).to_be_visible()
        await shared.click()
        await expect(bob.get_by_role("link", name="Buy bread", exact=True)).to_be_visible()
        await bob.get_by_label("New task").fill("Buy apples")
        await bob.get_by_label("New task").press("Enter")
        await expect(bob.get_by_role("link", name="Buy apples", exact=True)).to_be_visible()
        # An editor sees the members but cannot invite or rename.
        await bob.locator(".share-panel summary").click()
        await expect(bob.get_by_label("Invite by email")).to_have_count(0)
        await expect(bob.get_by_role("button", name="Leave this list")).to_be_visible()
        await _picture(bob, "share-panel-member")

        await ada.reload()
        await expect(ada.get_by_role("link", name="Buy apples", exact=True)).to_be_visible()

        await bob.get_by_role("button", name="Leave this list").click()
        await expect(bob).to_have_url(re.compile(r"/$"))
        await expect(bob.locator("#sidebar-lists a", has_text="Family groceries")).to_have_count(0)
        assert problems == []
    finally:
        await first.close()
        await second.close()
