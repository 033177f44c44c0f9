"""Organize and find in Chromium: quick add with its preview, and recurring tasks."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.web.conftest import LiveServer, WebUser, sign_up, watch
from tests.web.test_browser import row
from todo.web.listing import PAGE_SIZE

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


async def add_lines(page: Page, *lines: str) -> None:
    """Quick-add lines the fast way, through the same form as the page."""
    token = await page.locator("#acts input[name=csrf_token]").get_attribute("value") or ""
    for line in lines:
        response = await page.request.post("/tasks", form={"title": line, "csrf_token": token})
        assert response.ok


def titles(page: Page) -> Locator:
    return page.locator("#task-list .title")


async def test_today_and_upcoming_views(page: Page, user: WebUser) -> None:
    await add_lines(
        page, "Old bill 2020-01-01", "Call mom today", "Dentist tomorrow", "Trip in 30 days"
    )
    views = page.get_by_role("navigation", name="Views")
    await page.goto("/")
    await views.get_by_role("link", name="Today", exact=True).click()
    await expect(page).to_have_url(re.compile(r"view=today"))
    await expect(titles(page)).to_have_text(["Old bill", "Call mom"])
    await expect(row(page, "Old bill").locator(".badge.due.overdue")).to_be_visible()
    await expect(row(page, "Call mom").locator(".badge.overdue")).to_have_count(0)

    await views.get_by_role("link", name="Upcoming", exact=True).click()
    await expect(page).to_have_url(re.compile(r"view=upcoming"))
    await expect(titles(page)).to_have_text(["Call mom", "Dentist"])
    await expect(page.locator(".day-heading")).to_have_text(["Today", "Tomorrow"])


async def test_search_filters_as_you_type(page: Page, user: WebUser) -> None:
    await add_lines(page, "Buy milk", "Milk the cow and buy milk", "Walk the dog")
    await page.goto("/")
    await expect(titles(page)).to_have_count(3)
    await page.get_by_role("searchbox", name="Search tasks").press_sequentially("milk")
    # Ranked by the service's relevance; which of the two matches leads is its business.
    await expect(titles(page)).to_have_count(2)
    await expect(row(page, "Walk the dog")).to_have_count(0)
    await expect(page).to_have_url(re.compile(r"q=milk"))


async def test_drag_and_keyboard_reorder_persist(page: Page, user: WebUser) -> None:
    await add_lines(page, "Alpha +Work", "Bravo +Work", "Charlie +Work")
    await page.goto("/")
    await page.get_by_role("navigation", name="Views").get_by_role("link", name="Work").click()
    await page.get_by_label("Sort").select_option("manual")
    await expect(page).to_have_url(re.compile(r"sort=manual"))
    await expect(titles(page)).to_have_text(["Alpha", "Bravo", "Charlie"])

    async with page.expect_response(re.compile(r"/move$")):
        await row(page, "Charlie").drag_to(row(page, "Alpha"), target_position={"x": 10, "y": 2})
    await expect(titles(page)).to_have_text(["Charlie", "Alpha", "Bravo"])
    await page.reload()
    await expect(titles(page)).to_have_text(["Charlie", "Alpha", "Bravo"])

    await page.get_by_role("link", name="Bravo", exact=True).focus()
    async with page.expect_response(re.compile(r"/move$")):
        await page.keyboard.press("Alt+ArrowUp")
    await expect(titles(page)).to_have_text(["Charlie", "Bravo", "Alpha"])
    await expect(page.get_by_role("link", name="Bravo", exact=True)).to_be_focused()
    await page.reload()
    await expect(titles(page)).to_have_text(["Charlie", "Bravo", "Alpha"])


async def test_a_due_reminder_shows_a_banner_that_can_be_dismissed(
    page: Page, user: WebUser
) -> None:
    await add_lines(page, "Ring the bank")
    await page.goto("/")
    await page.get_by_role("link", name="Details of Ring the bank").click()
    await page.get_by_label("Due date").fill("2020-01-01")
    await page.get_by_label("Reminder").fill("2020-01-01T09:00")
    await page.get_by_role("button", name="Save").click()
    banner = page.locator("#reminders .reminder")
    await expect(banner).to_contain_text("Ring the bank")
    await banner.get_by_role("button", name="Dismiss").click()
    await expect(banner).to_have_count(0)
    await page.reload()
    await expect(page.locator("#reminders .reminder")).to_have_count(0)


async def test_on_a_phone_the_sidebar_is_a_menu(page: Page, user: WebUser) -> None:
    await page.set_viewport_size({"width": 390, "height": 800})
    await page.goto("/")
    today = page.get_by_role("navigation", name="Views").get_by_role(
        "link", name="Today", exact=True
    )
    await expect(today).to_be_hidden()
    await page.get_by_text("Menu", exact=True).click()
    await today.click()
    await expect(page).to_have_url(re.compile(r"view=today"))


async def test_upcoming_keeps_grouping_rows_by_day_after_load_more(
    page: Page, user: WebUser
) -> None:
    await add_lines(
        page,
        *(f"Alpha {n:02} today" for n in range(PAGE_SIZE - 5)),
        *(f"Bravo {n:02} tomorrow" for n in range(10)),
        *(f"Charlie {n:02} in 2 days" for n in range(3)),
    )
    await page.goto("/?view=upcoming")
    headings = page.locator("#task-list > .day-heading")
    await expect(headings).to_have_text(["Today", "Tomorrow"])
    await expect(titles(page)).to_have_count(PAGE_SIZE)

    await page.get_by_role("link", name="Load more").click()
    await expect(titles(page)).to_have_count(PAGE_SIZE + 8)
    await expect(headings).to_have_count(3)
    await expect(headings.nth(1)).to_have_text("Tomorrow")
    # Every row sits under the heading of its own day, with no second "Tomorrow".
    order = await page.locator("#task-list > li").evaluate_all(
        "items => items.map(item => item.classList.contains('day-heading')"
        " ? '# ' + item.textContent.trim()"
        " : item.querySelector('.title').textContent.trim().split(' ')[0])"
    )
    later = order[order.index("# Tomorrow") + 11]
    assert order == [
        "# Today",
        *["Alpha"] * (PAGE_SIZE - 5),
        "# Tomorrow",
        *["Bravo"] * 10,
        later,
        *["Charlie"] * 3,
    ]
    assert later.startswith("# ")
    assert later != "# Tomorrow"


async def open_long_list_in_my_order(page: Page) -> None:
    """A list of PAGE_SIZE + 2 tasks in its own order, the last two brought by Load more."""
    await add_lines(page, *(f"Task {n:02} +Work" for n in range(PAGE_SIZE + 2)))
    # Tall enough that the whole list fits: the drags below start and end on screen.
    await page.set_viewport_size({"width": 1000, "height": 2400})
    await page.goto("/")
    await page.get_by_role("navigation", name="Views").get_by_role("link", name="Work").click()
    await page.get_by_label("Sort").select_option("manual")
    await expect(page).to_have_url(re.compile(r"sort=manual"))
    await page.get_by_role("link", name="Load more").click()
    await expect(titles(page)).to_have_count(PAGE_SIZE + 2)


async def center(locator: Locator) -> tuple[float, float]:
    box = await locator.bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


async def test_pointer_drag_reorders_rows_loaded_later_too(page: Page, user: WebUser) -> None:
    await open_long_list_in_my_order(page)
    last = f"Task {PAGE_SIZE + 1:02}"
    # Press on the row's title, move in steps to the top of the first row, let go.
    x, y = await center(row(page, last).locator(".title"))
    top = await row(page, "Task 00").bounding_box()
    assert top is not None
    await page.mouse.move(x, y)
    await page.mouse.down()
    async with page.expect_response(re.compile(r"/move$")) as moved:
        await page.mouse.move(x, top["y"] + 3, steps=12)
        await page.mouse.up()
    assert (await moved.value).status == 204
    await expect(titles(page).first).to_have_text(last)
    await expect(titles(page).nth(1)).to_have_text("Task 00")
    # Letting go on a title does not open it.
    await expect(page).to_have_url(re.compile(r"sort=manual"))
    await expect(page.locator("#task-list .editing")).to_have_count(0)

    # And the other way: a first-page row dropped below the rows Load more brought.
    x, y = await center(row(page, "Task 00").locator(".title"))
    bottom = await row(page, f"Task {PAGE_SIZE:02}").bounding_box()
    assert bottom is not None
    await page.mouse.move(x, y)
    await page.mouse.down()
    async with page.expect_response(re.compile(r"/move$")):
        await page.mouse.move(x, bottom["y"] + bottom["height"] - 3, steps=20)
        await page.mouse.up()
    await expect(titles(page).last).to_have_text("Task 00")

    await page.reload()
    await expect(titles(page).first).to_have_text(last)
    await expect(titles(page).nth(1)).to_have_text("Task 01")
    await page.get_by_role("link", name="Load more").click()
    await expect(titles(page).last).to_have_text("Task 00")
    await expect(titles(page).nth(PAGE_SIZE)).to_have_text(f"Task {PAGE_SIZE:02}")

    # The keyboard still moves rows, Load more's included.
    await page.get_by_role("link", name="Task 00", exact=True).focus()
    async with page.expect_response(re.compile(r"/move$")):
        await page.keyboard.press("Alt+ArrowUp")
    await expect(titles(page).nth(PAGE_SIZE)).to_have_text("Task 00")
    await expect(page.get_by_role("link", name="Task 00", exact=True)).to_be_focused()


async def test_a_small_pointer_wobble_is_a_click_not_a_drag(page: Page, user: WebUser) -> None:
    await add_lines(page, "Alpha +Work", "Bravo +Work")
    await page.goto("/")
    await page.get_by_role("navigation", name="Views").get_by_role("link", name="Work").click()
    await page.get_by_label("Sort").select_option("manual")
    await expect(page).to_have_url(re.compile(r"sort=manual"))
    x, y = await center(row(page, "Alpha").locator(".title"))
    await page.mouse.move(x, y)
    await page.mouse.down()
    await page.mouse.move(x + 2, y + 1)
    await page.mouse.up()
    # The title opened for editing in place, as a click does; nothing moved.
    await expect(page.locator("#task-list .editing")).to_have_count(1)
    await expect(titles(page)).to_have_text(["Bravo"])


async def test_a_finger_drags_a_row_by_its_grip(browser: Browser, live_server: LiveServer) -> None:
    context = await browser.new_context(
        base_url=live_server.url,
        has_touch=True,
        is_mobile=True,
        viewport={"width": 412, "height": 2400},
    )
    try:
        page = await context.new_page()
        problems = watch(page)
        await sign_up(page)
        await open_long_list_in_my_order(page)
        last = f"Task {PAGE_SIZE + 1:02}"
        grip = row(page, last).locator(".grip")
        await expect(grip).to_be_visible()
        x, y = await center(grip)
        top = await row(page, "Task 00").bounding_box()
        assert top is not None
        # Real touch input, as a phone sends it: Chromium turns it into touch pointer events.
        touch = await context.new_cdp_session(page)

        async def finger(kind: str, at_y: float | None) -> None:
            points = [] if at_y is None else [{"x": x, "y": at_y}]
            await touch.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

        await finger("touchStart", y)
        async with page.expect_response(re.compile(r"/move$")):
            for step in range(1, 13):
                await finger("touchMove", y + (top["y"] + 3 - y) * step / 12)
            await finger("touchEnd", None)
        await expect(titles(page).first).to_have_text(last)

        # A pen, by the grip of the second row: back below the first.
        x, y = await center(row(page, "Task 00").locator(".grip"))
        first = await row(page, last).bounding_box()
        assert first is not None

        async def pen(kind: str, at_y: float) -> None:
            await touch.send(
                "Input.dispatchMouseEvent",
                {
                    "type": kind,
                    "x": x,
                    "y": at_y,
                    "button": "left",
                    "buttons": 1,
                    "clickCount": 1,
                    "pointerType": "pen",
                },
            )

        await pen("mousePressed", y)
        async with page.expect_response(re.compile(r"/move$")):
            for step in range(1, 9):
                await pen("mouseMoved", y + (first["y"] + 3 - y) * step / 8)
            await pen("mouseReleased", first["y"] + 3)
        await expect(titles(page).first).to_have_text("Task 00")
        await expect(titles(page).nth(1)).to_have_text(last)
        await page.reload()
        await expect(titles(page).nth(1)).to_have_text(last)
        assert problems == []
    finally:
        await context.close()


async def test_a_tag_is_renamed_merged_and_deleted_from_its_view(page: Page, user: WebUser) -> None:
    await add_lines(page, "Fix the tap #home", "Paint the door #house", "Sweep #home")
    await page.goto("/")
    tags = page.get_by_role("navigation", name="Views")
    await tags.get_by_role("link", name="#house").click()
    await page.get_by_text("Edit tag").click()
    name = page.get_by_label("Name", exact=True)
    await name.fill("  ")
    await page.get_by_role("button", name="Rename").click()
    await expect(page.locator("#tag-name-error")).to_have_text("Name must not be empty.")

    await page.get_by_label("Name", exact=True).fill("home")
    await page.get_by_role("button", name="Rename").click()
    await expect(page.locator(".view-title")).to_have_text("#home")
    await expect(page.locator("#toasts")).to_contain_text("Merged #house into #home.")
    await expect(titles(page)).to_have_count(3)
    await expect(tags.get_by_role("link", name=re.compile("^#house"))).to_have_count(0)

    await page.get_by_text("Edit tag").click()
    delete = page.get_by_role("button", name="Delete tag")
    await delete.click()
    # The box must be ticked first: the browser keeps the form from going.
    await expect(page.locator(".view-title")).to_have_text("#home")
    await page.get_by_label(re.compile(r"Yes, delete #home \(3 tasks lose the tag")).check()
    await delete.click()
    await expect(page).to_have_url(re.compile(r"/$"))
    await expect(page.locator("#toasts")).to_contain_text("Deleted the tag #home")
    await expect(titles(page)).to_have_count(3)
    await expect(page.locator("#task-list .badge.tag")).to_have_count(0)
