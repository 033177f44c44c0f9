"""Webhooks in the web app, over HTTP: added with a URL and a choice of events (the signing
secret shown once), refused URLs shown at the field, a delivery log with Retry, turned off
and on, deleted; another user's webhook is a 404 on every page."""

from __future__ import annotations

import html
import re

import httpx
from fastapi import FastAPI

from tests.conftest import WEBHOOK_URL
from tests.security.support import bearer
from tests.web.test_pages import HTML, PASSWORD, page_token, sign_up
from todo.webhooks.schemas import DELIVERIES_PAGE_DEFAULT, URL_MAX, WEBHOOKS_PER_USER_MAX

SECRET = re.compile(r'id="new-webhook-secret"[^>]*value="(whsec_[A-Za-z0-9+/=]{44})"')
PAGE = re.compile(r'href="/account/webhooks/(\d+)"')
RETRY = re.compile(r'action="/account/webhooks/\d+/deliveries/(\d+)/retry"')
NONE_YET = "No webhooks yet."


async def add(
    client: httpx.AsyncClient, url: str = WEBHOOK_URL, mode: str = "all", events: list[str] = ()
) -> httpx.Response:
    token = await page_token(client, "/account/webhooks")
    data: dict[str, str | list[str]] = {"csrf_token": token, "url": url, "mode": mode}
    if events:
        data["events"] = list(events)
    return await client.post("/account/webhooks", data=data)


