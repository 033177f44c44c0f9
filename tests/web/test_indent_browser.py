"""Subtasks by drag in Chromium, in a list in "My order": a row dragged right over the row
above its place becomes its subtask, a subtask dragged left goes one level up, the server
refuses past the depth limit (the message shown, the list as it was), and a plain vertical
drag still only reorders. Screenshots mid-drag at 1280x800, light and dark, go to
tests/artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.web.conftest import ARTIFACTS, WebUser, watch
from tests.web.test_browser import row
from tests.web.test_organize_browser import add_lines, center, titles

pytestmark = pytest.mark.browser

SIDEWAYS = 60


async def _open_work_in_my_order(page: Page, *names: str) -> None:
    await add_lines(page, *(f"{name} +Work" for name in names))
    await page.set_viewport_size({"width": 1280, "height": 800})
    await page.goto("/")
    await page.get_by_role("navigation", name="Views").get_by_role("link", name="Work").click()
    await page.get_by_label("Sort").select_option("manual")
    await expect(page).to_have_url(re.compile(r"sort=manual"))
    await expect(titles(page)).to_have_text(list(names))
    # The first-run hint out of the way, so that every row is on screen at 1280x800.
    await page.get_by_role("button", name="Got it").click()
    await expect(page.get_by_role("button", name="Got it")).to_have_count(0)


async def _depth(page: Page, title: str, depth: int) -> None:
    await expect(row(page, title)).to_have_class(
        re.compile(rf"\bdepth-{depth}\b") if depth else re.compile(r"^(?!.*\bsub\b)")
    )


async def _press(page: Page, title: str) -> tuple[float, float]:
    await expect(row(page, title).locator(".title")).to_be_visible()
    x, y = await center(row(page, title).locator(".title"))
    await page.mouse.move(x, y)
    await page.mouse.down()
    return x, y


async def _nest_by_form(page: Page, child: str, parent: str) -> None:
    """Build a deep tree the quick way: the row's own Indent form, without htmx."""
    token = await page.locator("#acts input[name=csrf_token]").get_attribute("value") or ""
    child_id = (await row(page, child).get_attribute("id") or "").removeprefix("task-")
    parent_id = (await row(page, parent).get_attribute("id") or "").removeprefix("task-")
    response = await page.request.post(
        f"/tasks/{child_id}/parent", form={"parent": parent_id, "csrf_token": token}
    )
    assert response.ok


async def test_dragging_right_indents_and_left_outdents(page: Page, user: WebUser) -> None:
    problems = watch(page)
    await _open_work_in_my_order(page, "Trip", "Pack bags", "Book hotel")

    # Right, over the row above: a subtask of it. The row shows where it lands meanwhile.
    x, y = await _press(page, "Pack bags")
    await page.mouse.move(x + SIDEWAYS, y + 2, steps=8)
    dragged = row(page, "Pack bags")
    await expect(dragged).to_have_class(re.compile(r"\bnesting\b"))
    trip_box = await row(page, "Trip").bounding_box()
    assert trip_box is not None
    for scheme in ("light", "dark"):
        await page.emulate_media(color_scheme=scheme)
        await page.screenshot(path=ARTIFACTS / f"indent-drag-{scheme}.png")
    await page.emulate_media(color_scheme="light")
    # Drawn one level deeper than the row it goes under.
    padding = await dragged.evaluate("row => parseFloat(getComputedStyle(row).paddingLeft)")
    assert padding > 20
    async with page.expect_response(re.compile(r"/parent$")) as answer:
        await page.mouse.up()
    assert (await answer.value).status == 200
    await _depth(page, "Pack bags", 1)
    await expect(row(page, "Trip").locator(".progress")).to_have_text("0/1")

    # Again, one more level: under the subtask above.
    x, y = await _press(page, "Book hotel")
    async with page.expect_response(re.compile(r"/parent$")):
        await page.mouse.move(x + SIDEWAYS, y + 2, steps=8)
        await page.mouse.up()
    await _depth(page, "Book hotel", 2)
    await page.reload()
    await _depth(page, "Pack bags", 1)
    await _depth(page, "Book hotel", 2)

    # Left: one level up, under Trip now.
    x, y = await _press(page, "Book hotel")
    async with page.expect_response(re.compile(r"/parent$")):
        await page.mouse.move(x - SIDEWAYS, y + 2, steps=8)
        await page.mouse.up()
    await _depth(page, "Book hotel", 1)
    await expect(row(page, "Trip").locator(".progress")).to_have_text("0/2")
    await page.reload()
    await expect(titles(page)).to_have_text(["Trip", "Pack bags", "Book hotel"])
    await _depth(page, "Book hotel", 1)
    await expect(row(page, "Book hotel")).to_have_attribute(
        "data-parent", (await row(page, "Trip").get_attribute("id") or "").removeprefix("task-")
    )
    # Letting go does not open the title for editing.
    await expect(page.locator("#task-list .editing")).to_have_count(0)
    assert problems == [], problems


