"""Sharing through the API: what members see and write, invitations, links, hand-over, and
membership changes racing with writes."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import Account, SignUp


async def _list(client: httpx.AsyncClient, owner: Account, name: str = "Groceries") -> int:
    created = await client.post("/api/me/lists", headers=owner.headers, json={"name": name})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


async def _share(
    client: httpx.AsyncClient, owner: Account, list_id: int, email: str, role: str = "editor"
) -> httpx.Response:
    return await client.post(
        f"/api/me/lists/{list_id}/members",
        headers=owner.headers,
        json={"email": email, "role": role},
    )


async def _task(
    client: httpx.AsyncClient, who: Account, list_id: int, title: str, **extra: Any
) -> dict[str, Any]:
    created = await client.post(
        "/api/me/tasks", headers=who.headers, json={"title": title, "list_id": list_id, **extra}
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


async def _titles(client: httpx.AsyncClient, who: Account, **params: Any) -> list[str]:
    found = await client.get("/api/me/tasks", headers=who.headers, params=params)
    assert found.status_code == 200, found.text
    return sorted(task["title"] for task in found.json())


async def test_a_member_sees_the_list_and_its_tasks_everywhere_and_writes_as_the_owner(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    list_id = await _list(client, alice)
    today = datetime.now(UTC).date().isoformat()
    await _task(client, alice, list_id, "Buy milk", due_date=today, tags=["dairy"])
    await client.post("/api/me/tasks", headers=alice.headers, json={"title": "Alice private"})
    assert "Buy milk" not in await _titles(client, bob)
    shared = await _share(client, alice, list_id, bob.email)
    assert shared.status_code == 201, shared.text
    assert shared.json()["user"] == {"id": bob.id, "name": "Test", "email": bob.email}
    assert shared.json()["role"] == "editor"

    lists = (await client.get("/api/me/lists", headers=bob.headers)).json()
    seen = next(each for each in lists if each["id"] == list_id)
    assert (seen["role"], seen["member_count"], seen["open_tasks"]) == ("editor", 2, 1)
    assert lists[0]["is_inbox"]
    assert lists[0]["role"] == "owner"
    alice_sees = (await client.get(f"/api/me/lists/{list_id}", headers=alice.headers)).json()
    assert (alice_sees["role"], alice_sees["member_count"]) == ("owner", 2)

    assert await _titles(client, bob) == ["Buy milk"]  # not Alice's private task
    assert await _titles(client, bob, due_to=today) == ["Buy milk"]  # Today
    assert await _titles(client, bob, q="milk") == ["Buy milk"]  # search
    assert await _titles(client, bob, tag="dairy") == ["Buy milk"]  # the owner's tag, by name
    assert await _titles(client, bob, list_id=list_id) == ["Buy milk"]

    added = await _task(client, bob, list_id, "Buy eggs", tags=["dairy"])
    assert added["user_id"] == alice.id  # the list owner's, whoever wrote it
    assert await _titles(client, alice, tag="dairy") == ["Buy eggs", "Buy milk"]
    # Bob's own tags are his: the shared task's tag is Alice's.
    assert (await client.get("/api/me/tags", headers=bob.headers)).json() == []
    members = (await client.get(f"/api/me/lists/{list_id}/members", headers=bob.headers)).json()
    assert [(m["user"]["id"], m["role"]) for m in members] == [
        (alice.id, "owner"),
        (bob.id, "editor"),
    ]


async def test_a_removed_member_loses_access_on_the_next_request(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    list_id = await _list(client, alice)
    task = await _task(client, alice, list_id, "Shared")
    await _share(client, alice, list_id, bob.email)
    assert (await client.get(f"/api/me/tasks/{task['id']}", headers=bob.headers)).status_code == 200
    removed = await client.delete(
        f"/api/me/lists/{list_id}/members/{bob.id}", headers=alice.headers
    )
    assert removed.status_code == 204
    for method, path in (
        ("GET", f"/api/me/tasks/{task['id']}"),
        ("PUT", f"/api/me/tasks/{task['id']}"),
        ("GET", f"/api/me/lists/{list_id}"),
    ):
        answer = await client.request(method, path, headers=bob.headers, json={"title": "x"})
        assert answer.status_code == 404, (method, path, answer.text)
    assert await _titles(client, bob) == []


async def test_a_member_leaves_and_the_owner_cannot(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    list_id = await _list(client, alice)
    await _share(client, alice, list_id, bob.email, "viewer")
    left = await client.delete(f"/api/me/lists/{list_id}/members/me", headers=bob.headers)
    assert left.status_code == 204
    owner = await client.delete(f"/api/me/lists/{list_id}/members/me", headers=alice.headers)
    assert (owner.status_code, owner.json()["code"]) == (409, "owner_fixed")


async def test_an_invitation_becomes_a_membership_at_sign_up(
    client: httpx.AsyncClient, alice: Account, sign_up: SignUp
) -> None:
    list_id = await _list(client, alice)
    invited = await _share(client, alice, list_id, "Carol@Example.com", "viewer")
    assert invited.status_code == 202, invited.text
    assert invited.json()["email"] == "carol@example.com"
    again = await _share(client, alice, list_id, "carol@example.com")
    assert (again.status_code, again.json()["code"]) == (409, "already_invited")
    carol = await sign_up("carol@example.com")
    lists = (await client.get("/api/me/lists", headers=carol.headers)).json()
    assert [(each["id"], each["role"]) for each in lists if not each["is_inbox"]] == [
        (list_id, "viewer")
    ]


async def test_sharing_refusals(client: httpx.AsyncClient, alice: Account, bob: Account) -> None:
    inbox = (await client.get("/api/me/lists", headers=alice.headers)).json()[0]
    assert inbox["is_inbox"]
    refused = await _share(client, alice, inbox["id"], bob.email)
    assert (refused.status_code, refused.json()["code"]) == (409, "inbox_not_shared")
    list_id = await _list(client, alice)
    own = await _share(client, alice, list_id, alice.email)
    assert (own.status_code, own.json()["code"]) == (409, "already_member")
    assert (await _share(client, alice, list_id, bob.email)).status_code == 201
    twice = await _share(client, alice, list_id, bob.email)
    assert (twice.status_code, twice.json()["code"]) == (409, "already_member")
    unknown_field = await client.post(
        f"/api/me/lists/{list_id}/members",
        headers=alice.headers,
        json={"email": "x@example.com", "role": "owner"},
    )
    assert unknown_field.status_code == 422
    anonymous = await client.get(f"/api/me/lists/{list_id}/members")
    assert anonymous.status_code == 401
    # A task stays with its owner: it cannot move into a list of someone else's.
    bobs = await client.post("/api/me/tasks", headers=bob.headers, json={"title": "Bob's"})
    moved = await client.post(
        f"/api/me/tasks/{bobs.json()['id']}/move",
        headers=bob.headers,
        json={"after_id": None, "list_id": list_id},
    )
    assert (moved.status_code, moved.json()["code"]) == (409, "list_of_another_owner")


async def test_handing_ownership_over_moves_every_task_and_maps_tags_by_name(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    list_id = await _list(client, alice)
    for n in range(5):
        await _task(client, alice, list_id, f"Task {n}", tags=["home", f"t{n}"])
    await client.post("/api/me/tasks", headers=bob.headers, json={"title": "x", "tags": ["home"]})
    await _share(client, alice, list_id, bob.email, "editor")
    handed = await client.post(
        f"/api/me/lists/{list_id}/members/{bob.id}/make-owner", headers=alice.headers
    )
    assert handed.status_code == 204, handed.text
    tasks = (
        await client.get("/api/me/tasks", headers=bob.headers, params={"list_id": list_id})
    ).json()
    assert len(tasks) == 5
    assert {task["user_id"] for task in tasks} == {bob.id}
    assert all("home" in task["tags"] for task in tasks)
    bob_tags = {
        t["name"]: t["tasks"]
        for t in (await client.get("/api/me/tags", headers=bob.headers)).json()
    }
    assert bob_tags["home"] == 6  # his own task and the five handed over, one tag
    members = (await client.get(f"/api/me/lists/{list_id}/members", headers=alice.headers)).json()
    assert [(m["user"]["id"], m["role"]) for m in members] == [
        (bob.id, "owner"),
        (alice.id, "admin"),
    ]
    # Alice is an admin now: she may rename, no longer hand over.
    again = await client.post(
        f"/api/me/lists/{list_id}/members/{alice.id}/make-owner", headers=alice.headers
    )
    assert (again.status_code, again.json()["code"]) == (403, "forbidden_role")


async def test_links_join_expire_and_are_revoked(
    client: httpx.AsyncClient, alice: Account, bob: Account, sign_up: SignUp
) -> None:
    list_id = await _list(client, alice)
    made = await client.post(
        f"/api/me/lists/{list_id}/links", headers=alice.headers, json={"role": "editor"}
    )
    assert made.status_code == 201, made.text
    secret = made.json()["url"].rsplit("/join/", 1)[1]
    listed = (await client.get(f"/api/me/lists/{list_id}/links", headers=alice.headers)).json()
    assert [(link["id"], link["url"]) for link in listed] == [(made.json()["id"], None)]
    joined = await client.post(f"/api/me/links/{secret}/join", headers=bob.headers)
    assert joined.json() == {"list_id": list_id, "name": "Groceries", "role": "editor"}
    revoked = await client.delete(
        f"/api/me/lists/{list_id}/links/{made.json()['id']}", headers=alice.headers
    )
    assert revoked.status_code == 204
    carol = await sign_up()
    late = await client.post(f"/api/me/links/{secret}/join", headers=carol.headers)
    assert (late.status_code, late.json()["code"]) == (404, "link_not_found")
    past = await client.post(
        f"/api/me/lists/{list_id}/links",
        headers=alice.headers,
        json={"role": "viewer", "expires_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat()},
    )
    assert past.status_code == 422
    bad = await client.post("/api/me/links/not-a-secret/join", headers=carol.headers)
    assert bad.status_code == 422


async def test_twenty_parallel_adds_of_one_email_make_one_member(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    list_id = await _list(client, alice)
    answers = await asyncio.gather(*(_share(client, alice, list_id, bob.email) for _ in range(20)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] + [409] * 19, [a.text for a in answers if a.status_code >= 500]
    members = (await client.get(f"/api/me/lists/{list_id}/members", headers=alice.headers)).json()
    assert len(members) == 2


async def test_no_write_of_a_removed_member_lands_after_the_removal(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    list_id = await _list(client, alice)
    await _share(client, alice, list_id, bob.email)

    async def write(n: int) -> httpx.Response:
        return await client.post(
            "/api/me/tasks",
            headers=bob.headers,
            json={"title": f"Bob {n} {uuid.uuid4().hex[:4]}", "list_id": list_id},
        )

    async def remove() -> tuple[httpx.Response, datetime]:
        answer = await client.delete(
            f"/api/me/lists/{list_id}/members/{bob.id}", headers=alice.headers
        )
        return answer, datetime.now(UTC)

    results = await asyncio.gather(
        *(write(n) for n in range(10)), remove(), *(write(n) for n in range(10, 20))
    )
    removal, removed_at = results[10]  # type: ignore[misc]
    assert removal.status_code == 204
    writes = [r for r in results if isinstance(r, httpx.Response)]
    assert all(w.status_code in (201, 404) for w in writes), [w.text for w in writes]
    landed = [w.json() for w in writes if w.status_code == 201]
    # Each write that landed committed before the removal: its row was created before the
    # removal's answer, and nothing arrives afterwards.
    assert all(datetime.fromisoformat(t["created_at"]) <= removed_at for t in landed)
    after = await write(99)
    assert after.status_code == 404
    stored = await _titles(client, alice, list_id=list_id)
    assert len(stored) == len(landed)


async def test_a_member_id_no_account_can_have_is_a_404(
    client: httpx.AsyncClient, alice: Account
) -> None:
    list_id = await _list(client, alice)
    for member, status, code in (
        ("a%00b", 404, "member_not_found"),
        ("x" * 65, 422, "validation_error"),  # longer than the documented id
    ):
        answer = await client.delete(
            f"/api/me/lists/{list_id}/members/{member}", headers=alice.headers
        )
        assert (answer.status_code, answer.json()["code"]) == (status, code)


async def test_the_activity_of_a_shared_list_names_who_did_what(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    """A member's change is the member's in the history, though the task is the owner's."""
    list_id = await _list(client, alice, f"Chores {uuid.uuid4().hex[:6]}")
    assert (await _share(client, alice, list_id, bob.email)).status_code == 201
    task = await _task(client, bob, list_id, "Bob's errand")
    done = await client.patch(
        f"/api/me/tasks/{task['id']}/complete", headers=bob.headers, json={"completed": True}
    )
    assert done.status_code == 200, done.text
    await _task(client, alice, list_id, "Alice's errand")
    seen = await client.get(f"/api/me/lists/{list_id}/activity", headers=alice.headers)
    assert seen.status_code == 200, seen.text
    who = [(entry["action"], entry["actor"]["id"]) for entry in seen.json()]
    assert ("completed", bob.id) in who
    assert who.count(("created", bob.id)) == 1
    assert ("created", alice.id) in who
    # The member reads the same history.
    theirs = await client.get(f"/api/me/lists/{list_id}/activity", headers=bob.headers)
    assert [e["id"] for e in theirs.json()] == [e["id"] for e in seen.json()]


