"""The webhooks API: create (secret once), list, read, change, delete, rotate, the log;
validation and SSRF refusals (both databases, nothing sent: the target is never called)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.conftest import Account, SignUp
from todo.webhooks.schemas import WEBHOOKS_PER_USER_MAX

# A public address: accepted without a DNS lookup, and never called by these tests.
PUBLIC = "https://93.184.216.34/hooks/todo"


async def _create(client: httpx.AsyncClient, who: Account, **body: Any) -> httpx.Response:
    payload = {"url": PUBLIC, "events": ["task.*"], **body}
    return await client.post("/api/me/webhooks", headers=who.headers, json=payload)


async def test_create_shows_the_secret_once_and_the_list_never(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    alice = await sign_up()
    created = await _create(client, alice, events=["task.created", "list.*", "task.created"])
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert len(body["secret"]) > 40
    assert body["events"] == ["list.*", "task.created"]
    assert body["enabled"] is True
    assert body["disabled_reason"] is None
    listed = await client.get("/api/me/webhooks", headers=alice.headers)
    assert listed.status_code == 200
    assert [each["id"] for each in listed.json()] == [body["id"]]
    assert "secret" not in listed.json()[0]
    one = await client.get(f"/api/me/webhooks/{body['id']}", headers=alice.headers)
    assert one.status_code == 200
    assert "secret" not in one.json()


async def test_change_rotate_and_delete(client: httpx.AsyncClient, sign_up: SignUp) -> None:
    alice = await sign_up()
    made = (await _create(client, alice)).json()
    path = f"/api/me/webhooks/{made['id']}"
    off = await client.patch(path, headers=alice.headers, json={"enabled": False})
    assert off.status_code == 200
    assert off.json()["enabled"] is False
    assert off.json()["disabled_reason"]
    on = await client.patch(
        path, headers=alice.headers, json={"enabled": True, "events": ["*"], "url": PUBLIC + "2"}
    )
    assert on.status_code == 200, on.text
    assert on.json()["enabled"] is True
    assert on.json()["disabled_reason"] is None
    assert on.json()["events"] == ["*"]
    assert on.json()["url"] == PUBLIC + "2"
    rotated = await client.post(f"{path}/rotate-secret", headers=alice.headers)
    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_")
    assert rotated.json()["secret"] != made["secret"]
    log = await client.get(f"{path}/deliveries", headers=alice.headers)
    assert log.status_code == 200
    assert log.json() == []
    gone = await client.delete(path, headers=alice.headers)
    assert gone.status_code == 204
    assert (await client.get(path, headers=alice.headers)).status_code == 404
    assert (await client.delete(path, headers=alice.headers)).status_code == 404


async def test_someone_elses_webhook_is_not_found(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    alice, bob = await sign_up(), await sign_up()
    made = (await _create(client, alice)).json()
    path = f"/api/me/webhooks/{made['id']}"
    for method, suffix, body in [
        ("GET", "", None),
        ("PATCH", "", {"enabled": False}),
        ("DELETE", "", None),
        ("POST", "/rotate-secret", None),
        ("GET", "/deliveries", None),
        ("POST", "/test", None),
        ("POST", "/deliveries/1/retry", None),
    ]:
        answer = await client.request(method, path + suffix, headers=bob.headers, json=body)
        assert answer.status_code == 404, (method, suffix, answer.text)
    assert (await client.get(path, headers=alice.headers)).json()["enabled"] is True
    other_user = await client.get(f"/api/{alice.id}/webhooks", headers=bob.headers)
    assert other_user.status_code == 403
    assert (await client.get("/api/me/webhooks")).status_code == 401


@pytest.mark.parametrize(
    ("events", "reason"),
    [
        (["task.exploded"], "Unknown event"),
        (["task"], "Unknown event"),
        ([], "at least 1"),
        ("task.created", "valid list"),
        ([7], "valid string"),
    ],
)
async def test_bad_event_names_are_named(
    client: httpx.AsyncClient, sign_up: SignUp, events: Any, reason: str
) -> None:
    alice = await sign_up()
    answer = await _create(client, alice, events=events)
    assert answer.status_code == 422, answer.text
    errors = answer.json()["errors"]
    assert errors[0]["field"].startswith("events")
    assert reason in errors[0]["reason"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.5.4/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fe80::1]/hook",
        "http://[fd00::1]/hook",
        "http://0.0.0.0/hook",
        "http://2130706433/hook",
        "http://0x7f000001/hook",
        "http://0177.0.0.1/hook",
        "http://127.1/hook",
        "http://224.0.0.1/hook",
        "http://240.0.0.1/hook",
        "http://100.64.0.1/hook",
    ],
)
async def test_private_targets_are_refused(
    client: httpx.AsyncClient, sign_up: SignUp, url: str
) -> None:
    alice = await sign_up()
    answer = await _create(client, alice, url=url)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "webhook_url_refused"
    assert answer.json()["errors"][0]["field"] == "url"
    made = (await _create(client, alice)).json()
    changed = await client.patch(
        f"/api/me/webhooks/{made['id']}", headers=alice.headers, json={"url": url}
    )
    assert changed.status_code == 422
    assert changed.json()["code"] == "webhook_url_refused"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://93.184.216.34/x", "http or https"),
        ("file:///etc/passwd", "http or https"),
        ("gopher://93.184.216.34/", "http or https"),
        ("https://user:pass@93.184.216.34/x", "user name or password"),
        ("https://user@93.184.216.34/x", "user name or password"),
        ("https:///nohost", "has no host"),
        ("https://93.184.216.34:99999/x", "not a valid URL"),
        ("not a url", "http or https"),
        ("https://name.invalid/x", "does not resolve"),
    ],
)
async def test_bad_urls_say_why(
    client: httpx.AsyncClient, sign_up: SignUp, url: str, reason: str
) -> None:
    alice = await sign_up()
    answer = await _create(client, alice, url=url)
    assert answer.status_code == 422, answer.text
    assert reason in answer.json()["errors"][0]["reason"]


async def test_unknown_fields_and_too_long_urls_are_refused(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    alice = await sign_up()
    unknown = await _create(client, alice, secret="whsec_mine")
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "secret"
    long = await _create(client, alice, url=PUBLIC + "x" * 2000)
    assert long.status_code == 422
    assert long.json()["errors"][0]["field"] == "url"


async def test_at_most_twenty_webhooks_even_in_parallel(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    alice = await sign_up()
    answers = await asyncio.gather(*(_create(client, alice) for _ in range(25)))
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [201] * WEBHOOKS_PER_USER_MAX + [409] * 5
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"too_many_webhooks"}
    listed = await client.get("/api/me/webhooks", headers=alice.headers)
    assert len(listed.json()) == WEBHOOKS_PER_USER_MAX


async def test_tokens_need_the_webhooks_scopes(client: httpx.AsyncClient, sign_up: SignUp) -> None:
    alice = await sign_up()

    async def token(*scopes: str) -> dict[str, str]:
        made = await client.post(
            "/api/auth/tokens", headers=alice.headers, json={"name": "t", "scopes": list(scopes)}
        )
        assert made.status_code == 201, made.text
        return {"Authorization": f"Bearer {made.json()['token']}"}

    reader, writer, other = (
        await token("webhooks:read"),
        await token("webhooks:write"),
        await token("tasks:read", "tasks:write"),
    )
    body = {"url": PUBLIC, "events": ["*"]}
    assert (await client.post("/api/me/webhooks", headers=reader, json=body)).status_code == 403
    assert (await client.post("/api/me/webhooks", headers=other, json=body)).status_code == 403
    assert (await client.post("/api/me/webhooks", headers=writer, json=body)).status_code == 201
    assert (await client.get("/api/me/webhooks", headers=reader)).status_code == 200
    assert (await client.get("/api/me/webhooks", headers=other)).status_code == 403
