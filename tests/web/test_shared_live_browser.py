"""Two people in two Chromium contexts: the list shared with the member appears in their
sidebar, and the owner's changes to it show on the member's page, without a reload."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.web.conftest import LiveServer, sign_up, watch
from tests.web.test_accessibility import SCREENSHOTS, serious_violations

pytestmark = pytest.mark.browser

# The change goes through the server and back to the other person's page.
SHOWS_WITHIN_MS = 2500


async def test_the_members_page_follows_the_owners_changes_live(
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
        await ada.locator(".share-panel summary").click()
        await ada.get_by_label("Invite by email").fill(bob_user.email)
        await ada.get_by_role("button", name="Invite").click()
        await expect(ada.get_by_role("status")).to_contain_text("Shared with Bob Babbage")

        # Bob's page was open all along: the shared list joins his sidebar.
        shared = bob.locator("#sidebar-lists a", has_text="Family groceries")
        await expect(shared).to_be_visible(timeout=SHOWS_WITHIN_MS)
        await shared.click()
        await expect(bob.get_by_role("heading", name="Family groceries")).to_be_visible()

        await ada.get_by_label("New task").fill("Buy bread")
        await ada.get_by_label("New task").press("Enter")
        await expect(ada.get_by_role("link", name="Buy bread", exact=True)).to_be_visible()
        row = bob.locator("#task-list .task", has_text="Buy bread")
        await expect(row).to_be_visible(timeout=SHOWS_WITHIN_MS)

        await ada.locator("#task-list .task", has_text="Buy bread").locator(".check").click()
        await expect(row).to_have_class("task done", timeout=SHOWS_WITHIN_MS)
        assert problems == []
    finally:
        await first.close()
        await second.close()


async def test_a_viewer_sees_a_read_only_list_and_task_page(
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
        await ada.get_by_label("New list").fill("Reading list")
        await ada.get_by_role("button", name="Create list").click()
        await ada.get_by_label("New task").fill("Read Dune")
        await ada.get_by_label("New task").press("Enter")
        await expect(ada.get_by_role("link", name="Read Dune", exact=True)).to_be_visible()
        await ada.locator(".share-panel summary").click()
        await ada.get_by_label("Invite by email").fill(bob_user.email)
        await ada.locator("#share-role").select_option("viewer")
        await ada.get_by_role("button", name="Invite").click()
        await expect(ada.get_by_role("status")).to_contain_text("Shared with Bob Babbage")

        await bob.reload()
        await bob.locator("#sidebar-lists a", has_text="Reading list").click()
        await expect(bob.get_by_text("You can view this list.")).to_be_visible()
        await expect(bob.get_by_label("New task")).to_have_count(0)
        row = bob.locator("#task-list .task", has_text="Read Dune")
        await expect(row.locator("button")).to_have_count(0)
        assert await serious_violations(bob) == []
        await bob.screenshot(path=SCREENSHOTS / "viewer-list.png", full_page=True)

        await row.locator(".title").click()
        await expect(bob.get_by_role("heading", name="Task details")).to_be_visible()
        await expect(bob.get_by_text("You can view this list.")).to_be_visible()
        await expect(bob.get_by_label("Title")).to_be_disabled()
        await expect(bob.get_by_role("button", name="Save")).to_have_count(0)
        await expect(bob.get_by_role("button", name="Delete task")).to_have_count(0)
        assert await serious_violations(bob) == []
        await bob.screenshot(path=SCREENSHOTS / "viewer-task.png", full_page=True)
        assert problems == []
    finally:
        await first.close()
        await second.close()
