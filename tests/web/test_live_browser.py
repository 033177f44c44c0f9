"""Two tabs of one signed-in user: a change in one shows in the other without a reload,
counts included, and a row being edited there is not overwritten."""

from __future__ import annotations

import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.web.conftest import WebUser, wait_until, watch

pytestmark = pytest.mark.browser

# A second or two: the change goes through the server and back to the other tab.
SHOWS_WITHIN_MS = 2500


async def _add(page: Page, title: str) -> None:
    await page.get_by_label("New task").fill(title)
    await page.get_by_role("button", name="Add").click()
    await expect(page.locator("#task-list")).to_contain_text(title)


async def test_a_change_in_one_tab_shows_in_the_other(
    context: BrowserContext, page: Page, user: WebUser
) -> None:
    other = await context.new_page()
    problems = watch(other)
    await other.goto("/")
    await _add(page, "Bake bread")
    row = other.locator("#task-list .task", has_text="Bake bread")
    await expect(row).to_be_visible(timeout=SHOWS_WITHIN_MS)
    all_tasks = other.locator("#sidebar-views a", has_text="All tasks").locator(".count")
    await expect(all_tasks).to_have_text("1", timeout=SHOWS_WITHIN_MS)

    await page.locator("#task-list .task", has_text="Bake bread").locator(".check").click()
    await expect(row).to_have_class("task done", timeout=SHOWS_WITHIN_MS)
    await expect(all_tasks).to_have_text("0", timeout=SHOWS_WITHIN_MS)
    assert problems == []
    await other.close()


async def test_a_row_being_edited_is_not_overwritten(
    context: BrowserContext, page: Page, user: WebUser
) -> None:
    await _add(page, "Write letter")
    other = await context.new_page()
    problems = watch(other)
    await other.goto("/")
    await other.locator("#task-list .title", has_text="Write letter").click()
    editing = other.locator("#task-list .edit-title")
    await expect(editing).to_be_visible()
    await editing.fill("Write a long letter")

    # A stream of the test's own in that tab tells when the news has arrived there.
    await other.evaluate(
        """() => new Promise(resolve => {
          window.seen = 0
          const source = new EventSource('/events')
          source.addEventListener('task.created', () => { window.seen += 1 })
          source.onopen = resolve
        })"""
    )
    await _add(page, "Post it")
    await wait_until(other, "() => window.seen >= 1")
    # Proving that nothing happens takes time: longer than the page waits before it
    # draws the list again (100 ms), and a retry (500 ms).
    await other.wait_for_timeout(800)
    # The tab held its refresh back while the row is edited: the typing stays.
    await expect(editing).to_have_value("Write a long letter")
    await expect(other.locator("#task-list")).not_to_contain_text("Post it")
    await editing.press("Enter")
    # Once the edit is saved, the change held back shows.
    await expect(other.locator("#task-list")).to_contain_text("Post it", timeout=SHOWS_WITHIN_MS)
    await expect(other.locator("#task-list")).to_contain_text("Write a long letter")
    assert problems == []
    await other.close()


async def test_the_task_page_shows_its_history_live(
    context: BrowserContext, page: Page, user: WebUser
) -> None:
    await _add(page, "Call the bank")
    await page.locator("#task-list .open").first.click()
    history = page.locator("#activity")
    await expect(history).to_contain_text("created it")
    other = await context.new_page()
    await other.goto("/")
    await other.locator("#task-list .task", has_text="Call the bank").locator(".check").click()
    await expect(history).to_contain_text("completed it", timeout=SHOWS_WITHIN_MS)
    # The form on the page is left as it was.
    await expect(page.get_by_label("Title")).to_have_value("Call the bank")
    await other.close()