async def test_an_admin_lists_and_cancels_pending_invitations(
    client: httpx.AsyncClient, alice: Account, bob: Account, sign_up: SignUp
) -> None:
    list_id = await _list(client, alice)
    invited = await _share(client, alice, list_id, "later@example.com", "viewer")
    assert invited.status_code == 202, invited.text
    url = f"/api/me/lists/{list_id}/invitations"
    pending = await client.get(url, headers=alice.headers)
    assert pending.status_code == 200
    assert [(i["email"], i["role"]) for i in pending.json()] == [("later@example.com", "viewer")]
    assert (await _share(client, alice, list_id, bob.email, "editor")).status_code == 201
    one = f"{url}/{invited.json()['id']}"
    refused = await client.delete(one, headers=bob.headers)
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden_role")
    assert (await client.delete(one, headers=alice.headers)).status_code == 204
    again = await client.delete(one, headers=alice.headers)
    assert (again.status_code, again.json()["code"]) == (404, "invitation_not_found")
    assert (await client.get(url, headers=alice.headers)).json() == []
    # The address signs up later: no membership waits for it any more.
    later = await sign_up("later@example.com")
    lists = (await client.get("/api/me/lists", headers=later.headers)).json()
    assert list_id not in [each["id"] for each in lists]
    for bad in ("0", "x", str(2**63)):
        assert (await client.delete(f"{url}/{bad}", headers=alice.headers)).status_code == 422


