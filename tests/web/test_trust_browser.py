"""The web app in Chromium keeps what people typed and shows things where they are (issue 10)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.web.conftest import ARTIFACTS, WebUser
from tests.web.test_browser import row, titles

pytestmark = pytest.mark.browser


async def test_fixing_a_form_error_saves_without_completing_the_task(
    page: Page, user: WebUser
) -> None:
    field = page.get_by_label("New task")
    await field.fill("Water the plants every day")
    await field.press("Enter")
    await expect(row(page, "Water the plants")).to_be_visible()
    await page.get_by_role("link", name="Details of Water the plants").click()
    title = page.get_by_role("textbox", name="Title")
    await title.fill("")
    # The browser would refuse the empty field itself; the server must refuse it too.
    await title.evaluate("field => field.removeAttribute('required')")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#title-error")).to_be_visible()
    await expect(page.get_by_label("Completed")).not_to_be_checked()
    await page.get_by_role("textbox", name="Title").fill("Water the ferns")
    await page.get_by_role("button", name="Save").click()
    await expect(page).to_have_url(re.compile(r"/$"))
    await expect(titles(page)).to_have_text(["Water the ferns"])
    await expect(row(page, "Water the ferns").get_by_role("checkbox")).to_have_attribute(
        "aria-checked", "false"
    )


async def test_counts_and_the_sidebar_follow_every_change_without_a_reload(
    page: Page, user: WebUser
) -> None:
    await page.evaluate("window.stayedOnThePage = true")
    sidebar = page.get_by_role("navigation", name="Views")
    shown = page.get_by_role("navigation", name="Show")
    field = page.get_by_label("New task")
    await field.fill("Buy stamps #post +Errands")
    await field.press("Enter")
    await expect(sidebar.get_by_role("link", name="Errands 1")).to_be_visible()
    await expect(sidebar.get_by_role("link", name="#post 1")).to_be_visible()
    await expect(sidebar.get_by_role("link", name="All tasks 1")).to_be_visible()
    await page.get_by_role("checkbox", name="Buy stamps").click()
    await expect(sidebar.get_by_role("link", name="Errands 0")).to_be_visible()
    await expect(sidebar.get_by_role("link", name="Completed 1")).to_be_visible()
    await expect(shown.get_by_role("link", name="Completed 1")).to_be_visible()
    await page.get_by_role("button", name="Delete Buy stamps").click()
    await expect(sidebar.get_by_role("link", name="Completed 0")).to_be_visible()
    await expect(shown.get_by_role("link", name="All 0")).to_be_visible()
    assert await page.evaluate("window.stayedOnThePage") is True


async def _type_tasks(page: Page, *lines: str) -> None:
    field = page.get_by_label("New task")
    for line in lines:
        await field.fill(line)
        await field.press("Enter")
        await expect(field).to_have_value("")


@pytest.mark.parametrize("where", ["/?filter=active", "/?view=today"])
async def test_completing_with_x_in_a_filtered_view_moves_focus_to_the_next_row(
    page: Page, user: WebUser, where: str
) -> None:
    await _type_tasks(page, "Alpha today", "Bravo today", "Charlie every day")
    await page.goto(where)
    await expect(titles(page)).to_have_count(3)
    first, middle, last = await titles(page).all_text_contents()
    # The middle row goes (a repeating one brings the whole list back): focus moves down.
    await page.get_by_role("link", name=middle, exact=True).focus()
    await page.keyboard.press("x")
    await expect(titles(page)).to_have_text([first, last])
    await expect(page.get_by_role("link", name=last, exact=True)).to_be_focused()
    # The last row goes: focus moves up, and the next keys act on the rows, not the add box.
    await page.keyboard.press("x")
    await expect(titles(page)).to_have_text([first])
    await expect(page.get_by_role("link", name=first, exact=True)).to_be_focused()
    await page.keyboard.press("j")
    await page.keyboard.press("e")
    await expect(page.get_by_role("textbox", name="Title")).to_have_value(first)
    await expect(page.get_by_label("New task")).to_have_value("")


async def test_on_a_phone_titles_keep_their_width_and_the_menu_opens_over_the_page(
    page: Page, user: WebUser
) -> None:
    await page.set_viewport_size({"width": 390, "height": 844})
    await _type_tasks(
        page,
        "Renew the passport at the town hall tomorrow !high #admin #travel #errands every week",
        "Buy milk",
    )
    await page.goto("/")
    title = page.get_by_role("link", name="Renew the passport at the town hall", exact=True)
    box = await title.bounding_box()
    row_box = await row(page, "Renew the passport at the town hall").bounding_box()
    assert box is not None
    assert row_box is not None
    # The title takes most of the row (not a sliver beside the badges) and wraps in words.
    assert box["width"] > row_box["width"] * 0.6
    line_height = await title.evaluate("el => parseFloat(getComputedStyle(el).lineHeight)")
    assert box["height"] <= 2.5 * line_height
    badges = row(page, "Renew the passport at the town hall").locator(".task-meta")
    badges_box = await badges.bounding_box()
    assert badges_box is not None
    assert badges_box["y"] >= box["y"] + box["height"] - 1
    await page.screenshot(path=ARTIFACTS / "phone-rows.png")

    heading = page.get_by_role("heading", level=1)
    before = await heading.bounding_box()
    await page.get_by_text("Menu", exact=True).click()
    views = page.get_by_role("navigation", name="Views")
    await expect(views.get_by_role("link", name="Today", exact=True)).to_be_visible()
    after = await heading.bounding_box()
    assert before is not None
    assert after is not None
    assert after["y"] == before["y"], "opening the menu pushed the page down"
    drawer = await views.bounding_box()
    assert drawer is not None
    assert drawer["x"] == 0
    assert drawer["y"] <= before["y"]
    await page.screenshot(path=ARTIFACTS / "phone-menu.png")
    await page.keyboard.press("Escape")
    await expect(views.get_by_role("link", name="Today", exact=True)).to_be_hidden()
    await page.get_by_text("Menu", exact=True).click()
    await page.mouse.click(380, 400)  # the shade beside the drawer
    await expect(views.get_by_role("link", name="Today", exact=True)).to_be_hidden()
