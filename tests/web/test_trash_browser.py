"""The trash in Chromium: Undo brings back the same task, the Trash view restores, deletes for
good and empties (after a confirm); axe finds nothing serious there; screenshots of the view
at 390x844 and 1280x800, light and dark, go to tests/artifacts/."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.web.conftest import ARTIFACTS, WebUser
from tests.web.test_accessibility import serious_violations

pytestmark = pytest.mark.browser

SIZES = {"phone": (390, 844), "desktop": (1280, 800)}


async def _add(page: Page, *lines: str) -> None:
    for line in lines:
        await page.get_by_label("New task").fill(line)
        await page.get_by_label("New task").press("Enter")
        title = line.split(" #")[0].split(" !")[0]
        await expect(page.get_by_role("link", name=title, exact=True)).to_be_visible()


async def test_undo_and_the_trash_view(page: Page, user: WebUser) -> None:
    await _add(page, "Pay rent", "Book the dentist #health !high", "Water the plants")
    row = page.locator("li.task", has=page.get_by_role("link", name="Pay rent", exact=True))
    row_id = await row.get_attribute("id")
    await page.get_by_role("button", name="Delete Pay rent").click()
    await expect(row).to_have_count(0)
    toast = page.get_by_role("status").locator(".toast")
    await toast.get_by_role("button", name="Undo").click()
    # The very task, not a copy: the row comes back under its own id.
    await expect(page.locator(f"#{row_id}")).to_contain_text("Pay rent")

    for title in ("Book the dentist", "Water the plants"):
        await page.get_by_role("button", name=f"Delete {title}").click()
        await expect(page.get_by_role("link", name=title, exact=True)).to_have_count(0)
    await page.goto("/trash")
    await expect(page.get_by_role("heading", name="Trash", level=1)).to_be_visible()
    await expect(page.locator(".trashed .title")).to_have_text(
        ["Water the plants", "Book the dentist"]
    )
    await expect(page.get_by_role("link", name="Trash")).to_have_attribute("aria-current", "page")
    for scheme in ("light", "dark"):
        await page.emulate_media(color_scheme=scheme)
        for device, (width, height) in SIZES.items():
            await page.set_viewport_size({"width": width, "height": height})
            # Loaded at that size, as a phone opens it: the menu starts closed there.
            await page.reload()
            assert await serious_violations(page) == [], (scheme, device)
            await page.screenshot(path=ARTIFACTS / f"trash-{device}-{scheme}.png", caret="initial")
    await page.emulate_media(color_scheme="light")

    dentist = page.locator(".trashed", has_text="Book the dentist")
    await dentist.get_by_role("button", name="Restore").click()
    await expect(page.get_by_role("status")).to_contain_text("Restored “Book the dentist”.")
    await expect(page.locator(".trashed .title")).to_have_text(["Water the plants"])

    await (
        page.locator(".trashed", has_text="Water the plants")
        .get_by_role("button", name="Delete forever")
        .click()
    )
    await expect(page.get_by_role("status")).to_contain_text("Deleted the task for good.")
    await expect(page.get_by_text("The trash is empty")).to_be_visible()

    await page.goto("/")
    await expect(page.get_by_role("link", name="Book the dentist", exact=True)).to_be_visible()
    await page.get_by_role("button", name="Delete Pay rent").click()
    await expect(page.get_by_role("link", name="Pay rent", exact=True)).to_have_count(0)
    await page.goto("/trash")
    await page.locator("summary", has_text="Empty trash").click()
    empty = page.get_by_role("button", name="Empty trash")
    await empty.click()
    # The confirm box is required: nothing went yet.
    await expect(page.locator(".trashed .title")).to_have_text(["Pay rent"])
    await page.get_by_label("Yes, delete every task in the trash for good").check()
    await empty.click()
    await expect(page.get_by_role("status")).to_contain_text("1 task deleted for good")
    await expect(page.get_by_text("The trash is empty")).to_be_visible()