async def test_editors_see_and_restore_a_shared_lists_deleted_tasks_and_viewers_do_not(
    client: httpx.AsyncClient, alice: Account, bob: Account, sign_up: SignUp
) -> None:
    list_id = await _list(client, alice)
    carol = await sign_up()
    assert (await _share(client, alice, list_id, bob.email, "editor")).status_code == 201
    assert (await _share(client, alice, list_id, carol.email, "viewer")).status_code == 201
    doomed = await _task(client, alice, list_id, "Doomed")
    await client.post("/api/me/tasks", headers=alice.headers, json={"title": "Alice's own"})
    own = (await client.get("/api/me/tasks", headers=alice.headers)).json()
    private = next(t["id"] for t in own if t["title"] == "Alice's own")
    for task_id in (doomed["id"], private):
        assert (await client.delete(f"/api/me/tasks/{task_id}", headers=alice.headers)).is_success

    async def trash(who: Account) -> list[str]:
        found = await client.get("/api/me/trash", headers=who.headers)
        assert found.status_code == 200, found.text
        return sorted(t["title"] for t in found.json())

    assert await trash(alice) == ["Alice's own", "Doomed"]
    assert await trash(bob) == ["Doomed"]  # not Alice's own deletion
    assert await trash(carol) == []
    restore = f"/api/me/tasks/{doomed['id']}/restore"
    refused = await client.post(restore, headers=carol.headers)
    assert (refused.status_code, refused.json()["code"]) == (404, "task_not_found")
    hidden = await client.post(f"/api/me/tasks/{private}/restore", headers=bob.headers)
    assert hidden.status_code == 404
    back = await client.post(restore, headers=bob.headers)
    assert back.status_code == 200, back.text
    assert (back.json()["id"], back.json()["user_id"]) == (doomed["id"], alice.id)
    assert "Doomed" in await _titles(client, alice, list_id=list_id)
    assert await trash(bob) == []
    # Once removed, Bob's trash no longer shows the list's deletions.
    await client.delete(f"/api/me/tasks/{doomed['id']}", headers=alice.headers)
    await client.delete(f"/api/me/lists/{list_id}/members/{bob.id}", headers=alice.headers)
    assert await trash(bob) == []
    assert (await client.post(restore, headers=bob.headers)).status_code == 404