async def api_headers(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    login = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    return bearer(login.json()["access_token"])


async def post(client: httpx.AsyncClient, url: str, **data: str) -> httpx.Response:
    token = await page_token(client, "/account/webhooks")
    return await client.post(url, data={"csrf_token": token, **data})


async def test_the_account_page_links_to_the_webhooks_page(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    assert 'href="/account/webhooks"' in (await client.get("/account")).text
    page = await client.get("/account/webhooks")
    assert page.status_code == 200
    assert NONE_YET in page.text
    assert f"0 of {WEBHOOKS_PER_USER_MAX}" in page.text


async def test_a_webhook_added_on_the_page_shows_its_secret_once(
    client: httpx.AsyncClient,
) -> None:
    email = await sign_up(client)
    made = await add(client)
    assert made.status_code == 200, made.text
    found = SECRET.search(made.text)
    assert found is not None, made.text
    secret = found.group(1)
    assert "it is not shown again" in made.text
    listed = await client.get("/api/me/webhooks", headers=await api_headers(client, email))
    (hook,) = listed.json()
    assert hook["url"] == WEBHOOK_URL
    assert hook["events"] == ["*"]
    page = (await client.get("/account/webhooks")).text
    assert secret not in page
    assert WEBHOOK_URL in page
    assert "all events" in page
    assert "Latest delivery: none yet" in page
    detail = (await client.get(f"/account/webhooks/{hook['id']}")).text
    assert secret not in detail
    assert "No deliveries yet" in detail


async def test_chosen_events_are_kept_and_a_bad_choice_is_shown_again(
    client: httpx.AsyncClient,
) -> None:
    email = await sign_up(client)
    for mode, events, message in (
        ("chosen", [], "Choose at least one event"),
        ("chosen", ["task.nuked"], "Unknown event"),
        ("some", ["task.created"], "Choose all events, or the events listed."),
        ("", [], "Choose all events"),
    ):
        refused = await add(client, mode=mode, events=events)
        assert refused.status_code == 422, (mode, events, refused.status_code)
        assert message in html.unescape(refused.text), (mode, events)
        assert 'id="events-error"' in refused.text
        assert SECRET.search(refused.text) is None
    made = await add(client, mode="chosen", events=["task.completed", "list.created"])
    assert made.status_code == 200, made.text
    listed = await client.get("/api/me/webhooks", headers=await api_headers(client, email))
    assert [h["events"] for h in listed.json()] == [["list.created", "task.completed"]]
    page = (await client.get("/account/webhooks")).text
    assert '<code class="chip">task.completed</code>' in page


async def test_refused_urls_are_shown_at_the_field_and_nothing_is_added(
    client: httpx.AsyncClient,
) -> None:
    email = await sign_up(client)
    for url, message in (
        ("http://127.0.0.1:8000/hook", "This address is refused"),
        ("http://10.1.2.3/hook", "This address is refused"),
        ("http://[::1]/hook", "This address is refused"),
        ("ftp://example.com/hook", "This address is refused"),
        ("not a url", "This address is refused"),
        ("", "URL must be at least 1 character"),
        ("https://example.com/" + "x" * URL_MAX, f"at most {URL_MAX}"),
    ):
        refused = await add(client, url=url)
        assert refused.status_code == 422, (url, refused.status_code)
        text = html.unescape(refused.text)
        assert message in text, (url, text[-3000:])
        assert 'id="url-error"' in refused.text, url
        assert SECRET.search(refused.text) is None
    assert (await add(client, url="http://bad\x00host/")).status_code == 422
    listed = await client.get("/api/me/webhooks", headers=await api_headers(client, email))
    assert listed.json() == []


async def test_the_delivery_log_shows_a_failed_ping_and_retries_it(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client)
    made = await add(client)
    (hook_id,) = set(PAGE.findall(made.text))
    # hooks.invalid never resolves: the ping fails at once.
    tested = await post(client, f"/account/webhooks/{hook_id}/test")
    assert tested.status_code == 303
    assert tested.headers["location"] == f"/account/webhooks/{hook_id}"
    page = (await client.get(f"/account/webhooks/{hook_id}")).text
    assert "The test ping failed" in page
    row = page.split('class="token delivery"', 1)[1].split("</li>", 1)[0]
    assert "<code>ping</code>" in row
    assert "Failed" in row
    assert "1 attempt " in row
    (delivery_id,) = RETRY.findall(page)
    listed = (await client.get("/account/webhooks")).text
    assert "Latest delivery:" in listed
    assert "Failed" in listed
    retried = await post(client, f"/account/webhooks/{hook_id}/deliveries/{delivery_id}/retry")
    assert retried.status_code == 303
    page = (await client.get(f"/account/webhooks/{hook_id}")).text
    assert "sent again within seconds" in page
    assert "Pending" in page
    assert RETRY.findall(page) == []
    again = await post(client, f"/account/webhooks/{hook_id}/deliveries/{delivery_id}/retry")
    assert again.status_code == 303
    assert "already waiting" in (await client.get(f"/account/webhooks/{hook_id}")).text


async def test_turning_a_webhook_off_and_on(client: httpx.AsyncClient) -> None:
    email = await sign_up(client)
    made = await add(client)
    (hook_id,) = set(PAGE.findall(made.text))
    url = f"/account/webhooks/{hook_id}"
    await post(client, f"{url}/test")
    off = await post(client, f"{url}/enabled", enabled="false")
    assert off.status_code == 303
    page = (await client.get(url)).text
    assert "The webhook is off" in page
    assert "Turned off by its owner." in page
    assert ">Turn on</button>" in page
    assert RETRY.findall(page) == []
    (delivery,) = (
        await client.get(
            f"/api/me/webhooks/{hook_id}/deliveries", headers=await api_headers(client, email)
        )
    ).json()
    refused = await post(client, f"{url}/deliveries/{delivery['id']}/retry")
    assert refused.status_code == 303
    assert "This webhook is off: turn it on first." in (await client.get(url)).text
    hostile = await post(client, f"{url}/enabled", enabled="maybe")
    assert hostile.status_code == 422
    on = await post(client, f"{url}/enabled", enabled="true")
    assert on.status_code == 303
    page = (await client.get(url)).text
    assert "The webhook is on" in page
    assert ">Turn off</button>" in page
    hook = await client.get(f"/api/me/webhooks/{hook_id}", headers=await api_headers(client, email))
    assert hook.json()["enabled"] is True


async def test_deleting_a_webhook_on_the_page(client: httpx.AsyncClient) -> None:
    email = await sign_up(client)
    made = await add(client)
    (hook_id,) = set(PAGE.findall(made.text))
    deleted = await post(client, f"/account/webhooks/{hook_id}/delete")
    assert deleted.status_code == 303
    assert deleted.headers["location"] == "/account/webhooks"
    page = (await client.get("/account/webhooks")).text
    assert "The webhook and its delivery log were deleted." in page
    assert NONE_YET in page
    gone = await client.get(f"/api/me/webhooks/{hook_id}", headers=await api_headers(client, email))
    assert gone.status_code == 404
    assert (await client.get(f"/account/webhooks/{hook_id}", headers=HTML)).status_code == 404


async def test_the_cap_is_shown_on_the_form(client: httpx.AsyncClient) -> None:
    email = await sign_up(client)
    headers = await api_headers(client, email)
    for _ in range(WEBHOOKS_PER_USER_MAX):
        body = {"url": WEBHOOK_URL, "events": ["*"]}
        assert (
            await client.post("/api/me/webhooks", headers=headers, json=body)
        ).status_code == 201
    refused = await add(client)
    assert refused.status_code == 422
    assert f"at most {WEBHOOKS_PER_USER_MAX} webhooks" in refused.text
    assert SECRET.search(refused.text) is None


async def test_the_forms_need_their_csrf_token(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    made = await add(client)
    (hook_id,) = set(PAGE.findall(made.text))
    for url, data in (
        ("/account/webhooks", {"url": WEBHOOK_URL, "mode": "all"}),
        (f"/account/webhooks/{hook_id}/enabled", {"enabled": "false"}),
        (f"/account/webhooks/{hook_id}/delete", {}),
    ):
        assert (await client.post(url, data=data)).status_code == 403, url
    page = (await client.get("/account/webhooks")).text
    assert "1 of " in page
    assert ">On</span>" in page


async def test_another_users_webhook_is_404_on_every_page(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await sign_up(client)
    made = await add(client)
    (hook_id,) = set(PAGE.findall(made.text))
    await post(client, f"/account/webhooks/{hook_id}/test")
    (delivery_id,) = RETRY.findall((await client.get(f"/account/webhooks/{hook_id}")).text)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as other:
        await sign_up(other)
        assert WEBHOOK_URL not in (await other.get("/account/webhooks")).text
        for target in (hook_id, str(2**63), "0"):
            base = f"/account/webhooks/{target}"
            page = await other.get(base, headers=HTML)
            assert page.status_code == 404, (target, page.status_code)
            assert WEBHOOK_URL not in page.text
            for url, data in (
                (f"{base}/enabled", {"enabled": "false"}),
                (f"{base}/test", {}),
                (f"{base}/rotate-secret", {}),
                (f"{base}/deliveries/{delivery_id}/retry", {}),
                (f"{base}/delete", {}),
            ):
                token = await page_token(other, "/account/webhooks")
                answer = await other.post(url, data={"csrf_token": token, **data}, headers=HTML)
                assert answer.status_code == 404, (url, answer.status_code)
                assert WEBHOOK_URL not in answer.text
    page = (await client.get(f"/account/webhooks/{hook_id}")).text
    assert ">On</span>" in page
    assert RETRY.findall(page) == [delivery_id]


async def test_the_delivery_log_pages_to_older_deliveries(client: httpx.AsyncClient) -> None:
    email = await sign_up(client)
    headers = await api_headers(client, email)
    made = await add(client)
    (hook_id,) = set(PAGE.findall(made.text))
    pings = [
        (await client.post(f"/api/me/webhooks/{hook_id}/test", headers=headers)).json()["id"]
        for _ in range(DELIVERIES_PAGE_DEFAULT + 2)
    ]
    page = (await client.get(f"/account/webhooks/{hook_id}")).text
    shown = [int(found) for found in re.findall(r'id="delivery-(\d+)"', page)]
    assert shown == sorted(pings, reverse=True)[:DELIVERIES_PAGE_DEFAULT]
    older = re.search(r'href="(/account/webhooks/\d+\?before=\d+)#deliveries">Older', page)
    assert older is not None
    rest = (await client.get(html.unescape(older.group(1)))).text
    assert [int(found) for found in re.findall(r'id="delivery-(\d+)"', rest)] == sorted(pings)[:2][
        ::-1
    ]
    assert "Newest deliveries" in rest
    assert "Older deliveries" not in rest
    # An older page does not refresh itself: what it shows would move under the reader.
    assert 'hx-trigger="every 5s"' not in rest
    assert 'hx-trigger="every 5s"' in page
    for before in ("abc", "0", "-1", str(2**63)):
        refused = await client.get(f"/account/webhooks/{hook_id}?before={before}", headers=HTML)
        assert refused.status_code == 422, (before, refused.status_code)


async def test_a_new_signing_secret_is_shown_once_and_replaces_the_old(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client)
    made = await add(client)
    first = SECRET.search(made.text)
    assert first is not None
    (hook_id,) = set(PAGE.findall(made.text))
    rotated = await post(client, f"/account/webhooks/{hook_id}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    second = SECRET.search(rotated.text)
    assert second is not None
    assert second.group(1) != first.group(1)
    assert "it is not shown again" in rotated.text
    page = (await client.get(f"/account/webhooks/{hook_id}")).text
    assert second.group(1) not in page
    assert SECRET.search(page) is None
