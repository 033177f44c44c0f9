"""Two people in two Chromium contexts share a list: the one it is shared with sees it and
adds a task, the owner sees that task after a reload. The Share panel passes axe, light and
dark, on a phone and a desktop, and is pictured for review (tests/artifacts/screenshots/)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.web.conftest import Two, sign_up
from tests.web.sharing_steps import add_task, new_list, open_share_panel, picture, share_with

pytestmark = pytest.mark.browser


async def test_a_shared_list_is_seen_and_written_by_both(two: Two) -> None:
    ada, bob = two.ada, two.bob
    await sign_up(ada, "Ada Lovelace")
    bob_user = await sign_up(bob, "Bob Babbage")

    await new_list(ada, "Family groceries")
    await add_task(ada, "Buy bread")
    await share_with(ada, bob_user)
    await open_share_panel(ada)
    await expect(ada.locator(".share-panel .member")).to_have_count(2)
    await picture(ada, "share-panel")

    await bob.reload()
    shared = bob.locator("#sidebar-lists a", has_text="Family groceries")
    await expect(shared.locator(".shared-mark")).to_be_visible()
    await shared.click()
    await expect(bob.get_by_role("link", name="Buy bread", exact=True)).to_be_visible()
    await add_task(bob, "Buy apples")
    # An editor sees the members but cannot invite or rename.
    await open_share_panel(bob)
    await expect(bob.get_by_label("Invite by email")).to_have_count(0)
    await expect(bob.get_by_role("button", name="Leave this list")).to_be_visible()
    await picture(bob, "share-panel-member")

    await ada.reload()
    await expect(ada.get_by_role("link", name="Buy apples", exact=True)).to_be_visible()

    await bob.get_by_role("button", name="Leave this list").click()
    await expect(bob).to_have_url(re.compile(r"/$"))
    await expect(bob.locator("#sidebar-lists a", has_text="Family groceries")).to_have_count(0)
