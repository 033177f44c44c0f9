"""Organize and find in Chromium: quick add with its preview, and recurring tasks."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.web.conftest import WebUser
from tests.web.test_browser import row

pytestmark = pytest.mark.browser


async def quick_add(page: Page, line: str) -> None:
    field = page.get_by_label("New task")
    await field.fill(line)
    await field.press("Enter")
    await expect(field).to_have_value("")


async def test_quick_add_previews_the_parts_then_creates_the_task(
    page: Page, user: WebUser
) -> None:
    field = page.get_by_label("New task")
    await field.press_sequentially("Pay rent every month on the 1st #home !high +Bills")
    preview = page.locator("#quick-preview")
    await expect(preview.locator('[data-chip="repeat"]')).to_contain_text("month")
    await expect(preview.locator('[data-chip="due"]')).to_be_visible()
    await expect(preview.locator('[data-chip="priority"]')).to_have_text("! high")
    await expect(preview.locator('[data-chip="tag"]')).to_have_text("#home")
    await expect(preview.locator('[data-chip="list"]')).to_have_text("+Bills")
    await field.press("Enter")
    created = row(page, "Pay rent")
    await expect(created).to_be_visible()
    await expect(created.locator(".badge.tag")).to_have_text("#home")
    await expect(created.locator(".badge.repeat")).to_be_visible()
    await expect(created.locator(".priority-high")).to_be_visible()


async def test_completing_a_daily_task_twice_makes_two_successors(
    page: Page, user: WebUser
) -> None:
    await quick_add(page, "Water the plants every day")
    today = row(page, "Water the plants")
    await expect(today.locator(".badge.due")).to_have_text("Today")

    await today.get_by_role("checkbox").click()
    pending = page.locator("#task-list > li:not(.done)")
    await expect(pending).to_have_count(1)
    await expect(pending.locator(".badge.due")).to_have_text("Tomorrow")

    await pending.get_by_role("checkbox").click()
    await expect(page.locator("#task-list > li.done")).to_have_count(2)
    await expect(pending).to_have_count(1)
    await expect(pending.locator(".badge.due")).to_have_text(re.compile(r"^\w{3} \d{1,2} \w{3}"))
