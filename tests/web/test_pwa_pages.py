"""The installable app over HTTP: the web app manifest and its icons, the offline page,
Idempotency-Key on the web add form (what a task queued offline is sent with), and the
account page's time-zone picker."""

from __future__ import annotations

import json
import re
import struct
import uuid

import httpx

from tests.web.test_pages import HTML, PASSWORD, page_token, sign_up

HTMX = {"HX-Request": "true"}


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def _api_titles(client: httpx.AsyncClient, email: str) -> list[str]:
    login = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    answer = await client.get("/api/me/tasks?status=all", headers=headers)
    assert answer.status_code == 200, answer.text
    return [task["title"] for task in answer.json()]


async def test_the_manifest_makes_the_app_installable(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page.text
    answer = await client.get("/manifest.webmanifest")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/manifest+json"
    manifest = json.loads(answer.text)
    assert manifest["name"] == "Todo"
    assert manifest["short_name"] == "Todo"
    assert manifest["start_url"] == "/"
    assert manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    for colour in (manifest["theme_color"], manifest["background_color"]):
        assert re.fullmatch(r"#[0-9a-f]{6}", colour)
    dark = manifest["user_preferences"]["color_scheme_dark"]
    assert dark["theme_color"] != manifest["theme_color"]
    seen = set()
    for icon in manifest["icons"]:
        image = await client.get(icon["src"])
        assert image.status_code == 200, icon["src"]
        assert image.headers["content-type"] == "image/png"
        assert "immutable" in image.headers["cache-control"]
        width, height = png_size(image.content)
        assert icon["sizes"] == f"{width}x{height}"
        seen.add((icon["purpose"], width))
    assert {("any", 192), ("any", 512), ("maskable", 192), ("maskable", 512)} <= seen


async def test_the_offline_page_names_no_one(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    answer = await client.get("/offline", headers=HTML)
    assert answer.status_code == 200
    assert "This page is not available offline" in answer.text
    # The service worker keeps one copy for every account of the browser.
    assert "todo-user" not in answer.text
    assert "csrf_token" not in answer.text
    assert "Log out" not in answer.text


async def test_a_repeated_idempotency_key_adds_one_task(client: httpx.AsyncClient) -> None:
    email = await sign_up(client)
    token = await page_token(client)
    key = f"web-{uuid.uuid4()}"
    form = {"csrf_token": token, "title": "Sent twice from offline", "next": "/"}
    for headers in ({**HTMX, "Idempotency-Key": key}, {**HTMX, "Idempotency-Key": key}):
        answer = await client.post("/tasks", data=form, headers=headers)
        assert answer.status_code == 200, answer.text
        assert "Sent twice from offline" in answer.text
    # Without htmx too (a plain form post), the same key is still the same task.
    plain = await client.post("/tasks", data=form, headers={"Idempotency-Key": key})
    assert plain.status_code == 303
    assert (await _api_titles(client, email)).count("Sent twice from offline") == 1
    # Another key is another task; no key at all is a task every time, as before.
    await client.post(
        "/tasks", data=form, headers={**HTMX, "Idempotency-Key": f"web-{uuid.uuid4()}"}
    )
    await client.post("/tasks", data=form, headers=HTMX)
    assert (await _api_titles(client, email)).count("Sent twice from offline") == 3


async def test_a_key_reused_for_another_task_is_refused_in_words(
    client: httpx.AsyncClient,
) -> None:
    email = await sign_up(client)
    token = await page_token(client)
    key = f"web-{uuid.uuid4()}"
    first = {"csrf_token": token, "title": "First", "next": "/"}
    assert (
        await client.post("/tasks", data=first, headers={**HTMX, "Idempotency-Key": key})
    ).is_success
    other = {**first, "title": "Second"}
    answer = await client.post("/tasks", data=other, headers={**HTMX, "Idempotency-Key": key})
    assert answer.status_code == 422
    assert "Idempotency-Key" in answer.text
    assert await _api_titles(client, email) == ["First"]


async def test_a_malformed_idempotency_key_is_a_422(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    token = await page_token(client)
    form = {"csrf_token": token, "title": "Never made"}
    for bad in ("has space", "x" * 256, "tab\tinside"):
        answer = await client.post("/tasks", data=form, headers={"Idempotency-Key": bad})
        assert answer.status_code == 422, bad


async def test_the_time_zone_is_chosen_from_every_zone(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    page = (await client.get("/account")).text
    picker = page[
        page.index('<select id="timezone"') : page.index(
            "</select>", page.index('<select id="timezone"')
        )
    ]
    zones = re.findall(r"<option(?: selected)?>([^<]+)</option>", picker)
    assert "Europe/Berlin" in zones
    assert "America/New_York" in zones
    assert "UTC" in zones
    assert len(zones) == len(set(zones)) > 400
    assert re.findall(r"<option selected>([^<]+)</option>", picker) == ["UTC"]
    assert '<optgroup label="Europe">' in picker
    token = await page_token(client, "/account")
    saved = await client.post(
        "/account/timezone", data={"csrf_token": token, "timezone": "Asia/Tokyo"}
    )
    assert saved.status_code == 303
    page = (await client.get("/account")).text
    assert re.findall(r"<option selected>([^<]+)</option>", page) == ["Asia/Tokyo"]
    refused = await client.post(
        "/account/timezone", data={"csrf_token": token, "timezone": "Mars/Base"}
    )
    assert refused.status_code == 422
    assert 'id="timezone-error"' in refused.text
    assert re.findall(r"<option selected>([^<]+)</option>", refused.text).count("Mars/Base") == 1
