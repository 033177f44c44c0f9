"""Subtasks in Chromium: Tab / Shift+Tab on a focused row indent and outdent it, a parent
shows its progress and folds (remembered after a reload), completing a parent with open
subtasks asks in a dialog; four levels of long titles still read as lines on a phone.
Screenshots at 390x844 and 1280x800, light and dark, go to tests/artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Locator, Page, expect

from tests.web.conftest import ARTIFACTS, WebUser
from tests.web.test_accessibility import serious_violations

pytestmark = pytest.mark.browser

SIZES = {"phone": (390, 844), "desktop": (1280, 800)}


async def _add(page: Page, *titles: str) -> None:
    for title in titles:
        await page.get_by_label("New task").fill(title)
        await page.get_by_label("New task").press("Enter")
        await expect(page.get_by_role("link", name=title, exact=True)).to_be_visible()


def _row(page: Page, title: str) -> Locator:
    return page.locator("li.task", has=page.get_by_role("link", name=title, exact=True))


def _title(page: Page, title: str) -> Locator:
    return page.locator("#task-list .title", has_text=re.compile(f"^{re.escape(title)}$"))


async def _inbox_oldest_first(page: Page) -> None:
    await page.goto("/?view=inbox")
    await page.get_by_label("Sort").select_option("oldest")
    await expect(page).to_have_url(re.compile(r"sort=oldest"))


async def _press_on(page: Page, title: str, key: str, depth: int) -> None:
    # After the list settles from the change before: htmx puts focus back where it was then.
    await page.wait_for_load_state("networkidle")
    await _title(page, title).focus()
    await expect(_title(page, title)).to_be_focused()
    await page.keyboard.press(key)
    await expect(_row(page, title)).to_have_class(
        re.compile(rf"depth-{depth}\b") if depth else re.compile(r"^(?!.*\bsub\b)")
    )


async def test_indent_outdent_fold_and_the_completion_dialog(page: Page, user: WebUser) -> None:
    await _inbox_oldest_first(page)
    await _add(page, "Trip", "Pack bags", "Book hotel")
    await _press_on(page, "Pack bags", "Tab", 1)
    await _press_on(page, "Book hotel", "Tab", 1)
    await _press_on(page, "Book hotel", "Tab", 2)
    # Focus stays on the row that moved, so the keys can go on.
    await expect(_title(page, "Book hotel")).to_be_focused()
    await _press_on(page, "Book hotel", "Shift+Tab", 1)
    trip = _row(page, "Trip")
    await expect(trip.locator(".progress")).to_have_text("0/2")
    await expect(trip.get_by_role("button", name="Outdent Trip")).to_have_count(0)
    await expect(
        _row(page, "Book hotel").get_by_role("button", name="Outdent Book hotel")
    ).to_have_count(1)

    # Folding hides the subtasks, and the browser remembers it.
    twisty = trip.get_by_role("button", name="Subtasks of Trip")
    await twisty.click()
    await expect(twisty).to_have_attribute("aria-expanded", "false")
    await expect(_row(page, "Pack bags")).to_be_hidden()
    await page.reload()
    await expect(_row(page, "Pack bags")).to_be_hidden()
    await trip.get_by_role("button", name="Subtasks of Trip").click()
    await expect(_row(page, "Pack bags")).to_be_visible()

    # Completing the parent asks; Cancel changes nothing.
    await trip.get_by_role("checkbox", name="Trip").click()
    dialog = page.get_by_role("dialog", name="Complete the subtasks too?")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("“Trip” has 2 open subtasks.")
    for scheme in ("light", "dark"):
        await page.emulate_media(color_scheme=scheme)
        await page.screenshot(path=ARTIFACTS / f"subtasks-dialog-{scheme}.png")
    await page.emulate_media(color_scheme="light")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    await expect(trip.get_by_role("checkbox", name="Trip")).to_have_attribute(
        "aria-checked", "false"
    )
    # "Only this task" leaves them open; reopened, "Complete all" completes every level.
    await trip.get_by_role("checkbox", name="Trip").click()
    await dialog.get_by_role("button", name="Only this task").click()
    await expect(trip.get_by_role("checkbox", name="Trip")).to_have_attribute(
        "aria-checked", "true"
    )
    await expect(_row(page, "Pack bags").get_by_role("checkbox")).to_have_attribute(
        "aria-checked", "false"
    )
    await trip.get_by_role("checkbox", name="Trip").click()
    await expect(trip.get_by_role("checkbox", name="Trip")).to_have_attribute(
        "aria-checked", "false"
    )
    await trip.get_by_role("checkbox", name="Trip").click()
    await dialog.get_by_role("button", name="Complete all").click()
    await expect(dialog).to_be_hidden()
    for title in ("Trip", "Pack bags", "Book hotel"):
        await expect(_row(page, title).get_by_role("checkbox")).to_have_attribute(
            "aria-checked", "true"
        )
    await expect(trip.locator(".progress")).to_have_text("2/2")


LONG = [
    "Plan the family reunion in the summer",
    "Find a venue that takes sixty people",
    "Ask the three places on the short list",
    "Compare what each of them charges per head",
]


async def test_four_levels_read_as_lines_on_a_phone(page: Page, user: WebUser) -> None:
    await _inbox_oldest_first(page)
    await _add(page, *LONG)
    for depth, title in enumerate(LONG[1:], start=1):
        for level in range(1, depth + 1):
            await _press_on(page, title, "Tab", level)
    await page.goto("/?view=inbox")
    for scheme in ("light", "dark"):
        await page.emulate_media(color_scheme=scheme)
        for device, (width, height) in SIZES.items():
            await page.set_viewport_size({"width": width, "height": height})
            await page.reload()
            deepest = _title(page, LONG[-1])
            await expect(deepest).to_be_visible()
            box = await deepest.bounding_box()
            assert box is not None
            # A title squeezed to a letter per line would be a few characters wide.
            assert box["width"] > 120, (device, box)
            assert box["height"] < 5 * 24, (device, box)
            assert await serious_violations(page) == [], (scheme, device)
            await page.screenshot(path=ARTIFACTS / f"subtasks-{device}-{scheme}.png")
    await page.emulate_media(color_scheme="light")


async def test_add_subtask_on_the_task_page(page: Page, user: WebUser) -> None:
    await _add(page, "Paint the fence")
    await page.get_by_role("link", name="Details of Paint the fence").click()
    await page.get_by_label("Add subtask").fill("Buy paint")
    await page.get_by_role("button", name="Add subtask").click()
    await expect(page.get_by_role("status")).to_contain_text("Added the subtask “Buy paint”.")
    await expect(page.locator(".subtask-list")).to_contain_text("Buy paint")
    await expect(page.get_by_role("heading", name=re.compile("Subtasks"))).to_contain_text("0/1")
