"""Assignees and comments on shared lists, through the API, on both databases."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Account, SignUp


async def _shared_list(
    client: httpx.AsyncClient, owner: Account, *members: tuple[Account, str]
) -> int:
    created = await client.post("/api/me/lists", headers=owner.headers, json={"name": "Home"})
    assert created.status_code == 201, created.text
    list_id = int(created.json()["id"])
    for who, role in members:
        added = await client.post(
            f"/api/me/lists/{list_id}/members",
            headers=owner.headers,
            json={"email": who.email, "role": role},
        )
        assert added.status_code == 201, added.text
    return list_id


async def _task(
    client: httpx.AsyncClient, who: Account, list_id: int | None, **extra: Any
) -> httpx.Response:
    body: dict[str, Any] = {"title": "Paint the fence", **extra}
    if list_id is not None:
        body["list_id"] = list_id
    return await client.post("/api/me/tasks", headers=who.headers, json=body)


# Assignees


async def test_a_member_is_assigned_shown_filtered_and_the_change_recorded(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    list_id = await _shared_list(client, alice, (bob, "editor"))
    created = await _task(client, alice, list_id, assignee_id=bob.id)
    assert created.status_code == 201, created.text
    task = created.json()
    assert task["assignee_id"] == bob.id
    assert task["assignee"] == {"id": bob.id, "name": "Test"}
    other = (await _task(client, alice, list_id, title="Unassigned")).json()
    assert other["assignee"] is None

    mine = await client.get("/api/me/tasks", headers=bob.headers, params={"assignee": "me"})
    assert [t["id"] for t in mine.json()] == [task["id"]]
    assert mine.json()[0]["assignee"] == {"id": bob.id, "name": "Test"}
    nobody = await client.get("/api/me/tasks", headers=bob.headers, params={"assignee": "none"})
    assert [t["id"] for t in nobody.json()] == [other["id"]]
    by_id = await client.get("/api/me/tasks", headers=alice.headers, params={"assignee": bob.id})
    assert [t["id"] for t in by_id.json()] == [task["id"]]
    got = await client.get(f"/api/me/tasks/{task['id']}", headers=bob.headers)
    assert got.json()["assignee"] == {"id": bob.id, "name": "Test"}

    # Bob, an editor, hands it back to the owner; the activity says who it was and is.
    changed = await client.put(
        f"/api/me/tasks/{task['id']}", headers=bob.headers, json={"assignee_id": alice.id}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["assignee"]["id"] == alice.id
    history = await client.get(f"/api/me/tasks/{task['id']}/activity", headers=alice.headers)
    assert history.status_code == 200, history.text
    latest = history.json()[0]
    assert latest["changes"] == {"assignee_id": [bob.id, alice.id]}
    assert latest["actor"]["id"] == bob.id
    cleared = await client.put(
        f"/api/me/tasks/{task['id']}", headers=alice.headers, json={"assignee_id": None}
    )
    assert cleared.json()["assignee"] is None
    assert cleared.json()["assignee_id"] is None


async def test_only_the_owner_or_a_member_may_be_assigned(
    client: httpx.AsyncClient, alice: Account, bob: Account, sign_up: SignUp
) -> None:
    carol = await sign_up()
    list_id = await _shared_list(client, alice, (bob, "viewer"))
    # A viewer may be assigned (they are a member), but may not assign.
    assert (await _task(client, alice, list_id, assignee_id=bob.id)).status_code == 201
    for stranger in (carol.id, "nobody-at-all"):
        refused = await _task(client, alice, list_id, assignee_id=stranger)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"] == [
            {"field": "assignee_id", "in": "body", "reason": "not a member of this list"}
        ]
    # Own lists (the Inbox): the owner themself, nobody else.
    own = await _task(client, alice, None, assignee_id=alice.id)
    assert own.status_code == 201, own.text
    assert (await _task(client, alice, None, assignee_id=bob.id)).status_code == 422
    task = (await _task(client, alice, list_id)).json()
    viewer = await client.put(
        f"/api/me/tasks/{task['id']}", headers=bob.headers, json={"assignee_id": bob.id}
    )
    assert viewer.status_code == 403
    assert viewer.json()["code"] == "forbidden_role"


async def test_moving_to_a_list_without_the_assignee_and_removal_clear_it(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    list_id = await _shared_list(client, alice, (bob, "editor"))
    task = (await _task(client, alice, list_id, assignee_id=bob.id)).json()
    kept = (await _task(client, alice, list_id, assignee_id=alice.id)).json()
    inbox = (await client.get("/api/me/lists", headers=alice.headers)).json()[0]["id"]
    moved = await client.post(
        f"/api/me/tasks/{task['id']}/move", headers=alice.headers, json={"list_id": inbox}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["assignee"] is None  # Bob is no member of Alice's Inbox
    back = await client.put(
        f"/api/me/tasks/{task['id']}",
        headers=alice.headers,
        json={"list_id": list_id, "assignee_id": bob.id},
    )
    assert back.json()["assignee_id"] == bob.id
    to_inbox = await client.put(
        f"/api/me/tasks/{kept['id']}", headers=alice.headers, json={"list_id": None}
    )
    assert to_inbox.json()["assignee_id"] == alice.id  # the owner is everywhere

    removed = await client.delete(
        f"/api/me/lists/{list_id}/members/{bob.id}", headers=alice.headers
    )
    assert removed.status_code == 204, removed.text
    after = await client.get(f"/api/me/tasks/{task['id']}", headers=alice.headers)
    assert after.json()["assignee"] is None
    history = await client.get(f"/api/me/tasks/{task['id']}/activity", headers=alice.headers)
    assert history.json()[0]["changes"] == {"assignee_id": [bob.id, None]}


async def test_hostile_assignee_values_are_clear_errors(
    client: httpx.AsyncClient, alice: Account
) -> None:
    for value in ("", "x" * 65, "a\x00b", 5, ["a"]):
        refused = await _task(client, alice, None, assignee_id=value)
        assert refused.status_code == 422, (value, refused.text)
        assert refused.json()["errors"][0]["field"] == "assignee_id"
    for value in ("", "x" * 65, "a\x01"):
        found = await client.get("/api/me/tasks", headers=alice.headers, params={"assignee": value})
        assert found.status_code == 422, (value, found.text)


# Comments


async def test_members_read_editors_comment_and_authors_change_their_own(
    client: httpx.AsyncClient, alice: Account, bob: Account, sign_up: SignUp
) -> None:
    viewer = await sign_up()
    list_id = await _shared_list(client, alice, (bob, "editor"), (viewer, "viewer"))
    task = (await _task(client, alice, list_id)).json()
    url = f"/api/me/tasks/{task['id']}/comments"
    posted = await client.post(url, headers=bob.headers, json={"body": "Which colour?\n  Green?"})
    assert posted.status_code == 201, posted.text
    comment = posted.json()
    assert comment["body"] == "Which colour?\n  Green?"
    assert comment["author"] == {"id": bob.id, "name": "Test"}
    assert comment["task_id"] == task["id"]
    await client.post(url, headers=alice.headers, json={"body": "<b>White</b>"})

    for who in (alice, bob, viewer):
        seen = await client.get(url, headers=who.headers)
        assert seen.status_code == 200
        assert [c["body"] for c in seen.json()] == ["Which colour?\n  Green?", "<b>White</b>"]
    refused = await client.post(url, headers=viewer.headers, json={"body": "me too"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden_role"

    mine = f"{url}/{comment['id']}"
    not_hers = await client.patch(mine, headers=alice.headers, json={"body": "changed"})
    assert not_hers.status_code == 403
    assert not_hers.json()["code"] == "not_author"
    edited = await client.patch(mine, headers=bob.headers, json={"body": "Green, then."})
    assert edited.status_code == 200, edited.text
    assert edited.json()["body"] == "Green, then."
    assert edited.json()["updated_at"] >= comment["updated_at"]

    # The owner (an admin would too) deletes anyone's; an editor only their own.
    second = (await client.get(url, headers=bob.headers)).json()[1]
    assert (await client.delete(f"{url}/{second['id']}", headers=bob.headers)).status_code == 403
    assert (await client.delete(mine, headers=alice.headers)).status_code == 204
    assert (await client.delete(mine, headers=alice.headers)).status_code == 404
    assert [c["body"] for c in (await client.get(url, headers=bob.headers)).json()] == [
        "<b>White</b>"
    ]
    activity = await client.get(f"/api/me/lists/{list_id}/activity", headers=alice.headers)
    kinds = [(e["resource"], e["action"]) for e in activity.json()]
    assert kinds[:3] == [("comment", "deleted"), ("comment", "updated"), ("comment", "created")]


async def test_comments_and_history_follow_the_tasks_to_a_new_owner(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    # Comments are stored under the task's owner: "Make owner" moves them with the tasks,
    # or the thread would vanish from the task page (and from both owners' backups).
    list_id = await _shared_list(client, alice, (bob, "admin"))
    task = (await _task(client, alice, list_id)).json()
    url = f"/api/me/tasks/{task['id']}/comments"
    for who, body in ((alice, "Mine"), (bob, "His")):
        assert (await client.post(url, headers=who.headers, json={"body": body})).is_success
    own = (await _task(client, alice, None)).json()
    kept = f"/api/me/tasks/{own['id']}/comments"
    assert (await client.post(kept, headers=alice.headers, json={"body": "Private"})).is_success

    history = f"/api/me/tasks/{task['id']}/activity"
    before = (await client.get(history, headers=alice.headers)).json()
    assert before
    listed = f"/api/me/lists/{list_id}/activity"
    list_before = (await client.get(listed, headers=alice.headers)).json()

    handed = await client.post(
        f"/api/me/lists/{list_id}/members/{bob.id}/make-owner", headers=alice.headers
    )
    assert handed.status_code == 204, handed.text
    # The tasks' and comments' history goes with them: the task's reads as before, and
    # the list's still shows those events.
    of_tasks = [e for e in list_before if e["resource"] in ("task", "comment")]
    assert len(of_tasks) == 3
    for who in (alice, bob):
        assert (await client.get(history, headers=who.headers)).json() == before
        after = (await client.get(listed, headers=who.headers)).json()
        assert [e for e in after if e["resource"] in ("task", "comment")] == of_tasks

    for who in (alice, bob):
        seen = await client.get(url, headers=who.headers)
        assert seen.status_code == 200, seen.text
        assert [c["body"] for c in seen.json()] == ["Mine", "His"]
    edited = await client.patch(
        f"{url}/{seen.json()[0]['id']}", headers=alice.headers, json={"body": "Mine, still"}
    )
    assert edited.status_code == 200, edited.text
    assert [c["body"] for c in (await client.get(kept, headers=alice.headers)).json()] == [
        "Private"
    ]


async def test_comments_page_oldest_first(client: httpx.AsyncClient, alice: Account) -> None:
    task = (await _task(client, alice, None)).json()
    url = f"/api/me/tasks/{task['id']}/comments"
    for n in range(5):
        assert (await client.post(url, headers=alice.headers, json={"body": f"#{n}"})).is_success
    first = await client.get(url, headers=alice.headers, params={"limit": 2})
    assert [c["body"] for c in first.json()] == ["#0", "#1"]
    link = first.headers["link"]
    assert 'rel="next"' in link
    after = first.json()[-1]["id"]
    rest = await client.get(url, headers=alice.headers, params={"after": after, "limit": 10})
    assert [c["body"] for c in rest.json()] == ["#2", "#3", "#4"]
    assert "link" not in rest.headers


async def test_strangers_trash_and_bad_input(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    task = (await _task(client, alice, None)).json()
    url = f"/api/me/tasks/{task['id']}/comments"
    comment = (await client.post(url, headers=alice.headers, json={"body": "hi"})).json()
    for method, path, body in (
        ("GET", url, None),
        ("POST", url, {"body": "x"}),
        ("PATCH", f"{url}/{comment['id']}", {"body": "x"}),
        ("DELETE", f"{url}/{comment['id']}", None),
    ):
        answer = await client.request(method, path, headers=bob.headers, json=body)
        assert answer.status_code == 404, (method, answer.text)
        assert answer.json()["code"] == "task_not_found"
    # Another task's comment id under this task: not found either.
    other = (await _task(client, alice, None)).json()
    wrong = await client.patch(
        f"/api/me/tasks/{other['id']}/comments/{comment['id']}",
        headers=alice.headers,
        json={"body": "x"},
    )
    assert wrong.status_code == 404
    assert wrong.json()["code"] == "comment_not_found"
    for body in ({"body": ""}, {"body": "   \n "}, {"body": "x" * 10_001}, {"body": "a\x00"}, {}):
        refused = await client.post(url, headers=alice.headers, json=body)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.json()["errors"][0]["field"] == "body"
    extra = await client.post(url, headers=alice.headers, json={"body": "x", "evil": 1})
    assert extra.status_code == 422
    assert (await client.post(url, headers=alice.headers, json={"body": "x" * 10_000})).is_success
    assert (await client.delete(f"/api/me/tasks/{task['id']}", headers=alice.headers)).is_success
    gone = await client.get(url, headers=alice.headers)
    assert gone.status_code == 404
    assert gone.json()["code"] == "task_not_found"


async def test_quick_add_at_name_assigns_a_member_of_the_target_list(
    client: httpx.AsyncClient, alice: Account, sign_up: SignUp
) -> None:
    sam = await sign_up("sam.jones@example.com")
    renamed = await client.patch("/api/auth/me", headers=sam.headers, json={"name": "Samuel J"})
    assert renamed.status_code == 200, renamed.text
    list_id = await _shared_list(client, alice, (sam, "editor"))

    async def quick(text: str, **extra: Any) -> dict[str, Any]:
        made = await client.post(
            "/api/me/tasks/quick", headers=alice.headers, json={"text": text, **extra}
        )
        assert made.status_code == 201, made.text
        return dict(made.json())

    by_name = await quick("Call the plumber @samuel tomorrow", list_id=list_id)
    assert (by_name["title"], by_name["assignee_id"]) == ("Call the plumber", sam.id)
    by_email = await quick("Fix @SAM.JONES the gate", list_id=list_id)
    assert (by_email["title"], by_email["assignee_id"]) == ("Fix the gate", sam.id)
    nobody = await quick("Email @nobody about it", list_id=list_id)
    assert (nobody["title"], nobody["assignee_id"]) == ("Email @nobody about it", None)
    # Sam is no member of Alice's Inbox: the text stays.
    inbox = await quick("Ask @samuel")
    assert (inbox["title"], inbox["assignee_id"]) == ("Ask @samuel", None)
