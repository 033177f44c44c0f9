"""The installable app in Chromium: the manifest and its icons, views that stay readable
offline, a task added offline that is sent once when the connection returns, the time-zone
picker, and the quick-add hint that stays dismissed. Pictured at 390x844 and 1280x800,
light and dark."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.web.conftest import LiveServer, WebUser, sign_up, wait_until, watch
from tests.web.test_accessibility import SCREENSHOTS, serious_violations

pytestmark = pytest.mark.browser

VIEWS = {"phone": (390, 844), "desktop": (1280, 800)}
SAVED_OFFLINE = "Saved offline - will be sent"
# What Chromium itself logs while offline (the live stream and the service worker's own
# failed fetches): expected there, and nothing of ours.
OFFLINE_NOISE = ("net::ERR_INTERNET_DISCONNECTED", "ERR_INTERNET_DISCONNECTED")


async def picture(page: Page, name: str, *, full_page: bool = False) -> None:
    for scheme in ("light", "dark"):
        await page.emulate_media(color_scheme=scheme)
        for device, (width, height) in VIEWS.items():
            await page.set_viewport_size({"width": width, "height": height})
            # The menu is a drawer on a phone, closed when a page opens at that size.
            await page.evaluate(
                "(menu) => { if (menu) menu.open = innerWidth > 768 }",
                await page.query_selector("#sidebar"),
            )
            assert await serious_violations(page) == [], f"{name}, {scheme}, {device}"
            await page.screenshot(
                path=SCREENSHOTS / f"pwa-{name}-{device}-{scheme}.png",
                full_page=full_page,
                caret="initial",
            )
    await page.emulate_media(color_scheme="light")
    await page.set_viewport_size({"width": 1280, "height": 800})


async def controlled(page: Page) -> None:
    """Wait until the service worker controls this page (it claims pages once active)."""
    await page.evaluate("navigator.serviceWorker.ready")
    await wait_until(page, "() => navigator.serviceWorker.controller !== null")


async def api_tasks(page: Page, user: WebUser) -> list[dict[str, Any]]:
    login = await page.request.post(
        "/api/auth/login", data={"email": user.email, "password": user.password}
    )
    token = (await login.json())["access_token"]
    answer = await page.request.get(
        "/api/me/tasks?status=all", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status == 200
    found: list[dict[str, Any]] = await answer.json()
    return found


async def test_the_manifest_is_valid_and_its_icons_load(page: Page, user: WebUser) -> None:
    href = await page.locator('link[rel="manifest"]').get_attribute("href")
    assert href == "/manifest.webmanifest"
    manifest = await page.evaluate(
        """async (href) => {
          const answer = await fetch(href)
          return { type: answer.headers.get('Content-Type'), body: await answer.json() }
        }""",
        href,
    )
    assert manifest["type"] == "application/manifest+json"
    body = manifest["body"]
    assert body["display"] == "standalone"
    assert body["start_url"] == "/"
    purposes = {icon["purpose"] for icon in body["icons"]}
    assert purposes == {"any", "maskable"}
    for icon in body["icons"]:
        size = await page.evaluate(
            """(src) => new Promise((resolve, reject) => {
              const image = new Image()
              image.onload = () => resolve([image.naturalWidth, image.naturalHeight])
              image.onerror = () => reject(new Error('no image at ' + src))
              image.src = src
            })""",
            icon["src"],
        )
        assert icon["sizes"] == f"{size[0]}x{size[1]}"
    # Chromium reads the manifest itself: what it found is what installing would use.
    session = await page.context.new_cdp_session(page)
    found = await session.send("Page.getAppManifest")
    assert found["errors"] == [], found["errors"]
    assert found["url"].endswith("/manifest.webmanifest")
    await controlled(page)


@pytest.fixture
async def offline_page(browser: Browser, live_server: LiveServer) -> Any:
    """A page whose console may carry the browser's own offline errors, and nothing else."""
    context: BrowserContext = await browser.new_context(base_url=live_server.url)
    opened = await context.new_page()
    problems = watch(opened)
    yield opened
    await context.close()
    assert [each for each in problems if not any(noise in each for noise in OFFLINE_NOISE)] == []


