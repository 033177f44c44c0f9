"""An owner manages a list's members in Chromium: invites an address that has no account
yet, cancels (the invitation is gone and the address no longer joins at sign-up), invites
again; the person signs up and is a member with the role of the second invitation. The
owner then hands the list over with "Make owner": the former owner is an admin who still
sees the list, its tasks and their comments, and the new owner holds the hand-over."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.web.conftest import Two, new_email, sign_up
from tests.web.sharing_steps import add_task, invite, new_list, open_share_panel, open_task

pytestmark = pytest.mark.browser


async def _to_list(page: Page, name: str) -> None:
    await page.goto("/")
    await page.locator("#sidebar-lists a", has_text=name).click()
    await expect(page.get_by_role("heading", name=name)).to_be_visible()


async def _cancel(page: Page, email: str) -> None:
    await open_share_panel(page)
    await page.get_by_role("button", name=f"Cancel the invitation of {email}").click()
    await expect(page.get_by_role("status")).to_contain_text("Invitation cancelled.")
    await open_share_panel(page)
    await expect(page.locator(".share-panel .invitations", has_text=email)).to_have_count(0)


async def test_invite_cancel_invite_sign_up_and_hand_over(two: Two) -> None:
    ada, bob = two.ada, two.bob
    newcomer = new_email()
    await sign_up(ada, "Ada Lovelace")
    await new_list(ada, "Attic")
    await invite(ada, newcomer, "viewer")
    await expect(ada.get_by_role("status")).to_contain_text(f"Invited {newcomer}")
    await _cancel(ada, newcomer)

    await new_list(ada, "Garden")
    await add_task(ada, "Plant roses")
    await open_task(ada, "Plant roses")
    await ada.get_by_label("Add a comment").fill("By the gate.")
    await ada.get_by_role("button", name="Comment").click()
    await expect(ada.locator(".comment-body")).to_have_text("By the gate.")
    await _to_list(ada, "Garden")
    await invite(ada, newcomer, "viewer")
    await expect(ada.get_by_role("status")).to_contain_text(f"Invited {newcomer}")
    await open_share_panel(ada)
    pending = ada.locator(".share-panel .invitations li", has_text=newcomer)
    await expect(pending).to_contain_text("invited, Can view")
    await _cancel(ada, newcomer)
    await invite(ada, newcomer, "editor")
    await open_share_panel(ada)
    await expect(pending).to_contain_text("invited, Can edit")

    # The address signs up: a member of Garden with the second invitation's role, and
    # nothing of Attic, whose invitation was cancelled.
    await sign_up(bob, "Bob Babbage", email=newcomer)
    await expect(bob.locator("#sidebar-lists a", has_text="Garden")).to_be_visible()
    await expect(bob.locator("#sidebar-lists a", has_text="Attic")).to_have_count(0)
    await _to_list(ada, "Garden")
    await open_share_panel(ada)
    await expect(ada.locator(".share-panel .invitations")).to_have_count(0)
    member = ada.locator(".share-panel .member", has_text="Bob Babbage")
    await expect(member.locator("select")).to_have_value("editor")

    # Ada hands Garden over: the box must be ticked first.
    await member.get_by_role("checkbox").check()
    await member.get_by_role("button", name="Make owner").click()
    await expect(ada.get_by_role("status")).to_contain_text(
        "“Garden” now belongs to its new owner; you are an admin."
    )
    await expect(ada).to_have_url(re.compile(r"list="))
    await expect(ada.get_by_role("heading", name="Garden")).to_be_visible()
    await expect(ada.get_by_role("link", name="Plant roses", exact=True)).to_be_visible()
    await open_share_panel(ada)
    await expect(ada.get_by_role("button", name="Make owner")).to_have_count(0)
    owner = ada.locator(".share-panel .member", has_text="Bob Babbage")
    await expect(owner.locator(".member-role-label")).to_have_text("Owner")
    me = ada.locator(".share-panel .member", has_text="(you)")
    await expect(me.locator("select")).to_have_value("admin")
    # An admin still invites.
    await expect(ada.get_by_label("Invite by email")).to_be_visible()
    await open_task(ada, "Plant roses")
    await expect(ada.locator(".comment-body")).to_have_text("By the gate.")

    await _to_list(bob, "Garden")
    await open_share_panel(bob)
    await expect(bob.get_by_role("button", name="Make owner")).to_have_count(1)
    former = bob.locator(".share-panel .member", has_text="Ada Lovelace")
    await expect(former.locator("select")).to_have_value("admin")
    await expect(bob.locator(".share-panel .member", has_text="(you)")).to_contain_text("Owner")
    await open_task(bob, "Plant roses")
    await expect(bob.locator(".comment .who")).to_have_text("Ada Lovelace")
    await expect(bob.locator(".comment-body")).to_have_text("By the gate.")
