"""axe-core on every main page, light and dark, phone and desktop; screenshots for review.

The screenshots go to tests/artifacts/screenshots/ (ignored by git).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.web.conftest import ARTIFACTS, WebUser

pytestmark = pytest.mark.browser

AXE = Path(__file__).parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ARTIFACTS / "screenshots"
WIDTHS = {"phone": 375, "desktop": 1280}
SCHEMES = ("light", "dark")
RUN_AXE = """async () => {
  const result = await axe.run(document, { resultTypes: ['violations'] })
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' '))
  }))
}"""


async def serious_violations(page: Page) -> list[dict[str, Any]]:
    # Evaluated through the DevTools protocol: the page's CSP would refuse a script tag.
    if not await page.evaluate("typeof axe !== 'undefined'"):
        await page.evaluate(AXE.read_text())
    # Colours are judged as they settle: a toast fading in (160 ms) is half transparent, and
    # axe then reported its text's contrast as too low (a flake of the webhook test).
    await page.evaluate(
        """() => Promise.all(document.getAnimations()
          .filter(each => each.effect && each.effect.getComputedTiming().endTime !== Infinity)
          .map(each => each.finished.catch(() => {})))"""
    )
    violations: list[dict[str, Any]] = await page.evaluate(RUN_AXE)
    return [v for v in violations if v["impact"] in ("serious", "critical")]


async def check(page: Page, name: str) -> None:
    """axe finds nothing serious in either colour scheme, and every variant is pictured."""
    for scheme in SCHEMES:
        await page.emulate_media(color_scheme=scheme)
        for device, width in WIDTHS.items():
            await page.set_viewport_size({"width": width, "height": 800})
            assert await serious_violations(page) == [], f"{name}, {scheme}, {device}"
            # Hiding the caret would leave style="" on every input, which htmx then copies
            # onto swapped-in elements and the CSP reports.
            await page.screenshot(
                path=SCREENSHOTS / f"{name}-{device}-{scheme}.png", full_page=True, caret="initial"
            )


async def test_the_pages_for_visitors(page: Page) -> None:
    await page.goto("/login")
    await check(page, "login")
    await page.goto("/signup")
    await page.get_by_label("Email").fill("not-an-address@")
    await page.get_by_label("Password").fill("short")
    await page.get_by_label("Password").evaluate("field => field.form.noValidate = true")
    await page.get_by_role("button", name="Sign up").click()
    await expect(page.locator("#password-error")).to_be_visible()
    await check(page, "signup-errors")
    await page.goto("/no/such/page")
    await check(page, "not-found")


async def test_the_pages_for_someone_signed_in(page: Page, user: WebUser) -> None:
    await check(page, "list-empty")
    for title in (
        "Renew the passport before the summer holidays",
        "Buy oat milk",
        "Call the plumber about the kitchen tap",
        "Water the plants",
    ):
        await page.get_by_label("New task").fill(title)
        await page.get_by_label("New task").press("Enter")
        await expect(page.get_by_role("link", name=title, exact=True)).to_be_visible()
    await page.get_by_role("checkbox", name="Buy oat milk").click()
    await expect(page.get_by_role("checkbox", name="Buy oat milk")).to_be_checked()
    await page.get_by_role("link", name="Details of Water the plants").click()
    await page.get_by_label("Notes").fill("The fern in the hall needs the most.")
    await page.get_by_role("button", name="Save").click()
    await expect(page).to_have_url(re.compile(r"/$"))
    await expect(page.get_by_role("status")).to_contain_text("Saved")
    await check(page, "list")

    await page.get_by_role(
        "link", name="Call the plumber about the kitchen tap", exact=True
    ).click()
    await expect(page.get_by_role("textbox", name="Title")).to_be_focused()
    await check(page, "list-editing")
    await page.keyboard.press("Escape")
    await expect(
        page.get_by_role("link", name="Call the plumber about the kitchen tap", exact=True)
    ).to_be_focused()
    await page.keyboard.press("?")
    await expect(page.get_by_role("dialog")).to_be_visible()
    await check(page, "shortcuts")
    await page.keyboard.press("Escape")

    await page.get_by_role("link", name="Details of Water the plants").click()
    await check(page, "detail")
    await page.goto("/account")
    await check(page, "account")
