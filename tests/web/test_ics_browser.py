"""iCalendar files and feeds in Chromium: a file with a parent and its child uploaded into a
list shows its report and the two nested in the list; the list's .ics download holds both
UIDs; a feed is made on the account page and its address copied. The import result and the
feeds section pictured on a phone and a desktop, light and dark (tests/artifacts/ics-*)."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.web.conftest import ARTIFACTS, LiveServer, WebUser, each_look
from tests.web.test_accessibility import serious_violations

pytestmark = pytest.mark.browser


def _file(parent: str, child: str) -> bytes:
    # The child first: the import places parents before their children whatever the order.
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Chromium test//EN\r\n"
        f"BEGIN:VTODO\r\nUID:{child}\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Pack the tent\r\n"
        f"RELATED-TO;RELTYPE=PARENT:{parent}\r\nEND:VTODO\r\n"
        f"BEGIN:VTODO\r\nUID:{parent}\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Camping trip\r\n"
        "DUE;VALUE=DATE:20310704\r\nEND:VTODO\r\n"
        f"BEGIN:VEVENT\r\nUID:event-{parent}\r\nDTSTAMP:20260101T000000Z\r\n"
        "DTSTART:20310704T100000Z\r\nSUMMARY:An event, not a task\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    ).encode()


async def _pictures(page: Page, target: str, name: str, *, reload: bool = False) -> None:
    async for scheme, device in each_look(page):
        if reload:
            # The list page lays its sidebar out for the width it was loaded at.
            await page.reload()
        assert await serious_violations(page) == [], f"{name}, {scheme}, {device}"
        await page.locator(target).screenshot(
            path=ARTIFACTS / f"ics-{name}-{device}-{scheme}.png", caret="initial"
        )


async def test_an_uploaded_file_nests_and_the_download_holds_both_uids(
    page: Page, user: WebUser
) -> None:
    parent, child = f"parent-{uuid.uuid4().hex}", f"child-{uuid.uuid4().hex}"
    await page.goto("/")
    await page.get_by_label("New list").fill("Holidays")
    await page.get_by_role("button", name="Create list").click()
    await expect(page.get_by_role("heading", name="Holidays", level=1)).to_be_visible()
    await page.get_by_role("link", name="Import .ics").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Holidays")
    await page.get_by_label("iCalendar file").set_input_files(
        {"name": "camping.ics", "mimeType": "text/calendar", "buffer": _file(parent, child)}
    )
    await page.get_by_role("button", name="Import").click()
    report = page.locator(".import-report")
    await expect(report).to_contain_text("Imported camping.ics")
    await expect(report.locator(".count-created")).to_have_text("2")
    await expect(report.locator(".count-failed")).to_have_text("1")
    await expect(report).to_contain_text(f"event-{parent}")
    await _pictures(page, "main", "import")

    await report.get_by_role("link", name="Back to Holidays").click()
    child_row = page.locator("li.task", has=page.get_by_role("link", name="Pack the tent"))
    parent_row = page.locator("li.task", has=page.get_by_role("link", name="Camping trip"))
    await expect(parent_row).to_be_visible()
    await expect(child_row).to_have_class(re.compile(r"\bdepth-1\b"))
    await _pictures(page, ".view-head", "list", reload=True)

    async with page.expect_download() as waiting:
        await page.get_by_role("link", name="Download .ics").click()
    download = await waiting.value
    assert download.suggested_filename == "Holidays.ics"
    body = (await download.path()).read_text(encoding="utf-8")
    assert f"UID:{parent}" in body
    assert f"UID:{child}" in body
    assert f"RELATED-TO;RELTYPE=PARENT:{parent}" in body


async def test_a_feed_is_made_copied_and_deleted_on_the_account_page(
    page: Page, context: BrowserContext, live_server: LiveServer, user: WebUser
) -> None:
    await context.grant_permissions(["clipboard-read", "clipboard-write"])
    await page.goto("/account")
    section = page.get_by_role("region", name="Calendar feeds")
    await expect(section.get_by_text("No feeds yet.")).to_be_visible()
    await section.get_by_label("Feed name").fill("Work calendar")
    await section.get_by_role("button", name="Create feed").click()
    address = page.get_by_label("The new feed's address")
    await expect(address).to_have_value(
        re.compile(rf"^{re.escape(live_server.url)}/api/feeds/\d+-[A-Za-z0-9_-]{{43}}\.ics$")
    )
    url = await address.input_value()
    await section.get_by_role("button", name="Copy").click()
    await expect(section.get_by_role("button", name="Copied")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == url
    feed = await page.request.get(url)
    assert feed.status == 200
    assert b"BEGIN:VCALENDAR" in await feed.body()
    await _pictures(page, "#feeds", "feeds")

    await page.goto("/account")
    listed = section.locator(".token", has_text="Work calendar")
    await expect(listed).to_contain_text("All your lists")
    await listed.get_by_role("button", name="Delete Work calendar").click()
    await expect(page.locator("#toasts")).to_contain_text("its address no longer works")
    assert (await page.request.get(url)).status == 404
