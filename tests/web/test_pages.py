"""The web pages over HTTP, without a browser: sessions, CSRF, redirects, headers, errors."""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI, routing
from sqlmodel import select

from todo.accounts.models import WebSession
from todo.app import create_app
from todo.core.config import Settings
from todo.web.listing import PAGE_SIZE
from todo.web.render import CONTENT_SECURITY_POLICY

PASSWORD = "correct horse battery"
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None, "the page has no CSRF field"
    return found.group(1)


async def sign_up(client: httpx.AsyncClient, email: str | None = None) -> str:
    email = email or f"web-{uuid.uuid4().hex[:10]}@example.com"
    token = csrf_of((await client.get("/signup")).text)
    response = await client.post(
        "/signup",
        data={"csrf_token": token, "email": email, "password": PASSWORD, "name": "Web"},
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/"
    return email


async def page_token(client: httpx.AsyncClient, path: str = "/") -> str:
    return csrf_of((await client.get(path)).text)


async def add_task(client: httpx.AsyncClient, title: str) -> int:
    token = await page_token(client)
    response = await client.post("/tasks", data={"csrf_token": token, "title": title})
    assert response.status_code == 303, response.text
    listed = (await client.get("/")).text
    found = re.findall(r'id="title-(\d+)"[^>]*>([^<]*)<', listed)
    return next(int(task_id) for task_id, text in found if text == title)


async def test_signup_sets_a_session_cookie_that_scripts_cannot_read(
    client: httpx.AsyncClient,
) -> None:
    token = csrf_of((await client.get("/signup")).text)
    response = await client.post(
        "/signup",
        data={"csrf_token": token, "email": "flags@example.com", "password": PASSWORD},
    )
    cookie = next(
        value for value in response.headers.get_list("set-cookie") if "todo_session=" in value
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/" in cookie
    assert "Secure" not in cookie
    assert "Max-Age=7776000" in cookie


@pytest.mark.usefixtures("client")  # empties the tables afterwards
async def test_over_https_the_cookie_is_secure_and_host_only(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://test") as secure:
        token = csrf_of((await secure.get("/signup")).text)
        response = await secure.post(
            "/signup",
            data={"csrf_token": token, "email": "secure@example.com", "password": PASSWORD},
        )
        cookie = next(
            value for value in response.headers.get_list("set-cookie") if "session=" in value
        )
        assert cookie.startswith("__Host-todo_session=")
        assert "Secure" in cookie
        assert "HttpOnly" in cookie
        assert (await secure.get("/")).status_code == 200
        assert response.headers["strict-transport-security"]


async def test_the_session_is_stored_hashed(client: httpx.AsyncClient, app: FastAPI) -> None:
    await sign_up(client)
    token = client.cookies["todo_session"]
    async with app.state.db.session(write=False) as session:
        stored = [row.id for row in (await session.exec(select(WebSession))).all()]
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", "/login"),
        ("/account", "/login?next=%2Faccount"),
        ("/tasks/1", "/login?next=%2Ftasks%2F1"),
        ("/?filter=active", "/login?next=%2F%3Ffilter%3Dactive"),
    ],
)
async def test_private_pages_send_visitors_to_log_in(
    client: httpx.AsyncClient, path: str, expected: str
) -> None:
    response = await client.get(path, headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"] == expected


async def test_htmx_requests_are_told_to_go_to_log_in(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/",
        headers={"HX-Request": "true", "HX-Current-URL": "http://test/?filter=completed"},
    )
    assert response.status_code == 401
    assert response.headers["hx-redirect"] == "/login?next=%2F%3Ffilter%3Dcompleted"


@pytest.mark.parametrize(
    ("next_", "lands_on"),
    [
        ("/account", "/account"),
        ("/?filter=active&sort=title", "/?filter=active&sort=title"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/\r\nSet-Cookie: x=1", "/"),
    ],
)
async def test_log_in_returns_only_to_pages_of_this_site(
    client: httpx.AsyncClient, next_: str, lands_on: str
) -> None:
    email = await sign_up(client)
    token = await page_token(client)
    await client.post("/logout", data={"csrf_token": token})
    token = csrf_of((await client.get("/login", params={"next": next_})).text)
    response = await client.post(
        "/login",
        data={"csrf_token": token, "email": email, "password": PASSWORD, "next": next_},
    )
    assert response.status_code == 303
    assert response.headers["location"] == lands_on


async def test_a_wrong_password_is_refused_in_words_keeping_the_email(
    client: httpx.AsyncClient,
) -> None:
    email = await sign_up(client)
    token = await page_token(client)
    await client.post("/logout", data={"csrf_token": token})
    token = csrf_of((await client.get("/login")).text)
    response = await client.post(
        "/login", data={"csrf_token": token, "email": email, "password": "wrong password"}
    )
    assert response.status_code == 401
    assert "The email address or the password is wrong." in response.text
    assert f'value="{email}"' in response.text
    assert "wrong password" not in response.text


async def test_logging_out_ends_the_session_on_the_server(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    stolen = client.cookies["todo_session"]
    token = await page_token(client)
    response = await client.post("/logout", data={"csrf_token": token})
    assert response.headers["location"] == "/login?notice=signed_out"
    client.cookies.set("todo_session", stolen)
    assert (await client.get("/")).status_code == 303


async def test_api_logout_everywhere_ends_web_sessions(client: httpx.AsyncClient) -> None:
    email = await sign_up(client)
    assert (await client.get("/")).status_code == 200
    login = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert (await client.post("/api/auth/logout-all", headers=bearer)).status_code == 204
    assert (await client.get("/")).status_code == 303


class TestCsrf:
    async def test_a_post_without_the_token_is_refused(self, client: httpx.AsyncClient) -> None:
        await sign_up(client)
        response = await client.post("/tasks", data={"title": "x"}, headers=HTML)
        assert response.status_code == 403
        assert "text/html" in response.headers["content-type"]
        assert "This form has expired" in response.text

    async def test_a_post_with_another_sessions_token_is_refused(
        self, client: httpx.AsyncClient
    ) -> None:
        await sign_up(client)
        old = await page_token(client)
        await client.post("/logout", data={"csrf_token": old})
        await sign_up(client)
        response = await client.post("/tasks", data={"csrf_token": old, "title": "x"})
        assert response.status_code == 403
        assert response.json()["code"] == "csrf_failed"

    @pytest.mark.parametrize(
        "headers",
        [
            {"Origin": "https://evil.example"},
            {"Origin": "null"},
            {"Sec-Fetch-Site": "cross-site"},
            {"Sec-Fetch-Site": "same-site"},
        ],
    )
    async def test_a_cross_site_post_is_refused_even_with_the_token(
        self, client: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        await sign_up(client)
        token = await page_token(client)
        response = await client.post(
            "/tasks", data={"csrf_token": token, "title": "x"}, headers=headers
        )
        assert response.status_code == 403
        assert response.json()["code"] == "cross_site_request"

    async def test_same_origin_posts_with_the_token_pass(self, client: httpx.AsyncClient) -> None:
        await sign_up(client)
        token = await page_token(client)
        by_form = await client.post(
            "/tasks",
            data={"csrf_token": token, "title": "by form"},
            headers={"Origin": "http://test", "Sec-Fetch-Site": "same-origin"},
        )
        assert by_form.status_code == 303
        by_header = await client.post(
            "/tasks",
            data={"title": "by htmx"},
            headers={"X-CSRF-Token": token, "HX-Request": "true"},
        )
        assert by_header.status_code == 200
        assert "by htmx" in by_header.text

    async def test_logging_in_needs_the_visitor_token(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/login", data={"email": "x@example.com", "password": PASSWORD}
        )
        assert response.status_code == 403
        assert "todo_session" not in client.cookies


async def test_pages_carry_the_strict_content_security_policy(client: httpx.AsyncClient) -> None:
    login = await client.get("/login")
    assert login.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "<script>" not in login.text
    assert " style=" not in login.text
    await sign_up(client)
    await add_task(client, "look at me")
    listed = await client.get("/")
    assert listed.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert listed.headers["cache-control"] == "no-store"
    assert not re.search(r"<script(?![^>]*\bsrc=)", listed.text)
    assert " style=" not in listed.text
    assert " hx-on" not in listed.text


async def test_the_api_docs_get_their_own_policy_allowing_only_their_script(
    client: httpx.AsyncClient,
) -> None:
    docs = await client.get("/docs")
    policy = docs.headers["content-security-policy"]
    assert policy != CONTENT_SECURITY_POLICY
    inline = re.findall(r"<script>(.*?)</script>", docs.text, re.DOTALL)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]


async def test_titles_are_escaped(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    token = await page_token(client)
    await client.post("/tasks", data={"csrf_token": token, "title": evil})
    listed = (await client.get("/")).text
    assert evil not in listed
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x" in listed


async def test_unknown_pages_get_a_friendly_page_and_the_api_keeps_problems(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/no/such/page", headers=HTML)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Nothing here" in page.text
    assert 'href="/"' in page.text
    api = await client.get("/api/no/such/thing", headers=HTML)
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"
    script = await client.get("/no/such/page", headers={"Accept": "*/*"})
    assert script.headers["content-type"] == "application/problem+json"


# Every page route that takes a task id, with a form that would succeed for the owner.
WEB_ID_ROUTES: dict[tuple[str, str], dict[str, str]] = {
    ("GET", "/tasks/{task_id:int}"): {},
    ("GET", "/tasks/{task_id:int}/edit"): {},
    ("GET", "/tasks/{task_id:int}/row"): {},
    ("POST", "/tasks/{task_id:int}"): {"title": "taken over", "description": "mine"},
    ("POST", "/tasks/{task_id:int}/complete"): {"completed": "true"},
    ("POST", "/tasks/{task_id:int}/delete"): {},
    ("POST", "/tasks/{task_id:int}/move"): {"after": ""},
    ("POST", "/tasks/{task_id:int}/reminder/dismiss"): {},
    ("POST", "/tasks/{task_id:int}/parent"): {"parent": ""},
    ("POST", "/tasks/{task_id:int}/subtasks"): {"title": "a subtask"},
    ("POST", "/tasks/{task_id:int}/reschedule"): {"date": "2031-01-02"},
}
# Routes over a list id: test_organize_pages checks them for other users and for CSRF.
WEB_LIST_ROUTES = {("POST", "/lists/{list_id}"), ("POST", "/lists/{list_id}/delete")}
# Routes over a tag id: test_tag_pages checks them for other users and for CSRF.
WEB_TAG_ROUTES = {("POST", "/tags/{tag_id}"), ("POST", "/tags/{tag_id}/delete")}
# Routes over a token id: test_token_pages checks them for other users and for CSRF, as
# test_app_password_pages does for app passwords.
WEB_TOKEN_ROUTES = {
    ("POST", "/account/tokens/{token_id:int}/delete"),
    ("POST", "/account/app-passwords/{password_id:int}/delete"),
}
# The account's webhooks: tests/web/test_webhook_pages.py checks them for other users and
# for CSRF.
WEB_WEBHOOK_ROUTES = {
    ("GET", "/account/webhooks/{webhook_id:int}"),
    ("POST", "/account/webhooks/{webhook_id:int}/enabled"),
    ("POST", "/account/webhooks/{webhook_id:int}/test"),
    ("POST", "/account/webhooks/{webhook_id:int}/rotate-secret"),
    ("POST", "/account/webhooks/{webhook_id:int}/delete"),
    ("POST", "/account/webhooks/{webhook_id:int}/deliveries/{delivery_id:int}/retry"),
}
# Routes over a task in the trash (a live task is not found there): test_trash_pages checks
# them for other users.
WEB_TRASH_ROUTES = {
    ("POST", "/tasks/{task_id:int}/restore"),
    ("POST", "/trash/{task_id:int}/delete"),
}
# Comments on the task page: tests/web/test_comment_pages.py checks them for other users,
# for a viewer and for another member's comment.
WEB_COMMENT_ROUTES = {
    ("POST", "/tasks/{task_id:int}/comments"),
    ("POST", "/tasks/{task_id:int}/comments/{comment_id}/delete"),
    ("GET", "/tasks/{task_id:int}/comments/{comment_id}"),
    ("GET", "/tasks/{task_id:int}/comments/{comment_id}/edit"),
    ("POST", "/tasks/{task_id:int}/comments/{comment_id}"),
}
# A list's .ics download and upload: tests/sharing/test_web_roles.py checks them for every
# role; the account's feeds: tests/web/test_ics_pages.py checks them for other users.
WEB_ICS_ROUTES = {
    ("GET", "/lists/{list_id:int}/tasks.ics"),
    ("GET", "/lists/{list_id:int}/import"),
    ("POST", "/lists/{list_id:int}/import"),
    ("POST", "/account/feeds/{feed_id:int}/delete"),
}
# Sharing's pages: tests/sharing/test_web_roles.py checks them for every role.
WEB_SHARING_ROUTES = {
    ("POST", "/lists/{list_id}/members"),
    ("POST", "/lists/{list_id}/members/{member_user_id}"),
    ("POST", "/lists/{list_id}/members/{member_user_id}/remove"),
    ("POST", "/lists/{list_id}/links"),
    ("POST", "/lists/{list_id}/links/{link_id}/revoke"),
    ("POST", "/lists/{list_id}/invitations/{invitation_id}/cancel"),
    ("POST", "/lists/{list_id}/members/{member_user_id}/owner"),
    ("GET", "/join/{secret}"),
    ("POST", "/join/{secret}"),
}


def test_every_page_route_with_an_id_is_checked(app: FastAPI) -> None:
    with_ids = {
        (method, route.path)
        for route in routing.iter_route_contexts(app.routes)
        if route.methods and not route.path.startswith(("/api/", "/dav")) and "{" in route.path
        for method in route.methods
        if method != "HEAD"
    }
    assert with_ids == (
        WEB_ID_ROUTES.keys()
        | WEB_LIST_ROUTES
        | WEB_TAG_ROUTES
        | WEB_TOKEN_ROUTES
        | WEB_WEBHOOK_ROUTES
        | WEB_TRASH_ROUTES
        | WEB_SHARING_ROUTES
        | WEB_COMMENT_ROUTES
        | WEB_ICS_ROUTES
    )


async def _call(
    http: httpx.AsyncClient, method: str, path: str, task_id: int, form: dict[str, str]
) -> httpx.Response:
    url = path.replace("{task_id:int}", str(task_id))
    # As htmx asks, so that the owner gets the fragment rather than a redirect.
    headers = {"HX-Request": "true", "HX-Current-URL": "http://test/"}
    if method == "GET":
        return await http.get(url, headers=headers)
    token = await page_token(http)
    return await http.post(url, headers=headers, data={"csrf_token": token, **form})


async def test_another_user_gets_404_on_every_page_of_a_task(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await sign_up(client)
    task_id = await add_task(client, "private")
    before = (await client.get(f"/tasks/{task_id}")).text
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as other:
        await sign_up(other)
        assert "private" not in (await other.get("/")).text
        for (method, path), form in WEB_ID_ROUTES.items():
            response = await _call(other, method, path, task_id, form)
            assert response.status_code == 404, f"{method} {path}: {response.status_code}"
            assert "private" not in response.text
        page = await other.get(f"/tasks/{task_id}", headers=HTML)
        assert f"Task {task_id} was not found." in page.text
    assert (await client.get(f"/tasks/{task_id}")).text == before


async def test_the_owner_can_call_every_page_of_a_task(client: httpx.AsyncClient) -> None:
    """The calls above are real ones: for the owner they succeed."""
    await sign_up(client)
    for (method, path), form in WEB_ID_ROUTES.items():
        task_id = await add_task(client, f"mine {method} {path}")
        response = await _call(client, method, path, task_id, form)
        assert response.status_code in (200, 204), f"{method} {path}: {response.text}"


@pytest.fixture
async def failing_app(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(settings)

    @application.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    @application.get("/api/boom")
    async def api_boom() -> None:
        raise RuntimeError("a bug")

    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


async def test_a_crash_gets_a_friendly_page_for_people(failing_app: httpx.AsyncClient) -> None:
    page = await failing_app.get("/boom", headers=HTML)
    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    assert "Something went wrong" in page.text
    assert 'href="/"' in page.text
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    api = await failing_app.get("/api/boom", headers=HTML)
    assert api.status_code == 500
    assert api.json()["code"] == "internal_error"


@pytest.fixture
async def strict_app(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(settings.model_copy(update={"auth_rate_per_account": 2}))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


@pytest.mark.usefixtures("client")  # empties the tables afterwards
async def test_logging_in_on_the_web_is_rate_limited_like_the_api(
    strict_app: httpx.AsyncClient,
) -> None:
    token = csrf_of((await strict_app.get("/login")).text)
    attempt = {"csrf_token": token, "email": "target@example.com", "password": "guess 1234"}
    for _ in range(2):
        assert (await strict_app.post("/login", data=attempt)).status_code == 401
    refused = await strict_app.post("/login", data=attempt)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert "Too many attempts for this account" in refused.text
    assert 'value="target@example.com"' in refused.text


async def test_validation_errors_are_shown_next_to_the_field(client: httpx.AsyncClient) -> None:
    token = csrf_of((await client.get("/signup")).text)
    response = await client.post(
        "/signup",
        data={"csrf_token": token, "email": "kept@example.com", "password": "short", "name": "K"},
    )
    assert response.status_code == 422
    assert 'id="password-error"' in response.text
    assert "Password must be at least 8 characters long." in response.text
    assert 'aria-describedby="password-hint password-error"' in response.text
    assert 'value="kept@example.com"' in response.text


async def test_the_list_answers_htmx_with_fragments(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    await add_task(client, "fragment")
    region = await client.get(
        "/?filter=active", headers={"HX-Request": "true", "HX-Target": "tasks"}
    )
    assert region.text.startswith('<section id="tasks"')
    assert "fragment" in region.text
    assert "<html" not in region.text
    restored = await client.get(
        "/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restored.text


async def test_a_deleted_task_comes_back_with_undo(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    task_id = await add_task(client, "come back")
    token = await page_token(client)
    await client.post(f"/tasks/{task_id}", data={"csrf_token": token, "description": "notes"})
    deleted = await client.post(
        f"/tasks/{task_id}/delete", data={"csrf_token": token, "next": "/?sort=title"}
    )
    assert deleted.headers["location"] == "/?sort=title"
    listed = (await client.get("/?sort=title")).text
    assert "Deleted “come back”." in listed
    # Undo restores that very task from the trash: the form names it, it carries no copy.
    assert f'action="/tasks/{task_id}/restore"' in listed
    assert 'name="task"' not in listed
    assert "come back" not in re.sub(r'<div id="toasts".*', "", listed, flags=re.DOTALL)
    # The message shows once.
    assert "Deleted “come back”." not in (await client.get("/")).text
    restored = await client.post(
        f"/tasks/{task_id}/restore", data={"csrf_token": token, "next": "/"}
    )
    assert restored.status_code == 303
    listed = (await client.get("/")).text
    assert "Restored “come back”." in listed
    assert re.search(rf'id="title-{task_id}"[^>]*>come back<', listed) is not None
    detail = (await client.get(f"/tasks/{task_id}")).text
    assert ">notes</textarea>" in detail
    again = await client.post(f"/tasks/{task_id}/restore", data={"csrf_token": token})
    assert again.status_code == 404


async def test_load_more_pages_with_the_cursor(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    token = await page_token(client)
    for number in range(PAGE_SIZE + 2):
        await client.post("/tasks", data={"csrf_token": token, "title": f"task {number:02}"})
    first = (await client.get("/?sort=title")).text
    assert first.count('class="task"') == PAGE_SIZE
    more = re.search(r'href="(/\?sort=title&amp;cursor=[^"]+)"', first)
    assert more is not None
    url = more.group(1).replace("&amp;", "&")
    fragment = (
        await client.get(url, headers={"HX-Request": "true", "HX-Target": "task-list"})
    ).text
    assert re.findall(r">(task \d\d)<", fragment) == [
        f"task {PAGE_SIZE}",
        f"task {PAGE_SIZE + 1}",
    ]
    assert 'id="more" class="more" hx-swap-oob="true"' in fragment
    assert "Load more" not in fragment
    assert parse_qs(urlsplit(url).query)["sort"] == ["title"]


async def test_a_full_page_weighs_less_than_100_kb(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    token = await page_token(client)
    for number in range(PAGE_SIZE + 1):
        title = f"Task number {number} with a title of typical length"
        await client.post("/tasks", data={"csrf_token": token, "title": title})
    page = await client.get("/", headers={**HTML, "Accept-Encoding": "gzip"})
    assert "Load more" in page.text
    transferred, decoded = page.num_bytes_downloaded, len(page.content)
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
    # The icon, the stylesheet, htmx, app.js and pwa.js (offline views and queue, the hint).
    assert len(assets) == 5
    for asset in assets:
        response = await client.get(asset, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200
        assert "immutable" in response.headers["cache-control"]
        transferred += response.num_bytes_downloaded
        decoded += len(response.content)
    # 59.9 KB until indent and outdent by drag (issue 13) brought it to 60.4 KB; in a full run
    # the ids are longer (about 0.3 KB more: 60,132 bytes measured where alone it was 59,862).
    assert transferred < 61_500, (transferred, decoded)
    # 100 KB until the sidebar, quick-add preview, reordering and reminders came (105 KB);
    # the phone drawer and focus kept by row id (issue 10) brought it to 110.7 KB, and 111.2 KB
    # on PostgreSQL, whose ids (in every row's links and forms) have more digits there. The
    # account page's tokens and notifications and the trash view brought one app.css to
    # 113.6 KB; what travels (compressed) stays under the 60 KB above. pwa.js (the offline
    # queue, the service worker's registration, the quick-add hint: 11 KB, 4 KB compressed)
    # and the hint's markup brought it to 131.1 KB; with subtasks' rows and dialog, 135.8 KB.
    assert decoded < 140_000


async def test_the_account_page_downloads_my_data_and_only_mine(client: httpx.AsyncClient) -> None:
    logged_out = await client.get("/account/export", headers=HTML)
    assert logged_out.status_code == 303
    other = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
    async with other:
        await sign_up(other)
        await add_task(other, "another users task")
    email = await sign_up(client)
    await add_task(client, "mine to keep")
    assert 'href="/account/export"' in (await client.get("/account")).text
    response = await client.get("/account/export")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    document = response.json()
    text = response.text
    assert email in text
    assert "mine to keep" in text
    assert "another users task" not in text
    assert "$argon2" not in text
    assert document["format"] == "todo-export"
    assert len(document["users"]) == 1
    assert [task["title"] for task in document["users"][0]["tasks"]] == ["mine to keep"]
