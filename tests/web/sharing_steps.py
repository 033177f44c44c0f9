"""What the browser tests of shared lists do again and again, as a person does it in the
page: make a list, share it through its Share panel, open a task, picture the page."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.web.conftest import WebUser
from tests.web.test_accessibility import SCREENSHOTS, serious_violations

SIZES = {"phone": (390, 844), "desktop": (1280, 800)}


async def new_list(page: Page, name: str) -> None:
    await page.get_by_label("New list").fill(name)
    await page.get_by_role("button", name="Create list").click()
    await expect(page.get_by_role("heading", name=name)).to_be_visible()


async def add_task(page: Page, title: str) -> None:
    await page.get_by_label("New task").fill(title)
    await page.get_by_label("New task").press("Enter")
    await expect(page.get_by_role("link", name=title, exact=True)).to_be_visible()


async def open_share_panel(page: Page) -> None:
    panel = page.locator(".share-panel")
    if await panel.get_attribute("open") is None:
        await panel.locator("summary").click()


async def invite(page: Page, email: str, role: str = "editor") -> None:
    """Invite an address from the open list's Share panel (an account or not yet)."""
    await open_share_panel(page)
    await page.get_by_label("Invite by email").fill(email)
    await page.locator("#share-role").select_option(role)
    await page.get_by_role("button", name="Invite").click()


async def share_with(page: Page, member: WebUser, role: str = "editor") -> None:
    """Share the open list with someone who has an account: they are a member at once."""
    await invite(page, member.email, role)
    await expect(page.get_by_role("status")).to_contain_text(f"Shared with {member.name}")


async def open_task(page: Page, title: str) -> None:
    await page.get_by_role("link", name=f"Details of {title}").click()
    await expect(page.get_by_role("heading", name="Task details")).to_be_visible()


async def picture(page: Page, name: str, *, sidebar: bool = True) -> None:
    """The page in both schemes and sizes, checked by axe, pictured for review
    (tests/artifacts/screenshots/NAME-DEVICE-SCHEME.png). With a sidebar, a phone shows it
    as a closed menu, as app.js draws it at load."""
    for scheme in ("light", "dark"):
        await page.emulate_media(color_scheme=scheme)
        for device, (width, height) in SIZES.items():
            await page.set_viewport_size({"width": width, "height": height})
            if sidebar:
                opened = str(device != "phone").lower()
                await page.evaluate(f"document.getElementById('sidebar').open = {opened}")
            assert await serious_violations(page) == [], f"{name}, {scheme}, {device}"
            await page.screenshot(
                path=SCREENSHOTS / f"{name}-{device}-{scheme}.png", full_page=True, caret="initial"
            )
