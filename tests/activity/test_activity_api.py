"""GET /api/{user_id}/lists/{id}/activity and /tasks/{id}/activity: newest first, keyset
paged, only the caller's own."""

from __future__ import annotations

import httpx

from tests.conftest import Account


async def _task_with_history(client: httpx.AsyncClient, who: Account, edits: int) -> dict:
    task = (await client.post("/api/me/tasks", headers=who.headers, json={"title": "t0"})).json()
    for i in range(1, edits + 1):
        answer = await client.put(
            f"/api/me/tasks/{task['id']}", headers=who.headers, json={"title": f"t{i}"}
        )
        assert answer.status_code == 200
    return dict(task)


async def test_a_tasks_history_comes_newest_first_in_pages(
    client: httpx.AsyncClient, alice: Account
) -> None:
    task = await _task_with_history(client, alice, 4)
    url = f"/api/me/tasks/{task['id']}/activity?limit=2"
    seen: list[dict] = []
    while url:
        page = await client.get(url, headers=alice.headers)
        assert page.status_code == 200, page.text
        seen.extend(page.json())
        link = page.headers.get("link")
        url = link.split(">")[0].lstrip("<") if link else ""
    assert [(e["action"], e["changes"]) for e in seen] == [
        ("updated", {"title": ["t3", "t4"]}),
        ("updated", {"title": ["t2", "t3"]}),
        ("updated", {"title": ["t1", "t2"]}),
        ("updated", {"title": ["t0", "t1"]}),
        ("created", None),
    ]
    assert [e["id"] for e in seen] == sorted((e["id"] for e in seen), reverse=True)
    first = seen[0]
    assert first["actor"] == {"id": alice.id, "name": "Test"}
    assert first["resource"] == "task"
    assert first["resource_id"] == task["id"]
    assert first["created_at"].endswith("Z")


async def test_a_lists_activity_holds_its_tasks_and_itself(
    client: httpx.AsyncClient, alice: Account
) -> None:
    h = alice.headers
    work = (await client.post("/api/me/lists", headers=h, json={"name": "Work"})).json()
    await client.post("/api/me/tasks", headers=h, json={"title": "inbox task"})
    inside = (
        await client.post("/api/me/tasks", headers=h, json={"title": "w", "list_id": work["id"]})
    ).json()
    await client.patch(f"/api/me/lists/{work['id']}", headers=h, json={"name": "Job"})
    found = await client.get(f"/api/me/lists/{work['id']}/activity", headers=h)
    assert found.status_code == 200
    assert [(e["resource"], e["resource_id"], e["action"]) for e in found.json()] == [
        ("list", work["id"], "updated"),
        ("task", inside["id"], "created"),
        ("list", work["id"], "created"),
    ]
    assert "link" not in found.headers
    before = found.json()[0]["id"]
    older = await client.get(f"/api/me/lists/{work['id']}/activity?before={before}", headers=h)
    assert [e["id"] for e in older.json()] == [e["id"] for e in found.json()[1:]]


async def test_someone_elses_list_or_task_is_not_found(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    task = await _task_with_history(client, alice, 1)
    lists = (await client.get("/api/me/lists", headers=alice.headers)).json()
    for url in (f"/api/me/tasks/{task['id']}/activity", f"/api/me/lists/{lists[0]['id']}/activity"):
        answer = await client.get(url, headers=bob.headers)
        assert answer.status_code == 404, answer.text
        assert answer.json()["code"] in ("task_not_found", "list_not_found")
        assert (await client.get(url)).status_code == 401
        other = url.replace("/api/me/", f"/api/{bob.id}/")
        assert (await client.get(other, headers=alice.headers)).status_code == 403


async def test_bad_paging_parameters_are_422(client: httpx.AsyncClient, alice: Account) -> None:
    task = await _task_with_history(client, alice, 0)
    url = f"/api/me/tasks/{task['id']}/activity"
    for query in ("before=abc", "before=0", "before=-1", "limit=0", "limit=201", "before=²"):
        answer = await client.get(f"{url}?{query}", headers=alice.headers)
        assert answer.status_code == 422, (query, answer.text)
