"""The web app in a real Chromium against a live server, with and without JavaScript."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

from tests.web.conftest import LiveServer, WebUser, log_in, sign_up, watch
from todo.web.listing import PAGE_SIZE

pytestmark = pytest.mark.browser


def row(page: Page, title: str) -> Locator:
    return page.locator("#task-list > li").filter(
        has=page.get_by_role("link", name=title, exact=True)
    )


def titles(page: Page) -> Locator:
    return page.locator("#task-list .title")


async def add(page: Page, title: str) -> None:
    field = page.get_by_label("New task")
    await field.fill(title)
    await field.press("Enter")
    await expect(row(page, title)).to_be_visible()


def count(page: Page, name: str) -> Locator:
    return page.get_by_role("navigation", name="Show").get_by_role("link", name=name)


async def test_the_core_flow(page: Page, user: WebUser) -> None:
    # A full page load would drop this marker: everything below happens in place.
    await page.evaluate("window.stayedOnThePage = true")
    new_task = page.get_by_label("New task")
    for title in ("Buy milk", "Walk the dog", "Pay rent"):
        await add(page, title)
        await expect(new_task).to_be_focused()
        await expect(new_task).to_have_value("")
    await expect(titles(page)).to_have_text(["Pay rent", "Walk the dog", "Buy milk"])

    done = page.get_by_role("checkbox", name="Walk the dog")
    await done.click()
    await expect(done).to_have_attribute("aria-checked", "true")
    await expect(count(page, "Active")).to_have_text("Active 2")
    await expect(count(page, "Completed")).to_have_text("Completed 1")

    await page.get_by_role("link", name="Buy milk", exact=True).click()
    editor = page.get_by_role("textbox", name="Title")
    await expect(editor).to_be_focused()
    await editor.fill("Buy oat milk")
    await editor.press("Enter")
    await expect(row(page, "Buy oat milk")).to_be_visible()
    await expect(page.get_by_role("link", name="Buy oat milk", exact=True)).to_be_focused()

    await page.get_by_role("link", name="Pay rent", exact=True).click()
    await editor.fill("Never saved")
    await editor.press("Escape")
    await expect(row(page, "Pay rent")).to_be_visible()
    await expect(page.get_by_text("Never saved")).to_have_count(0)

    await page.get_by_role("button", name="Delete Pay rent").click()
    await expect(row(page, "Pay rent")).to_have_count(0)
    toast = page.get_by_role("status").locator(".toast")
    await expect(toast).to_contain_text("Deleted “Pay rent”.")
    await expect(count(page, "All")).to_have_text("All 2")
    await toast.get_by_role("button", name="Undo").click()
    await expect(row(page, "Pay rent")).to_be_visible()
    await expect(toast).to_have_count(0)
    await expect(count(page, "All")).to_have_text("All 3")

    await count(page, "Active").click()
    await expect(page).to_have_url(re.compile(r"/\?filter=active$"))
    await expect(titles(page)).to_have_text(["Pay rent", "Buy oat milk"])
    assert await page.evaluate("window.stayedOnThePage") is True

    await page.reload()
    await expect(count(page, "Active")).to_have_attribute("aria-current", "page")
    await expect(titles(page)).to_have_text(["Pay rent", "Buy oat milk"])
    await count(page, "Completed").click()
    await expect(titles(page)).to_have_text(["Walk the dog"])
    await page.go_back()
    await expect(page).to_have_url(re.compile(r"/\?filter=active$"))
    await expect(titles(page)).to_have_text(["Pay rent", "Buy oat milk"])

    await page.get_by_role("button", name="Log out").click()
    await expect(page).to_have_url(re.compile(r"/login\?notice=signed_out$"))
    await page.goto("/account")
    await expect(page).to_have_url(re.compile(r"/login\?next=%2Faccount$"))
    await page.get_by_label("Email").fill(user.email)
    await page.get_by_label("Password").fill(user.password)
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(re.compile(r"/account$"))


async def test_the_core_flow_without_javascript(browser: Browser, live_server: LiveServer) -> None:
    context = await browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = await context.new_page()
        user = await sign_up(page)
        for title in ("Buy milk", "Walk the dog", "Pay rent"):
            await page.get_by_label("New task").fill(title)
            await page.get_by_role("button", name="Add").click()
            await expect(row(page, title)).to_be_visible()

        await page.get_by_role("checkbox", name="Walk the dog").click()
        await expect(page.get_by_role("checkbox", name="Walk the dog")).to_have_attribute(
            "aria-checked", "true"
        )

        await page.get_by_role("link", name="Buy milk", exact=True).click()
        await expect(page).to_have_url(re.compile(r"/tasks/\d+$"))
        await page.get_by_label("Title").fill("Buy oat milk")
        await page.get_by_label("Notes").fill("The barista kind")
        await page.get_by_role("button", name="Save").click()
        await expect(page).to_have_url(re.compile(r"/$"))
        await expect(page.get_by_role("status")).to_contain_text("Saved “Buy oat milk”.")
        await expect(row(page, "Buy oat milk")).to_be_visible()

        await page.get_by_role("button", name="Delete Pay rent").click()
        await expect(row(page, "Pay rent")).to_have_count(0)
        await expect(page.get_by_role("status")).to_contain_text("Deleted “Pay rent”.")
        await page.get_by_role("button", name="Undo").click()
        await expect(row(page, "Pay rent")).to_be_visible()

        await count(page, "Active").click()
        await expect(page).to_have_url(re.compile(r"/\?filter=active$"))
        await expect(titles(page)).to_have_text(["Pay rent", "Buy oat milk"])
        await page.get_by_label("Sort").select_option("Alphabetical")
        await page.get_by_role("button", name="Apply").click()
        await expect(page).to_have_url(re.compile(r"/\?filter=active&sort=title$"))
        await page.reload()
        await expect(titles(page)).to_have_text(["Buy oat milk", "Pay rent"])

        await page.get_by_role("button", name="Log out").click()
        await page.goto("/")
        await expect(page).to_have_url(re.compile(r"/login$"))
        await log_in(page, user)
        await expect(titles(page)).to_have_text(["Pay rent", "Walk the dog", "Buy oat milk"])
    finally:
        await context.close()


async def test_the_keyboard_flow(page: Page, user: WebUser) -> None:
    await page.keyboard.press("n")
    new_task = page.get_by_label("New task")
    await expect(new_task).to_be_focused()
    for title in ("First", "Second", "Third"):
        await page.keyboard.type(title)
        await page.keyboard.press("Enter")
        await expect(row(page, title)).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(new_task).not_to_be_focused()

    await page.keyboard.press("j")
    await expect(page.get_by_role("link", name="Third", exact=True)).to_be_focused()
    await page.keyboard.press("j")
    await page.keyboard.press("j")
    await page.keyboard.press("k")
    await expect(page.get_by_role("link", name="Second", exact=True)).to_be_focused()

    await page.keyboard.press("x")
    await expect(page.get_by_role("checkbox", name="Second")).to_have_attribute(
        "aria-checked", "true"
    )
    await page.keyboard.press("x")
    await expect(page.get_by_role("checkbox", name="Second")).to_have_attribute(
        "aria-checked", "false"
    )

    await page.keyboard.press("e")
    editor = page.get_by_role("textbox", name="Title")
    await expect(editor).to_be_focused()
    await page.keyboard.press("End")
    await page.keyboard.type(" edited")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("link", name="Second edited", exact=True)).to_be_focused()

    await page.keyboard.press("Delete")
    await expect(row(page, "Second edited")).to_have_count(0)
    await expect(page.get_by_role("link", name="First", exact=True)).to_be_focused()
    undo = page.get_by_role("status").get_by_role("button", name="Undo")
    await undo.focus()
    await page.keyboard.press("Enter")
    await expect(row(page, "Second edited")).to_be_visible()

    await page.get_by_role("link", name="Third", exact=True).focus()
    await page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    await expect(dialog).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await page.keyboard.press("/")
    await expect(new_task).to_be_focused()


async def test_a_cross_site_form_is_refused(
    page: Page, user: WebUser, live_server: LiveServer
) -> None:
    await add(page, "Mine")
    # A page on another site that posts a form to us when clicked.
    await page.route(
        "http://evil.example/",
        lambda route: route.fulfill(
            content_type="text/html",
            body=f'<form method="post" action="{live_server.url}/tasks">'
            '<input name="title" value="Planted"><button>Win a prize</button></form>',
        ),
    )
    await page.goto("http://evil.example/")
    async with page.expect_response(f"{live_server.url}/tasks") as answer:
        await page.get_by_role("button", name="Win a prize").click()
    assert (await answer.value).status == 403
    await expect(page.get_by_role("heading", name="That was not allowed")).to_be_visible()

    await page.goto("/")
    await expect(titles(page)).to_have_text(["Mine"])
    token = await page.locator("#acts input[name=csrf_token]").get_attribute("value")
    forged = await page.request.post(
        "/tasks",
        form={"title": "Planted", "csrf_token": token or ""},
        headers={"Origin": "https://evil.example"},
    )
    assert forged.status == 403
    tokenless = await page.request.post("/tasks", form={"title": "Planted"})
    assert tokenless.status == 403
    genuine = await page.request.post(
        "/tasks", form={"title": "Genuine", "csrf_token": token or ""}
    )
    assert genuine.ok
    await page.reload()
    await expect(titles(page)).to_have_text(["Genuine", "Mine"])


async def test_another_user_never_sees_the_first_users_tasks(
    page: Page, user: WebUser, browser: Browser, live_server: LiveServer
) -> None:
    await add(page, "Alice's secret")
    href = await page.get_by_role("link", name="Alice's secret", exact=True).get_attribute("href")
    assert href is not None
    other_context = await browser.new_context(base_url=live_server.url)
    try:
        other = await other_context.new_page()
        await sign_up(other, name="Bob")
        await expect(other.get_by_text("Nothing to do yet")).to_be_visible()
        await expect(other.get_by_text("Alice's secret")).to_have_count(0)
        response = await other.goto(href)
        assert response is not None
        assert response.status == 404
        await expect(other.get_by_role("heading", name="Nothing here")).to_be_visible()
        await other.get_by_role("link", name="Go to your tasks").click()
        await expect(other).to_have_url(re.compile(r"/$"))
    finally:
        await other_context.close()


async def test_account_page(
    page: Page, user: WebUser, browser: Browser, live_server: LiveServer
) -> None:
    await page.get_by_role("link", name="Account").click()
    name = page.get_by_label("Name", exact=True)
    await expect(name).to_have_value(user.name)
    await name.fill("Ada King")
    await page.get_by_role("button", name="Save name").click()
    await expect(page.locator("#toasts")).to_contain_text("Your name was saved.")
    await expect(name).to_have_value("Ada King")

    await page.get_by_label("Current password").fill("not my password")
    await page.get_by_label("New password").fill("a brand new secret")
    await page.get_by_role("button", name="Change password").click()
    await expect(page.locator("#current_password-error")).to_have_text(
        "The current password is wrong."
    )
    await expect(page.get_by_label("Current password")).to_have_attribute("aria-invalid", "true")
    await page.get_by_label("Current password").fill(user.password)
    await page.get_by_label("New password").fill("a brand new secret")
    await page.get_by_role("button", name="Change password").click()
    await expect(page.locator("#toasts")).to_contain_text("Your password was changed.")
    user = WebUser(user.email, "a brand new secret", user.name)

    elsewhere_context = await browser.new_context(base_url=live_server.url)
    try:
        elsewhere = await elsewhere_context.new_page()
        await log_in(elsewhere, user)
        await page.get_by_role("button", name="Log out everywhere").click()
        await expect(page).to_have_url(re.compile(r"/login\?notice=everywhere$"))
        await elsewhere.reload()
        await expect(elsewhere).to_have_url(re.compile(r"/login$"))
    finally:
        await elsewhere_context.close()

    await log_in(page, user)
    await page.goto("/account")
    confirm = page.get_by_label(re.compile("Type your email address"))
    await confirm.fill("someone@else.example")
    await page.get_by_role("button", name="Delete my account").click()
    await expect(page.locator("#confirm_email-error")).to_contain_text(
        f"Type {user.email} to confirm."
    )
    await expect(confirm).to_have_value("someone@else.example")
    await confirm.fill(user.email)
    await page.get_by_role("button", name="Delete my account").click()
    await expect(page).to_have_url(re.compile(r"/login\?notice=deleted$"))
    await page.get_by_label("Email").fill(user.email)
    await page.get_by_label("Password").fill(user.password)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "The email address or the password is wrong."
    )


async def test_another_tabs_changes_show_when_the_tab_regains_focus(
    page: Page, user: WebUser, context: BrowserContext
) -> None:
    # Without its live stream (a tab whose stream broke, or a browser that has none), so
    # that only regaining focus can bring the other tab's change; live, it raced the check.
    await page.route("**/events", lambda route: route.abort())
    await page.reload()
    await add(page, "From the first tab")
    second = await context.new_page()
    problems = watch(second)
    await second.goto("/")
    await add(second, "From the second tab")
    await page.wait_for_timeout(1500)
    await expect(row(page, "From the second tab")).to_have_count(0)
    await page.bring_to_front()
    await page.evaluate("window.dispatchEvent(new Event('focus'))")
    await expect(row(page, "From the second tab")).to_be_visible()
    assert problems == []


async def test_a_failed_background_change_is_explained_and_the_list_corrected(
    page: Page, user: WebUser, context: BrowserContext
) -> None:
    # This tab must stay stale: with its live stream it would drop the row the other tab
    # deletes before the click below (tests/web/test_live_browser.py has that side).
    await page.route("**/events", lambda route: route.abort())
    await page.reload()
    await add(page, "Stale")
    await add(page, "Fresh")
    second = await context.new_page()
    await second.goto("/")
    await second.get_by_role("button", name="Delete Stale").click()
    await expect(row(second, "Stale")).to_have_count(0)

    await page.get_by_role("checkbox", name="Stale").click()
    await expect(page.get_by_role("status")).to_contain_text(
        re.compile(r"Task \d+ was not found\.")
    )
    await expect(row(page, "Stale")).to_have_count(0)
    await expect(titles(page)).to_have_text(["Fresh"])


async def test_validation_errors_show_next_to_the_field(page: Page, user: WebUser) -> None:
    field = page.get_by_label("New task")
    await field.fill("   ")
    await field.press("Enter")
    error = page.locator("#new-title-error")
    await expect(error).to_have_text("Title must not be empty.")
    await expect(field).to_have_attribute("aria-invalid", "true")
    await expect(field).to_have_accessible_description("Title must not be empty.")
    await expect(field).to_be_focused()
    await field.fill("Fixed it")
    await field.press("Enter")
    await expect(row(page, "Fixed it")).to_be_visible()
    await expect(page.locator("#new-title-error")).to_have_count(0)


async def test_load_more_brings_the_next_page(page: Page, user: WebUser) -> None:
    token = await page.locator("#acts input[name=csrf_token]").get_attribute("value") or ""
    for number in range(PAGE_SIZE + 3):
        await page.request.post("/tasks", form={"title": f"Task {number:02}", "csrf_token": token})
    await page.goto("/?sort=title")
    await expect(titles(page)).to_have_count(PAGE_SIZE)
    await page.get_by_role("link", name="Load more").click()
    await expect(titles(page)).to_have_count(PAGE_SIZE + 3)
    await expect(titles(page).last).to_have_text(f"Task {PAGE_SIZE + 2:02}")
    await expect(page.get_by_role("link", name="Load more")).to_have_count(0)
