"""Webhooks in Chromium against a live `todo serve` that runs its jobs in-process: a webhook
added on the page to a real HTTP receiver on 127.0.0.1 gets a task change, signed with the
secret the page showed once, and the page's delivery log shows it delivered. The pages are
pictured on a phone and a desktop, light and dark (tests/artifacts/webhooks-*.png)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect
from standardwebhooks import Webhook as Verifier

from tests.conftest import NewDatabase, make_settings
from tests.reliability.live import server_env, serving
from tests.web.conftest import ARTIFACTS, LiveServer, each_look, sign_up, watch
from tests.web.test_accessibility import serious_violations
from tests.webhooks.test_delivery import Receiver
from todo import migrations

pytestmark = pytest.mark.browser

LONG_PATH = "/hook?" + "&".join(f"parameter{i}=value{i}" for i in range(12))


@pytest.fixture(scope="module")
def hook_server(
    backend: str, new_database: NewDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp(f"hooks-live-{backend}")
    url = new_database.url()
    migrations.upgrade(make_settings(url, data_dir))
    env = server_env(
        url,
        data_dir,
        JOBS_IN_PROCESS="always",
        WEBHOOK_ALLOW_PRIVATE="127.0.0.1",
        WEBHOOK_TIMEOUT="3",
    )
    with serving(env, data_dir) as server:
        yield LiveServer(url=server.base_url, backend=backend)


@pytest.fixture
async def hook_page(browser: Browser, hook_server: LiveServer) -> AsyncIterator[Page]:
    context: BrowserContext = await browser.new_context(base_url=hook_server.url)
    opened = await context.new_page()
    problems = watch(opened)
    yield opened
    await context.close()
    assert problems == []


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    await found.start()
    yield found
    await found.stop()


async def _pictures(page: Page, name: str) -> None:
    async for scheme, device in each_look(page):
        assert await serious_violations(page) == [], f"{name}, {scheme}, {device}"
        # Nothing wider than the screen: a long URL wraps instead.
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name}, {scheme}, {device}: {overflow}px too wide"
        shot = ARTIFACTS / f"webhooks-{name}-{device}-{scheme}.png"
        await page.screenshot(path=shot, full_page=True, caret="initial")


async def test_a_webhook_added_on_the_page_receives_a_task_change(
    hook_page: Page, receiver: Receiver
) -> None:
    page = hook_page
    await sign_up(page)
    await page.goto("/account")
    await page.get_by_role("link", name="Manage webhooks").click()
    await expect(page).to_have_url(re.compile(r"/account/webhooks$"))
    await expect(page.get_by_text("No webhooks yet.")).to_be_visible()

    # A refused address is shown at its field.
    await page.get_by_label("URL").fill("http://10.0.0.1/hook")
    await page.get_by_role("button", name="Add webhook").click()
    await expect(page.locator("#url-error")).to_contain_text("This address is refused")

    target = receiver.url.replace("/hook", LONG_PATH)
    await page.get_by_label("URL").fill(target)
    await page.get_by_label("Only the events chosen here:").check()
    await page.get_by_role("checkbox", name="task.created").check()
    await page.get_by_role("button", name="Add webhook").click()
    secret_field = page.get_by_label("The signing secret")
    await expect(secret_field).to_have_value(re.compile(r"^whsec_[A-Za-z0-9+/=]{44}$"))
    secret = await secret_field.input_value()
    await _pictures(page, "list")

    await page.goto("/account/webhooks")
    await page.get_by_role("link", name=re.compile(r"^Deliveries of ")).click()
    await expect(page.get_by_text("No deliveries yet")).to_be_visible()

    # The change is made in another tab; this one's log shows it without a reload (the
    # in-process dispatcher runs every 5 seconds, the open log refreshes itself).
    other = await page.context.new_page()
    await other.goto("/")
    await other.get_by_label("New task").fill("Tell the other program")
    await other.get_by_label("New task").press("Enter")
    await expect(other.get_by_text("Tell the other program")).to_be_visible()
    await other.close()
    delivered = page.locator(".delivery", has_text="task.created").filter(has_text="Delivered")
    await expect(delivered).to_be_visible(timeout=30_000)
    await expect(delivered).to_contain_text("Answered 204")
    await expect(delivered).to_contain_text("1 attempt")

    (arrival,) = receiver.arrived
    headers = {key.lower(): value for key, value in arrival.headers.items()}
    body = Verifier(secret).verify(arrival.body, headers)
    assert body["type"] == "task.created"
    task_id = json.loads(arrival.body)["data"]["id"]
    await page.goto("/")
    await expect(page.locator(f"#title-{task_id}")).to_have_text("Tell the other program")
    await page.goto("/account/webhooks")
    await expect(page.locator(".hook")).to_contain_text("Delivered")
    await page.get_by_role("link", name=re.compile(r"^Deliveries of ")).click()
    await expect(delivered).to_be_visible()

    # A receiver that fails: the test ping is logged as failed, with a Retry button.
    receiver.status = 500
    await page.get_by_role("button", name="Send a test ping").click()
    await expect(page.locator("#toasts")).to_contain_text("The test ping failed")
    pinged = page.locator(".delivery", has_text="ping")
    await expect(pinged).to_contain_text("Failed")
    await expect(pinged).to_contain_text("Answered 500")
    await _pictures(page, "deliveries")
    receiver.status = 204
    retry = pinged.get_by_role("button", name=re.compile(r"^Retry"))
    # A keyboard user on the button keeps it when the log is drawn again around it.
    await retry.focus()
    focused = await retry.get_attribute("id")
    await page.evaluate(
        "new Promise(done => document.body.addEventListener('htmx:afterSettle', done, "
        "{once: true}))"
    )
    assert await page.evaluate("document.activeElement.id") == focused
    await retry.click()
    await expect(page.locator("#toasts")).to_contain_text("sent again within seconds")
    await expect(pinged).to_contain_text("Delivered", timeout=30_000)
    await expect(pinged).to_contain_text("2 attempts")
    assert len(receiver.arrived) == 3
