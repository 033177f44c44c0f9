"""Two people in two Chromium contexts on a shared list: the owner assigns a task to the
member and comments; the member sees the assignment and the comment, and answers. The task
page with comments passes axe, light and dark, phone and desktop, and is pictured for review
(tests/artifacts/screenshots/task-comments-*.png)."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from tests.web.conftest import LiveServer, sign_up, watch
from tests.web.test_accessibility import SCREENSHOTS, serious_violations
from tests.web.test_sharing_browser import SIZES

pytestmark = pytest.mark.browser


async def _picture(page: Page, name: str) -> None:
    """The page (no sidebar on a task's page) in both schemes and sizes, checked by axe."""
    for scheme in ("light", "dark"):
        await page.emulate_media(color_scheme=scheme)
        for device, (width, height) in SIZES.items():
            await page.set_viewport_size({"width": width, "height": height})
            assert await serious_violations(page) == [], f"{name}, {scheme}, {device}"
            await page.screenshot(
                path=SCREENSHOTS / f"{name}-{device}-{scheme}.png", full_page=True, caret="initial"
            )


async def _open_task(page: Page, title: str) -> None:
    await page.get_by_role("link", name=f"Details of {title}").click()
    await expect(page.get_by_role("heading", name="Task details")).to_be_visible()


async def test_a_member_sees_anothers_comment_and_assignment(
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

        await ada.get_by_label("New list").fill("House")
        await ada.get_by_role("button", name="Create list").click()
        await ada.get_by_label("New task").fill("Paint the fence")
        await ada.get_by_label("New task").press("Enter")
        await expect(ada.get_by_role("link", name="Paint the fence", exact=True)).to_be_visible()
        await ada.locator(".share-panel summary").click()
        await ada.get_by_label("Invite by email").fill(bob_user.email)
        await ada.get_by_role("button", name="Invite").click()
        await expect(ada.get_by_role("status")).to_contain_text("Shared with Bob Babbage")

        await _open_task(ada, "Paint the fence")
        await ada.get_by_label("Assigned to").select_option(label="Bob Babbage")
        await ada.get_by_role("button", name="Save").click()
        await expect(ada.locator(".badge.assignee")).to_have_text("@Bob Babbage")
        await _open_task(ada, "Paint the fence")
        await ada.get_by_label("Add a comment").fill("White, please.\nTwo coats.")
        await ada.get_by_role("button", name="Comment").click()
        await expect(ada.locator(".comment-body")).to_have_text("White, please.\nTwo coats.")

        await bob.reload()
        await bob.get_by_role("link", name="Assigned to me").click()
        await expect(bob.get_by_role("link", name="Paint the fence", exact=True)).to_be_visible()
        await _open_task(bob, "Paint the fence")
        await expect(bob.locator("#assignee_id option:checked")).to_have_text("Bob Babbage (me)")
        await expect(bob.locator(".comment .who")).to_have_text("Ada Lovelace")
        await expect(bob.locator(".comment-body")).to_have_text("White, please.\nTwo coats.")
        await bob.get_by_label("Add a comment").fill("<b>On it</b>")
        await bob.get_by_role("button", name="Comment").click()
        await expect(bob.locator(".comment-body").nth(1)).to_have_text("<b>On it</b>")

        await ada.reload()
        await expect(ada.locator(".comment")).to_have_count(2)
        await expect(ada.locator(".comment .who").nth(1)).to_have_text("Bob Babbage")
        await _picture(ada, "task-comments")
        assert problems == []
    finally:
        await first.close()
        await second.close()
