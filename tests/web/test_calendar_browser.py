"""The calendar in Chromium: dragging a task to another day, the keyboard way, a refused move
rolled back, the page without JavaScript, and how it looks (axe, screenshots).

Screenshots of the month and the week at 390x844 and 1280x800, light and dark, go to
tests/artifacts/screenshots/calendar-*.png (ignored by git)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.web.conftest import ARTIFACTS, LiveServer, WebUser, log_in, sign_up, watch
from tests.web.test_accessibility import serious_violations

pytestmark = pytest.mark.browser

SCREENSHOTS = ARTIFACTS / "screenshots"
SIZES = {"phone": (390, 844), "desktop": (1280, 800)}
# The height of every chip on screen (a hidden one has no offsetParent).
CHIP_HEIGHTS = "cs => cs.filter(c => c.offsetParent).map(c => c.getBoundingClientRect().height)"


def _next_month() -> date:
    today = date.today()
    return date(today.year + today.month // 12, today.month % 12 + 1, 1)


NEXT = _next_month()
MONTH_URL = f"/calendar?month={NEXT:%Y-%m}"


def on(month_day: int) -> str:
    """The quick-add words for a day of next month ("jan 10")."""
    return f"{NEXT:%b} {month_day}".lower()


def cell(page: Page, month_day: int) -> Locator:
    return page.locator(f'#calendar [data-day="{NEXT.replace(day=month_day).isoformat()}"]')


def chip(page: Page, title: str) -> Locator:
    return page.locator("#calendar .cal-task", has_text=title)


async def add(page: Page, *lines: str) -> None:
    await page.goto("/")
    field = page.get_by_label("New task")
    for line in lines:
        await field.fill(line)
        await field.press("Enter")
        await expect(field).to_have_value("")


async def test_drag_a_task_to_another_day_and_back_with_the_keyboard(
    page: Page, user: WebUser
) -> None:
    await add(page, f"Alpha {on(10)}", f"Bravo {on(10)} 17:30")
    await page.goto("/")
    await page.get_by_role("navigation", name="Views").get_by_role("link", name="Calendar").click()
    await expect(page).to_have_url(re.compile(r"/calendar$"))
    await page.get_by_role("link", name="Next month").click()
    await expect(page).to_have_url(re.compile(rf"month={NEXT:%Y-%m}"))
    await expect(cell(page, 10).locator(".cal-task")).to_have_count(2)

    async with page.expect_response(re.compile(r"/reschedule$")) as answer:
        await chip(page, "Alpha").drag_to(cell(page, 17))
    assert (await answer.value).status == 200
    await expect(cell(page, 17)).to_contain_text("Alpha")
    await expect(cell(page, 10)).not_to_contain_text("Alpha")

    # The timed one keeps its time on its new day.
    async with page.expect_response(re.compile(r"/reschedule$")):
        await chip(page, "Bravo").drag_to(cell(page, 12))
    await expect(cell(page, 12).locator(".cal-time")).to_have_text("17:30")
    await page.reload()
    await expect(cell(page, 17)).to_contain_text("Alpha")
    await expect(cell(page, 12)).to_contain_text("Bravo")

    # Alt+Left: a day earlier; Alt+Up: a week earlier. Focus stays on the task.
    alpha = chip(page, "Alpha").get_by_role("link")
    await alpha.focus()
    async with page.expect_response(re.compile(r"/reschedule$")):
        await page.keyboard.press("Alt+ArrowLeft")
    await expect(cell(page, 16)).to_contain_text("Alpha")
    await expect(chip(page, "Alpha").get_by_role("link")).to_be_focused()
    async with page.expect_response(re.compile(r"/reschedule$")):
        await page.keyboard.press("Alt+ArrowUp")
    await expect(cell(page, 9)).to_contain_text("Alpha")
    await expect(chip(page, "Alpha").get_by_role("link")).to_be_focused()
    await expect(page.locator("#toasts")).to_contain_text("Moved to")
    await page.reload()
    await expect(cell(page, 9)).to_contain_text("Alpha")

    # A short wobble is a click on the task, not a drag.
    box = await chip(page, "Alpha").bounding_box()
    assert box is not None
    await page.mouse.move(box["x"] + 5, box["y"] + 5)
    await page.mouse.down()
    await page.mouse.move(box["x"] + 7, box["y"] + 6)
    await page.mouse.up()
    await expect(page).to_have_url(re.compile(r"/tasks/\d+$"))


async def test_a_refused_move_goes_back_with_the_servers_reason(
    browser: Browser, live_server: LiveServer
) -> None:
    context = await browser.new_context(base_url=live_server.url)
    # A calendar that missed a change made elsewhere: no live updates reach this tab.
    await context.add_init_script("delete window.EventSource")
    page = await context.new_page()
    problems = watch(page)
    try:
        await sign_up(page)
        await add(page, f"Stale {on(10)}")
        await page.goto(MONTH_URL)
        await expect(cell(page, 10)).to_contain_text("Stale")
        task_id = (await chip(page, "Stale").get_attribute("data-move")) or ""
        token = await page.locator('input[name="csrf_token"]').first.input_value()
        renamed = await page.request.post(
            f"/tasks/{task_id}",
            form={"csrf_token": token, "title": "Stale renamed", "next": "/"},
            max_redirects=0,
        )
        assert renamed.status == 303

        async with page.expect_response(re.compile(r"/reschedule$")) as answer:
            await chip(page, "Stale").drag_to(cell(page, 20))
        assert (await answer.value).status == 412
        await expect(page.locator("#toasts")).to_contain_text("has changed")
        # Back on its day, and the calendar drawn again as the server has it.
        await expect(cell(page, 10)).to_contain_text("Stale renamed")
        await expect(cell(page, 20)).not_to_contain_text("Stale")
        async with page.expect_response(re.compile(r"/reschedule$")) as again:
            await chip(page, "Stale").drag_to(cell(page, 20))
        assert (await again.value).status == 200
        await expect(cell(page, 20)).to_contain_text("Stale renamed")
    finally:
        await context.close()
    assert problems == []


async def test_without_javascript_the_calendar_is_links_and_a_form(
    browser: Browser, live_server: LiveServer, page: Page, user: WebUser
) -> None:
    await add(page, f"Plain {on(10)}")
    context = await browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        plain = await context.new_page()
        await log_in(plain, user)
        await plain.goto(MONTH_URL)
        await expect(cell(plain, 10).get_by_role("link", name="Plain")).to_be_visible()
        await cell(plain, 10).locator(".day-num").click()
        agenda = plain.locator("#day")
        await expect(agenda).to_contain_text("Plain")
        await agenda.get_by_label("Move “Plain” to").fill(NEXT.replace(day=11).isoformat())
        await agenda.get_by_role("button", name="Move").click()
        await expect(plain.locator("#toasts")).to_contain_text("Moved “Plain” to")
        await expect(cell(plain, 11)).to_contain_text("Plain")
    finally:
        await context.close()


async def test_the_calendar_looks_right_and_passes_axe(page: Page, user: WebUser) -> None:
    await add(
        page,
        f"Renew the passport before the summer holidays {on(3)}",
        f"Dentist {on(3)} 9:15",
        f"Call the plumber about the kitchen tap {on(3)} !high",
        f"Buy oat milk {on(3)}",
        f"Book the train tickets {on(3)} 18:00",
        f"Water the plants every week {on(5)}",
        f"Team review {on(12)} 14:00",
        f"Pay rent {on(1)}",
    )
    await page.goto(MONTH_URL + "&day=" + NEXT.replace(day=3).isoformat())
    await expect(cell(page, 3).locator(".more-link")).to_have_text("+2 more")
    views = (
        ("month", None),
        ("week", f"/calendar?view=week&week={NEXT:%G-W%V}"),
        # This month, where today is marked (and no task is due).
        ("today", "/calendar"),
    )
    for view, url in views:
        if url:
            await page.goto(url)
        for scheme in ("light", "dark"):
            await page.emulate_media(color_scheme=scheme)
            for device, (width, height) in SIZES.items():
                await page.set_viewport_size({"width": width, "height": height})
                # app.js closes the phone's menu when the page loads at that width.
                await page.reload()
                assert await serious_violations(page) == [], f"{view}, {scheme}, {device}"
                await page.screenshot(
                    path=SCREENSHOTS / f"calendar-{view}-{device}-{scheme}.png", full_page=True
                )
                # No title breaks a letter per line: every chip is one line high.
                heights = await page.locator("#calendar .cal-chip").evaluate_all(CHIP_HEIGHTS)
                assert all(h < 40 for h in heights), (view, device, heights)


async def _api_token(page: Page, user: WebUser) -> dict[str, str]:
    login = await page.request.post(
        "/api/auth/login", data={"email": user.email, "password": user.password}
    )
    assert login.status == 200, await login.text()
    return {"Authorization": f"Bearer {(await login.json())['access_token']}"}


async def test_a_move_refused_to_a_viewer_goes_back_and_changes_show_live(
    browser: Browser, live_server: LiveServer, page: Page, user: WebUser
) -> None:
    owner = await _api_token(page, user)
    made = await page.request.post("/api/me/lists", headers=owner, data={"name": "Team"})
    list_id = (await made.json())["id"]
    day = NEXT.replace(day=10).isoformat()
    shared = {"due_date": day, "list_id": list_id}
    await page.request.post("/api/me/tasks", headers=owner, data={"title": "Shared plan", **shared})
    context = await browser.new_context(base_url=live_server.url)
    member_page = await context.new_page()
    problems = watch(member_page)
    try:
        member = await sign_up(member_page, name="Grace Hopper")
        added = await page.request.post(
            f"/api/me/lists/{list_id}/members",
            headers=owner,
            data={"email": member.email, "role": "editor"},
        )
        assert added.status == 201, await added.text()
        member_id = (await added.json())["user"]["id"]
        await member_page.goto(MONTH_URL)
        await expect(cell(member_page, 10)).to_contain_text("Shared plan")

        # A task the owner adds shows on the member's calendar without a reload.
        live = {"title": "Live one", **shared}
        await page.request.post("/api/me/tasks", headers=owner, data=live)
        await expect(cell(member_page, 10)).to_contain_text("Live one")

        # The owner makes the member a viewer; the calendar drawn before still offers the drag.
        demoted = await page.request.patch(
            f"/api/me/lists/{list_id}/members/{member_id}", headers=owner, data={"role": "viewer"}
        )
        assert demoted.status == 200, await demoted.text()
        async with member_page.expect_response(re.compile(r"/reschedule$")) as answer:
            await chip(member_page, "Shared plan").drag_to(cell(member_page, 20))
        assert (await answer.value).status == 403
        detail = (await (await answer.value).json())["detail"]
        await expect(member_page.locator("#toasts")).to_contain_text(detail)
        await expect(cell(member_page, 10)).to_contain_text("Shared plan")
        await expect(cell(member_page, 20)).not_to_contain_text("Shared plan")
        # Drawn again as the server has it: nothing left to drag.
        await expect(cell(member_page, 10).locator("[data-move]")).to_have_count(0)
    finally:
        await context.close()
    assert problems == []
