"""The web app under test: a live server per backend, driven by Debian's Chromium.

One server and one browser serve the whole session; every test gets a fresh browser
context and signs up a user of its own, so tests never see each other's data.

The browser is driven through Playwright's async API on the suite's one event loop.
pytest-playwright's sync fixtures leave Playwright's own loop marked as running for the
rest of the session, which breaks every asyncio test that runs after them.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    async_playwright,
    expect,
)

from tests.conftest import NewDatabase
from tests.reliability.live import serving_migrated

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parents[1] / "artifacts"
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class LiveServer:
    url: str
    backend: str


@pytest.fixture(scope="session")
def live_server(
    backend: str, new_database: NewDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp(f"live-{backend}")
    url = new_database.url()
    with serving_migrated(url, data_dir) as server:
        yield LiveServer(url=server.base_url, backend=backend)


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    # `playwright install` cannot download browsers here: use the system's Chromium.
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture
async def context(browser: Browser, live_server: LiveServer) -> AsyncIterator[BrowserContext]:
    fresh = await browser.new_context(base_url=live_server.url)
    yield fresh
    await fresh.close()


# The sizes every new page is looked at in, phone and desk.
VIEWPORTS = {"phone": (390, 844), "desktop": (1280, 800)}


async def each_look(page: Page) -> AsyncIterator[tuple[str, str]]:
    """Sets the page to each color scheme at each of VIEWPORTS, yielding (scheme, device);
    the page is light at 1280x800 again afterwards."""
    for scheme in ("light", "dark"):
        await page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
        for device, (width, height) in VIEWPORTS.items():
            await page.set_viewport_size({"width": width, "height": height})
            yield scheme, device
    await page.emulate_media(color_scheme="light")
    await page.set_viewport_size({"width": 1280, "height": 800})


async def wait_until(page: Page, predicate: str, timeout_s: float = 10.0) -> None:
    """Polls a JavaScript function (`() => ...`, may return a promise) until it is true.

    Not page.wait_for_function: under our Content-Security-Policy (no 'unsafe-eval') its
    second poll of a predicate is refused with an EvalError (microsoft/playwright#36986),
    so it failed whenever the condition was not already true at the first try."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await page.evaluate(predicate):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still false after {timeout_s} s: {predicate}")
        await asyncio.sleep(0.05)


def watch(page: Page) -> list[str]:
    """Collect what must never happen on our pages: script errors and CSP refusals.

    The browser and htmx also log every 4xx answer as a console error; those are expected."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        expected = ("Failed to load resource", "Response Status Error Code")
        if message.type == "error" and not message.text.startswith(expected):
            problems.append(f"{message.text} ({message.location.get('url', '')})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    return problems


@pytest.fixture
async def page(context: BrowserContext) -> AsyncIterator[Page]:
    opened = await context.new_page()
    problems = watch(opened)
    yield opened
    assert problems == []


@dataclass(frozen=True)
class WebUser:
    email: str
    password: str
    name: str


def new_email() -> str:
    return f"web-{uuid.uuid4().hex[:12]}@example.com"


async def sign_up(page: Page, name: str = "Ada Lovelace", *, email: str | None = None) -> WebUser:
    user = WebUser(email=email or new_email(), password=PASSWORD, name=name)
    await page.goto("/signup")
    await page.get_by_label("Name", exact=True).fill(user.name)
    await page.get_by_label("Email").fill(user.email)
    await page.get_by_label("Password").fill(user.password)
    await page.get_by_role("button", name="Sign up").click()
    await expect(page).to_have_url(re.compile(r"/$"))
    return user


async def log_in(page: Page, user: WebUser) -> None:
    await page.goto("/login")
    await page.get_by_label("Email").fill(user.email)
    await page.get_by_label("Password").fill(user.password)
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(re.compile(r"/$"))


@pytest.fixture
async def user(page: Page) -> WebUser:
    return await sign_up(page)


@dataclass(frozen=True)
class Two:
    """Two people, each in a browser context of their own (own cookies, own tabs): what
    one does reaches the other only through the server. Nobody is signed up yet."""

    ada: Page
    bob: Page


@pytest.fixture
async def two(browser: Browser, live_server: LiveServer) -> AsyncIterator[Two]:
    contexts = [await browser.new_context(base_url=live_server.url) for _ in range(2)]
    try:
        pages = [await context.new_page() for context in contexts]
        # Each page's own list, read at the end: what happened on either page counts.
        problems = [watch(opened) for opened in pages]
        yield Two(*pages)
        assert [problem for found in problems for problem in found] == []
    finally:
        for context in contexts:
            await context.close()
