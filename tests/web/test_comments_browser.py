"""Two people in two Chromium contexts on a shared list: the owner assigns a task to the
member and comments; the member sees the assignment and the comment, answers, and edits
the answer in place (no Edit on the owner's comment). The task page with comments passes
axe, light and dark, phone and desktop, and is pictured for review
(tests/artifacts/screenshots/task-comments-*.png)."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.web.conftest import Two, sign_up
from tests.web.sharing_steps import add_task, new_list, open_task, picture, share_with

pytestmark = pytest.mark.browser


async def test_a_member_sees_anothers_comment_and_assignment(two: Two) -> None:
    ada, bob = two.ada, two.bob
    await sign_up(ada, "Ada Lovelace")
    bob_user = await sign_up(bob, "Bob Babbage")
    await new_list(ada, "House")
    await add_task(ada, "Paint the fence")
    await share_with(ada, bob_user)

    await open_task(ada, "Paint the fence")
    await ada.get_by_label("Assigned to").select_option(label="Bob Babbage")
    await ada.get_by_role("button", name="Save").click()
    await expect(ada.locator(".badge.assignee")).to_have_text("@Bob Babbage")
    await open_task(ada, "Paint the fence")
    await ada.get_by_label("Add a comment").fill("White, please.\nTwo coats.")
    await ada.get_by_role("button", name="Comment").click()
    await expect(ada.locator(".comment-body")).to_have_text("White, please.\nTwo coats.")

    await bob.reload()
    await bob.get_by_role("link", name="Assigned to me").click()
    await expect(bob.get_by_role("link", name="Paint the fence", exact=True)).to_be_visible()
    await open_task(bob, "Paint the fence")
    await expect(bob.locator("#assignee_id option:checked")).to_have_text("Bob Babbage (me)")
    await expect(bob.locator(".comment .who")).to_have_text("Ada Lovelace")
    await expect(bob.locator(".comment-body")).to_have_text("White, please.\nTwo coats.")
    await bob.get_by_label("Add a comment").fill("<b>On it</b>")
    await bob.get_by_role("button", name="Comment").click()
    answer = bob.locator(".comment").nth(1)
    await expect(answer.locator(".comment-body")).to_have_text("<b>On it</b>")

    # Bob edits his answer where it is; Ada's comment has no Edit for him.
    await expect(bob.locator(".comment").first.get_by_role("link", name="Edit")).to_have_count(0)
    await answer.get_by_role("link", name="Edit this comment").click()
    field = bob.get_by_label("Edit your comment")
    await expect(field).to_have_value("<b>On it</b>")
    await field.fill("   ")
    await bob.get_by_role("button", name="Save comment").click()
    await expect(answer.locator(".field-error")).to_contain_text("must not be empty")
    await expect(field).to_have_value("   ")
    await picture(bob, "task-comment-editing", sidebar=False)
    await field.fill("On it, Saturday.")
    await bob.get_by_role("button", name="Save comment").click()
    await expect(answer.locator(".comment-body")).to_have_text("On it, Saturday.")
    await expect(answer.locator(".edited")).to_have_text("edited")
    await expect(bob.get_by_label("Edit your comment")).to_have_count(0)

    await ada.reload()
    await expect(ada.locator(".comment")).to_have_count(2)
    await expect(ada.locator(".comment .who").nth(1)).to_have_text("Bob Babbage")
    await expect(ada.locator(".comment-body").nth(1)).to_have_text("On it, Saturday.")
    await expect(ada.get_by_role("link", name="Edit this comment")).to_have_count(1)
    await picture(ada, "task-comments", sidebar=False)
    await picture(bob, "task-comments-member", sidebar=False)