async def test_opened_views_stay_readable_offline(offline_page: Page) -> None:
    page = offline_page
    user = await sign_up(page)
    await page.get_by_label("New task").fill("Water the plants tomorrow #home")
    await page.get_by_label("New task").press("Enter")
    row = page.locator("#task-list > .task").filter(has_text="Water the plants")
    await expect(row).to_be_visible()
    await controlled(page)
    # Opened while the service worker controls the page: these are kept.
    await page.goto("/")
    await page.goto("/?view=upcoming")
    await expect(
        page.locator("#task-list > .task").filter(has_text="Water the plants")
    ).to_be_visible()

    await page.context.set_offline(True)
    await page.goto("/")
    await expect(
        page.locator("#task-list > .task").filter(has_text="Water the plants")
    ).to_be_visible()
    await expect(page.get_by_text("You are offline")).to_be_visible()
    await page.goto("/?view=upcoming")
    await expect(page.get_by_role("heading", name="Upcoming")).to_be_visible()
    # A view never opened here: the offline page, which says what happened.
    await page.goto("/?view=completed")
    await expect(
        page.get_by_role("heading", name="This page is not available offline")
    ).to_be_visible()
    await picture(page, "offline-page")

    await page.get_by_role("button", name="Try again").click()
    await expect(
        page.get_by_role("heading", name="This page is not available offline")
    ).to_be_visible()
    # Once the connection returns, the offline page loads the page asked for by itself.
    await page.context.set_offline(False)
    await expect(page.get_by_role("heading", name="Completed")).to_be_visible()
    assert len(await api_tasks(page, user)) == 1
    assert await page.evaluate("caches.has('todo-pages-v1')")

    # Logging out forgets this account's pages (and its queue): the next person offline on
    # this browser sees the offline page, not these tasks.
    await page.get_by_role("button", name="Log out").click()
    await expect(page).to_have_url(re.compile(r"/login"))
    await wait_until(page, "() => caches.has('todo-pages-v1').then(kept => !kept)")
    assert "todo-offline" not in await page.evaluate(
        "indexedDB.databases().then(found => found.map(each => each.name))"
    )
    await page.context.set_offline(True)
    await page.goto("/")
    await expect(
        page.get_by_role("heading", name="This page is not available offline")
    ).to_be_visible()
    await expect(page.get_by_text("Water the plants")).to_have_count(0)


async def test_a_task_added_offline_is_sent_once_when_back_online(offline_page: Page) -> None:
    page = offline_page
    user = await sign_up(page)
    await controlled(page)
    await page.goto("/")
    await page.context.set_offline(True)
    await page.goto("/")
    new = page.get_by_label("New task")
    await new.fill("Buy stamps !high")
    await new.press("Enter")
    pending = page.locator(".pending-task").filter(has_text="Buy stamps !high")
    await expect(pending).to_contain_text(SAVED_OFFLINE)
    await expect(page.get_by_role("status").filter(has_text=SAVED_OFFLINE).first).to_be_visible()
    await expect(new).to_have_value("")
    # Still queued after a reload from the offline copy.
    await page.reload()
    await expect(page.locator(".pending-task").filter(has_text="Buy stamps")).to_contain_text(
        SAVED_OFFLINE
    )
    await picture(page, "offline-queued")

    await page.context.set_offline(False)
    await expect(page.locator("#task-list > .task").filter(has_text="Buy stamps")).to_be_visible()
    await expect(page.locator(".pending-task")).to_have_count(0)
    # Another tab that comes online later finds nothing left to send.
    await page.reload()
    await expect(page.locator("#task-list > .task").filter(has_text="Buy stamps")).to_have_count(1)
    created = [task for task in await api_tasks(page, user) if task["title"] == "Buy stamps"]
    assert len(created) == 1
    assert created[0]["priority"] == "high"


async def test_the_time_zone_picker_saves_and_suggests_this_device(
    browser: Browser, live_server: LiveServer
) -> None:
    context = await browser.new_context(base_url=live_server.url, timezone_id="Europe/Paris")
    page = await context.new_page()
    problems = watch(page)
    await sign_up(page)
    await page.goto("/account")
    zone = page.get_by_role("combobox", name="Time zone")
    await expect(zone).to_have_value("Europe/Paris")
    await expect(page.get_by_role("button", name=re.compile("Use this device"))).to_be_hidden()
    await page.get_by_role("searchbox", name="Search time zones").fill("tokyo")
    await expect(zone).to_have_value("Asia/Tokyo")
    await page.get_by_role("button", name="Save time zone").click()
    await expect(page.get_by_text("Your time zone was saved.")).to_be_visible()
    await expect(zone).to_have_value("Asia/Tokyo")
    use = page.get_by_role("button", name="Use this device\u2019s time zone: Europe/Paris")
    await expect(use).to_be_visible()
    await page.locator("#timezone-title").scroll_into_view_if_needed()
    await picture(page, "time-zone")
    await use.click()
    await expect(zone).to_have_value("Europe/Paris")
    await page.get_by_role("button", name="Save time zone").click()
    await expect(page.get_by_text("Your time zone was saved.")).to_be_visible()
    await expect(zone).to_have_value("Europe/Paris")
    await context.close()
    assert problems == []


async def test_the_quick_add_hint_stays_dismissed(page: Page, user: WebUser) -> None:
    hint = page.get_by_role("complementary", name="Type a task the way you would say it")
    await expect(hint).to_be_visible()
    await expect(hint).to_contain_text("+Bills")
    await picture(page, "hint")
    await hint.get_by_role("button", name="Got it").click()
    await expect(hint).to_have_count(0)
    await expect(page.get_by_label("New task")).to_be_focused()
    await page.reload()
    await expect(page.get_by_role("heading", name="All tasks")).to_be_visible()
    await expect(hint).to_be_hidden()
    await page.goto("/?view=today")
    await expect(hint).to_be_hidden()
