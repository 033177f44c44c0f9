"""The account page's Notifications section in Chromium: the switches save, the service
worker registers from the site's root, the test button says what it did; axe finds nothing
serious, and the section is pictured on a phone and a desktop, light and dark."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.web.conftest import WebUser
from tests.web.test_accessibility import SCREENSHOTS, serious_violations

pytestmark = pytest.mark.browser

VIEWS = {"phone": (390, 844), "desktop": (1280, 800)}


async def test_the_notifications_section_saves_and_registers_the_service_worker(
    page: Page, user: WebUser
) -> None:
    await page.goto("/account")
    section = page.get_by_role("region", name="Notifications")
    push = section.get_by_label("Browser notifications for reminders")
    await expect(push).to_be_checked()
    # The live test server has no SMTP_HOST: the email choices say so and stay off.
    await expect(section.get_by_label(re.compile("Email for reminders"))).to_be_disabled()
    await expect(section.get_by_text("not set up to send email")).to_be_visible()
    # The script found Push support and the service worker: its button shows.
    await expect(
        section.get_by_role("button", name="Turn on notifications in this browser")
    ).to_be_visible()
    scope = await page.evaluate(
        "navigator.serviceWorker.ready.then(registration => registration.scope)"
    )
    assert scope == f"{page.url.split('/account')[0]}/"
    await expect(section.get_by_role("button", name="Turn off in this browser")).to_be_hidden()
    await section.scroll_into_view_if_needed()
    for scheme in ("light", "dark"):
        await page.emulate_media(color_scheme=scheme)
        for device, (width, height) in VIEWS.items():
            await page.set_viewport_size({"width": width, "height": height})
            assert await serious_violations(page) == [], f"{scheme}, {device}"
            await page.get_by_role("region", name="Notifications").screenshot(
                path=SCREENSHOTS / f"notifications-{device}-{scheme}.png", caret="initial"
            )
    await page.set_viewport_size({"width": 1280, "height": 800})
    await page.emulate_media(color_scheme="light")

    await push.uncheck()
    await section.get_by_role("button", name="Save notifications").click()
    await expect(page.get_by_text("Your notification settings were saved.")).to_be_visible()
    await expect(page.get_by_label("Browser notifications for reminders")).not_to_be_checked()

    await page.get_by_role("button", name="Send a test notification").click()
    await expect(page.get_by_text("No browser gets notifications yet")).to_be_visible()


async def test_the_service_worker_is_served_from_the_root(page: Page, user: WebUser) -> None:
    answer = await page.request.get("/sw.js")
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    assert "showNotification" in await answer.text()