async def test_past_the_depth_limit_the_server_says_no_and_nothing_changes(
    page: Page, user: WebUser
) -> None:
    names = ["One", "Two", "Three", "Four", "Five"]
    await _open_work_in_my_order(page, *names)
    for child, parent in zip(names[1:4], names[:3], strict=True):
        await _nest_by_form(page, child, parent)
    await page.reload()
    await _depth(page, "Four", 3)

    x, y = await _press(page, "Five")
    async with page.expect_response(re.compile(r"/parent$")) as answer:
        await page.mouse.move(x + SIDEWAYS, y + 2, steps=8)
        await page.mouse.up()
    assert (await answer.value).status == 422
    await expect(page.locator("#toasts .toast.error")).to_contain_text(
        "too deep: subtasks go at most 4 levels deep"
    )
    # Rolled back: drawn again as the server has it.
    await expect(titles(page)).to_have_text(names)
    await _depth(page, "Five", 0)
    await expect(row(page, "Five")).not_to_have_class(re.compile(r"\bnesting\b"))
    await page.reload()
    await _depth(page, "Five", 0)
    await _depth(page, "Four", 3)


async def test_a_plain_vertical_drag_only_reorders(page: Page, user: WebUser) -> None:
    await _open_work_in_my_order(page, "Alpha", "Bravo", "Charlie")
    await _nest_by_form(page, "Bravo", "Alpha")
    await page.reload()
    await _depth(page, "Bravo", 1)

    x, _ = await _press(page, "Charlie")
    top = await row(page, "Alpha").bounding_box()
    assert top is not None
    async with page.expect_response(re.compile(r"/move$")) as moved:
        await page.mouse.move(x + 10, top["y"] + 3, steps=12)
        await page.mouse.up()
    assert (await moved.value).status == 204
    await expect(titles(page)).to_have_text(["Charlie", "Alpha", "Bravo"])
    await page.reload()
    await expect(titles(page)).to_have_text(["Charlie", "Alpha", "Bravo"])
    await _depth(page, "Charlie", 0)
    await _depth(page, "Bravo", 1)


async def test_a_drag_that_ends_where_it_started_sends_nothing(page: Page, user: WebUser) -> None:
    await _open_work_in_my_order(page, "Alpha", "Bravo")
    await _nest_by_form(page, "Bravo", "Alpha")
    await page.reload()
    sent: list[str] = []
    page.on("request", lambda sent_: sent.append(sent_.url) if sent_.method != "GET" else None)

    # Out to the right and back, and right again under the parent it already has.
    x, y = await _press(page, "Alpha")
    await page.mouse.move(x + SIDEWAYS, y, steps=6)
    await page.mouse.move(x, y + 1, steps=6)
    await page.mouse.up()
    x, y = await _press(page, "Bravo")
    await page.mouse.move(x + SIDEWAYS, y, steps=6)
    await expect(row(page, "Bravo")).to_have_class(re.compile(r"\bnesting\b"))
    await page.mouse.up()
    await page.wait_for_load_state("networkidle")
    assert sent == []
    await expect(titles(page)).to_have_text(["Alpha", "Bravo"])
    await _depth(page, "Bravo", 1)
    await expect(page.locator("#task-list .nesting, #task-list .dragging")).to_have_count(0)


async def test_under_a_folded_row_the_drag_nests_under_the_row_shown(
    page: Page, user: WebUser
) -> None:
    await _open_work_in_my_order(page, "Trip", "Pack bags", "Book hotel")
    await _nest_by_form(page, "Pack bags", "Trip")
    await page.reload()
    await row(page, "Trip").get_by_role("button", name="Subtasks of Trip").click()
    await expect(row(page, "Pack bags")).to_be_hidden()

    x, y = await _press(page, "Book hotel")
    async with page.expect_response(re.compile(r"/parent$")):
        await page.mouse.move(x + SIDEWAYS, y + 2, steps=8)
        await page.mouse.up()
    # A sibling of the hidden subtask (folded away with it), not a subtask of it.
    await expect(row(page, "Trip").locator(".progress")).to_have_text("0/2")
    await row(page, "Trip").get_by_role("button", name="Subtasks of Trip").click()
    trip = (await row(page, "Trip").get_attribute("id") or "").removeprefix("task-")
    await expect(row(page, "Book hotel")).to_have_attribute("data-parent", trip)
    await _depth(page, "Book hotel", 1)
