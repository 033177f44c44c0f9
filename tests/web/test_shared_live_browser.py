"""Two people in two Chromium contexts: the list shared with the member appears in their
sidebar, and the owner's changes to it show on the member's page, without a reload."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.web.conftest import Two, sign_up
from tests.web.sharing_steps import add_task, new_list, share_with
from tests.web.test_accessibility import SCREENSHOTS, serious_violations

pytestmark = pytest.mark.browser

# The change goes through the server and back to the other person's page.
SHOWS_WITHIN_MS = 2500


async def test_the_members_page_follows_the_owners_changes_live(two: Two) -> None:
    ada, bob = two.ada, two.bob
    await sign_up(ada, "Ada Lovelace")
    bob_user = await sign_up(bob, "Bob Babbage")
    await new_list(ada, "Family groceries")
    await share_with(ada, bob_user)

    # Bob's page was open all along: the shared list joins his sidebar.
    shared = bob.locator("#sidebar-lists a", has_text="Family groceries")
    await expect(shared).to_be_visible(timeout=SHOWS_WITHIN_MS)
    await shared.click()
    await expect(bob.get_by_role("heading", name="Family groceries")).to_be_visible()

    await add_task(ada, "Buy bread")
    row = bob.locator("#task-list .task", has_text="Buy bread")
    await expect(row).to_be_visible(timeout=SHOWS_WITHIN_MS)

    await ada.locator("#task-list .task", has_text="Buy bread").locator(".check").click()
    await expect(row).to_have_class("task done", timeout=SHOWS_WITHIN_MS)


async def test_a_viewer_sees_a_read_only_list_and_task_page(two: Two) -> None:
    ada, bob = two.ada, two.bob
    await sign_up(ada, "Ada Lovelace")
    bob_user = await sign_up(bob, "Bob Babbage")
    await new_list(ada, "Reading list")
    await add_task(ada, "Read Dune")
    await share_with(ada, bob_user, role="viewer")

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
