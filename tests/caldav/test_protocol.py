"""The CalDAV door request by request: auth, discovery, preconditions, access, hostile XML,
reports and the mapping of recurring tasks."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from icalendar import Calendar
from sqlalchemy import event

from tests.caldav.conftest import DavAccount, app_password
from tests.conftest import Account, SignUp
from tests.security.support import client_for, running
from todo.core.config import Settings

STRICT = {"auth_rate_per_account": 3, "auth_rate_per_address": 100, "auth_rate_window": 60}

PROPFIND_ALL = b"""<?xml version="1.0"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"
  xmlns:cs="http://calendarserver.org/ns/" xmlns:a="http://apple.com/ns/ical/">
  <d:prop><d:displayname/><d:resourcetype/><cs:getctag/><d:sync-token/>
  <d:current-user-privilege-set/><c:supported-calendar-component-set/><a:calendar-color/>
  <d:current-user-principal/><c:calendar-home-set/><d:getetag/></d:prop>
</d:propfind>"""


def todo(uid: str, summary: str, *extra: str) -> bytes:
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//EN", "BEGIN:VTODO",
        f"UID:{uid}", "DTSTAMP:20261203T120000Z", f"SUMMARY:{summary}", *extra,
        "END:VTODO", "END:VCALENDAR",
    ]  # fmt: skip
    return ("\r\n".join(lines) + "\r\n").encode()


async def inbox_path(client: httpx.AsyncClient, who: DavAccount) -> str:
    lists = (await client.get("/api/me/lists", headers=who.account.headers)).json()
    inbox = next(each for each in lists if each["is_inbox"])
    return f"/dav/calendars/{who.account.id}/{inbox['id']}/"


async def test_discovery(client: httpx.AsyncClient, dav_alice: DavAccount) -> None:
    options = await client.options("/dav/")
    assert "calendar-access" in options.headers["DAV"]
    assert {"1", "3"} <= {part.strip() for part in options.headers["DAV"].split(",")}
    moved = await client.get("/.well-known/caldav")
    assert moved.status_code in (301, 308)
    assert moved.headers["location"] == "/dav/"
    root = await client.request(
        "PROPFIND", "/dav/", content=PROPFIND_ALL, headers={"Depth": "0"}, auth=dav_alice.auth
    )
    assert root.status_code == 207
    assert f"/dav/principals/{dav_alice.account.id}/" in root.text
    home = await client.request(
        "PROPFIND",
        f"/dav/calendars/{dav_alice.account.id}/",
        content=PROPFIND_ALL,
        headers={"Depth": "1"},
        auth=dav_alice.auth,
    )
    assert home.status_code == 207
    for needed in ("Inbox", "VTODO", "getctag", "sync-token", "write-content", "calendar"):
        assert needed in home.text, needed


async def test_authentication(
    client: httpx.AsyncClient, dav_alice: DavAccount, alice: Account
) -> None:
    path = await inbox_path(client, dav_alice)
    assert (await client.request("PROPFIND", path)).status_code == 401
    wrong = await client.request("PROPFIND", path, auth=(alice.email, alice.password))
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"].startswith("Basic")
    listed = (await client.get("/api/auth/app-passwords", headers=alice.headers)).json()
    assert listed[0]["name"] == "Phone"
    assert "password" not in listed[0]
    assert (await client.request("PROPFIND", path, auth=dav_alice.auth)).status_code == 207
    listed = (await client.get("/api/auth/app-passwords", headers=alice.headers)).json()
    assert listed[0]["last_used_at"] is not None
    gone = await client.delete(f"/api/auth/app-passwords/{listed[0]['id']}", headers=alice.headers)
    assert gone.status_code == 204
    assert (await client.request("PROPFIND", path, auth=dav_alice.auth)).status_code == 401


@pytest.mark.usefixtures("client")  # empties the tables afterwards
async def test_wrong_passwords_are_rate_limited(settings: Settings, sign_up: SignUp) -> None:
    async with running(settings, **STRICT) as app, client_for(app) as http:
        victim = await sign_up()
        right = (victim.email, await app_password(http, victim))
        statuses = []
        for _ in range(5):
            answer = await http.request("PROPFIND", "/dav/", auth=(victim.email, "todo-app-x"))
            statuses.append(answer.status_code)
        assert statuses[:3] == [401, 401, 401]
        assert statuses[-1] == 429
        assert int(statuses and answer.headers["retry-after"]) >= 1
        # A right password is never counted, so guessing cannot lock the owner's devices out.
        assert (await http.request("PROPFIND", "/dav/", auth=right)).status_code == 207


async def test_app_passwords_need_a_log_in(client: httpx.AsyncClient, alice: Account) -> None:
    token = await client.post(
        "/api/auth/tokens",
        json={"name": "script", "scopes": ["tasks:read"]},
        headers=alice.headers,
    )
    pat = {"Authorization": f"Bearer {token.json()['token']}"}
    refused = await client.post("/api/auth/app-passwords", json={"name": "x"}, headers=pat)
    assert refused.status_code == 403
    assert refused.json()["code"] == "login_required"
    blank = await client.post("/api/auth/app-passwords", json={"name": " "}, headers=alice.headers)
    assert blank.status_code == 422
    unknown = await client.delete("/api/auth/app-passwords/999", headers=alice.headers)
    assert unknown.status_code == 404


async def test_preconditions(client: httpx.AsyncClient, dav_alice: DavAccount) -> None:
    path = await inbox_path(client, dav_alice) + "one.ics"
    created = await client.put(
        path, content=todo("one", "First"), headers={"If-None-Match": "*"}, auth=dav_alice.auth
    )
    assert created.status_code == 201
    etag = created.headers["etag"]
    again = await client.put(
        path, content=todo("one", "Again"), headers={"If-None-Match": "*"}, auth=dav_alice.auth
    )
    assert again.status_code == 412
    changed = await client.put(
        path, content=todo("one", "Second"), headers={"If-Match": etag}, auth=dav_alice.auth
    )
    assert changed.status_code == 204
    assert changed.headers["etag"] != etag
    stale = await client.put(
        path, content=todo("one", "Third"), headers={"If-Match": etag}, auth=dav_alice.auth
    )
    assert stale.status_code == 412
    stale_delete = await client.delete(path, headers={"If-Match": etag}, auth=dav_alice.auth)
    assert stale_delete.status_code == 412
    served = await client.get(path, auth=dav_alice.auth)
    assert "SUMMARY:Second" in served.text
    assert served.headers["etag"] == changed.headers["etag"]
    # Only an unmapped property changes: still a new version, which every client sees.
    touched = await client.put(path, content=todo("one", "Second", "X-MINE:1"), auth=dav_alice.auth)
    assert touched.headers["etag"] != changed.headers["etag"]
    assert "X-MINE:1" in (await client.get(path, auth=dav_alice.auth)).text


async def test_another_users_calendars_are_not_found(
    client: httpx.AsyncClient, dav_alice: DavAccount, dav_bob: DavAccount
) -> None:
    alices = await inbox_path(client, dav_alice)
    await client.put(alices + "a.ics", content=todo("a", "Alice's"), auth=dav_alice.auth)
    list_id = alices.rstrip("/").rsplit("/", 1)[1]
    for path in (
        alices,
        alices + "a.ics",
        f"/dav/calendars/{dav_bob.account.id}/{list_id}/",
        f"/dav/calendars/{dav_bob.account.id}/{list_id}/a.ics",
    ):
        answer = await client.request("PROPFIND", path, auth=dav_bob.auth)
        assert answer.status_code == 404, path
        assert (await client.get(path, auth=dav_bob.auth)).status_code == 404, path
    put = await client.put(
        f"/dav/calendars/{dav_bob.account.id}/{list_id}/b.ics",
        content=todo("b", "Bob's"),
        auth=dav_bob.auth,
    )
    assert put.status_code == 404


async def test_a_viewer_reads_only(
    client: httpx.AsyncClient, dav_alice: DavAccount, dav_bob: DavAccount
) -> None:
    made = await client.post(
        "/api/me/lists", json={"name": "Shared"}, headers=dav_alice.account.headers
    )
    list_id = made.json()["id"]
    shared = await client.post(
        f"/api/me/lists/{list_id}/members",
        json={"email": dav_bob.account.email, "role": "viewer"},
        headers=dav_alice.account.headers,
    )
    assert shared.status_code == 201, shared.text
    await client.put(
        f"/dav/calendars/{dav_alice.account.id}/{list_id}/s.ics",
        content=todo("s", "Shared task"),
        auth=dav_alice.auth,
    )
    path = f"/dav/calendars/{dav_bob.account.id}/{list_id}/"
    found = await client.request(
        "PROPFIND", path, content=PROPFIND_ALL, headers={"Depth": "1"}, auth=dav_bob.auth
    )
    assert found.status_code == 207
    assert "Shared task" not in found.text
    assert "s.ics" in found.text
    assert "write-content" not in found.text
    assert "Shared task" in (await client.get(path + "s.ics", auth=dav_bob.auth)).text
    refused = await client.put(path + "s.ics", content=todo("s", "Mine"), auth=dav_bob.auth)
    assert refused.status_code == 403
    assert (await client.delete(path + "s.ics", auth=dav_bob.auth)).status_code == 403
    new = await client.put(path + "n.ics", content=todo("n", "New"), auth=dav_bob.auth)
    assert new.status_code == 403


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<d:propfind xmlns:d="DAV:"><d:prop><d:displayname>&lol9;</d:displayname></d:prop></d:propfind>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY file SYSTEM "file:///etc/passwd">]>
<d:propfind xmlns:d="DAV:"><d:prop><d:displayname>&file;</d:displayname></d:prop></d:propfind>"""

HOSTILE = [
    ("PROPFIND", BILLION_LAUGHS),
    ("PROPFIND", EXTERNAL),
    ("REPORT", BILLION_LAUGHS),
    ("PROPPATCH", EXTERNAL),
    ("MKCALENDAR", BILLION_LAUGHS),
    ("PROPFIND", b"<not-closed"),
    ("PROPFIND", b"\xff\xfe\x00garbage"),
    ("REPORT", b'<d:unknown-report xmlns:d="DAV:"/>'),
    (
        "REPORT",
        b'<c:calendar-query xmlns:c="urn:ietf:params:xml:ns:caldav"><c:filter>'
        b'<c:comp-filter name="VCALENDAR"><c:comp-filter name="VTODO"><c:time-range start="soon"/>'
        b"</c:comp-filter></c:comp-filter></c:filter></c:calendar-query>",
    ),
    (
        "REPORT",
        b'<c:free-busy-query xmlns:c="urn:ietf:params:xml:ns:caldav">'
        b'<c:time-range start="99991231T235959Z" end="00010101T000000Z"/></c:free-busy-query>',
    ),
    (
        "REPORT",
        b'<d:principal-property-search xmlns:d="DAV:" test="anyof"><d:property-search>'
        b"<d:prop><d:unknown/></d:prop><d:match>" + b"x" * 100_000 + b"</d:match>"
        b"</d:property-search></d:principal-property-search>",
    ),
    ("PUT", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"),
    ("PUT", b"not ical at all"),
    ("PUT", b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:e\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"),
    ("PUT", todo("x", "x", "DUE:99999999T999999Z")),
    ("PUT", todo("x", "x", "DUE;VALUE=DATE:00010101", "RRULE:FREQ=SECONDLY")),
    ("PUT", todo("y" * 300, "long uid")),
]


@pytest.mark.parametrize(("method", "body"), HOSTILE)
async def test_hostile_input_is_refused_quickly(
    client: httpx.AsyncClient, dav_alice: DavAccount, method: str, body: bytes
) -> None:
    path = await inbox_path(client, dav_alice)
    if method == "PUT":
        path += "hostile.ics"
    if method == "MKCALENDAR":
        path = f"/dav/calendars/{dav_alice.account.id}/new-one/"
    if b"principal-property-search" in body:
        path = "/dav/"
    started = time.monotonic()
    answer = await client.request(method, path, content=body, auth=dav_alice.auth)
    assert time.monotonic() - started < 2
    assert answer.status_code < 500, answer.text
    if body in (BILLION_LAUGHS, EXTERNAL):
        assert answer.status_code == 400
        assert "lollol" not in answer.text
        assert "root:" not in answer.text


async def test_hostile_paths(client: httpx.AsyncClient, dav_alice: DavAccount) -> None:
    me = dav_alice.account.id
    for path in (
        f"/dav/calendars/{me}/99999999999999999999/",
        f"/dav/calendars/{me}/9223372036854775808/",
        f"/dav/calendars/{me}/0/x.ics",
        f"/dav/calendars/{me}/%00/",
        f"/dav/calendars/{me}/a/b/c/d",
        "/dav/principals/someone-else/",
        "/dav/nowhere",
    ):
        for method in ("PROPFIND", "GET", "PUT", "DELETE", "REPORT", "PROPPATCH"):
            answer = await client.request(method, path, content=b"", auth=dav_alice.auth)
            assert answer.status_code < 500, (method, path, answer.text)


CALENDAR_QUERY = """<?xml version="1.0"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:getetag/><c:calendar-data/></d:prop>
  <c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VTODO">{inner}
  </c:comp-filter></c:comp-filter></c:filter>
</c:calendar-query>"""


async def test_calendar_query_filters(client: httpx.AsyncClient, dav_alice: DavAccount) -> None:
    path = await inbox_path(client, dav_alice)
    await client.put(path + "a.ics", content=todo("a", "Open soon", "DUE:20261210T100000Z"),
                     auth=dav_alice.auth)  # fmt: skip
    await client.put(path + "b.ics", content=todo("b", "Open later", "DUE:20270110T100000Z"),
                     auth=dav_alice.auth)  # fmt: skip
    await client.put(path + "c.ics", content=todo("c", "Done", "STATUS:COMPLETED"),
                     auth=dav_alice.auth)  # fmt: skip

    async def query(inner: str) -> str:
        answer = await client.request(
            "REPORT", path, content=CALENDAR_QUERY.format(inner=inner).encode(),
            headers={"Depth": "1"}, auth=dav_alice.auth,
        )  # fmt: skip
        assert answer.status_code == 207, answer.text
        return answer.text

    everything = await query("")
    assert all(name in everything for name in ("Open soon", "Open later", "Done"))
    open_only = await query(
        '<c:prop-filter name="STATUS"><c:text-match negate-condition="yes">COMPLETED'
        "</c:text-match></c:prop-filter>"
    )
    assert "Done" not in open_only
    assert "Open soon" in open_only
    not_completed = await query(
        '<c:prop-filter name="COMPLETED"><c:is-not-defined/></c:prop-filter>'
    )
    assert "Done" not in not_completed
    assert "Open later" in not_completed
    december = await query('<c:time-range start="20261201T000000Z" end="20261231T000000Z"/>')
    assert "Open soon" in december
    assert "Open later" not in december


async def test_multiget_and_calendar_management(
    client: httpx.AsyncClient, dav_alice: DavAccount
) -> None:
    home = f"/dav/calendars/{dav_alice.account.id}/"
    made = await client.request(
        "MKCALENDAR",
        home + "0b6f0c1e-work/",
        content=b'<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
        b"<d:set><d:prop><d:displayname>Work</d:displayname></d:prop></d:set></c:mkcalendar>",
        auth=dav_alice.auth,
    )
    assert made.status_code == 201, made.text
    path = home + "0b6f0c1e-work/"
    await client.put(path + "w.ics", content=todo("w", "Report"), auth=dav_alice.auth)
    renamed = await client.request(
        "PROPPATCH",
        path,
        content=b'<d:propertyupdate xmlns:d="DAV:" xmlns:a="http://apple.com/ns/ical/">'
        b"<d:set><d:prop><d:displayname>Office</d:displayname>"
        b"<a:calendar-color>#FF0000FF</a:calendar-color></d:prop></d:set></d:propertyupdate>",
        auth=dav_alice.auth,
    )
    assert renamed.status_code == 207
    assert "200 OK" in renamed.text
    lists = (await client.get("/api/me/lists", headers=dav_alice.account.headers)).json()
    office = next(each for each in lists if each["name"] == "Office")
    assert office["color"].lower() == "#ff0000"
    multiget = await client.request(
        "REPORT",
        path,
        content=(
            '<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
            f"<d:prop><d:getetag/><c:calendar-data/></d:prop><d:href>{path}w.ics</d:href>"
            f"<d:href>{path}missing.ics</d:href></c:calendar-multiget>"
        ).encode(),
        auth=dav_alice.auth,
    )
    assert multiget.status_code == 207
    assert "SUMMARY:Report" in multiget.text
    assert "404 Not Found" in multiget.text
    tasks = (
        await client.get(f"/api/me/tasks?list_id={office['id']}", headers=dav_alice.account.headers)
    ).json()
    assert [each["title"] for each in tasks] == ["Report"]


async def test_recurring_completed_on_the_occurrence(
    client: httpx.AsyncClient, dav_alice: DavAccount
) -> None:
    """Apple, Thunderbird: STATUS:COMPLETED on the recurring task itself."""
    path = await inbox_path(client, dav_alice)
    weekly = ("DUE;VALUE=DATE:20261207", "RRULE:FREQ=WEEKLY")
    await client.put(path + "r.ics", content=todo("r", "Bins", *weekly), auth=dav_alice.auth)
    done = todo("r", "Bins", *weekly, "STATUS:COMPLETED", "COMPLETED:20261207T080000Z")
    assert (await client.put(path + "r.ics", content=done, auth=dav_alice.auth)).status_code == 204
    assert (await client.put(path + "r.ics", content=done, auth=dav_alice.auth)).status_code == 204
    tasks = (
        await client.get("/api/me/tasks?completed=all", headers=dav_alice.account.headers)
    ).json()
    bins = sorted(
        (each["due_date"], each["completed"]) for each in tasks if each["title"] == "Bins"
    )
    assert bins == [("2026-12-07", True), ("2026-12-14", False)]


async def test_recurring_moved_forward_open(
    client: httpx.AsyncClient, dav_alice: DavAccount
) -> None:
    """Tasks.org and others: the client moves DUE to the next occurrence and keeps it open."""
    path = await inbox_path(client, dav_alice)
    await client.put(
        path + "m.ics",
        content=todo("m", "Water plants", "DUE;VALUE=DATE:20261207", "RRULE:FREQ=WEEKLY"),
        auth=dav_alice.auth,
    )
    moved = todo("m", "Water plants", "DUE;VALUE=DATE:20261214", "RRULE:FREQ=WEEKLY")
    assert (await client.put(path + "m.ics", content=moved, auth=dav_alice.auth)).status_code == 204
    assert (await client.put(path + "m.ics", content=moved, auth=dav_alice.auth)).status_code == 204
    tasks = (
        await client.get("/api/me/tasks?completed=all", headers=dav_alice.account.headers)
    ).json()
    plants = sorted(
        (each["due_date"], each["completed"]) for each in tasks if each["title"] == "Water plants"
    )
    assert plants == [("2026-12-07", True), ("2026-12-14", False)]
    served = await client.get(path + "m.ics", auth=dav_alice.auth)
    assert "DUE;VALUE=DATE:20261214" in served.text
    assert "STATUS:NEEDS-ACTION" in served.text


async def test_collection_creation_answers_as_webdav_says(
    client: httpx.AsyncClient, dav_alice: DavAccount
) -> None:
    """What litmus found: a body we do not understand is 415, a missing parent is 409, a
    collection inside a calendar is 403, and PROPPATCH on no object is 404."""
    home = f"/dav/calendars/{dav_alice.account.id}/"
    inbox = await inbox_path(client, dav_alice)
    weird = await client.request(
        "MKCOL",
        home + "weird/",
        content=b"afafafaf",
        headers={"Content-Type": "xzy-foo/bar-512"},
        auth=dav_alice.auth,
    )
    assert weird.status_code == 415, weird.text
    assert weird.json()["code"] == "unsupported_body"
    wrong_root = await client.request(
        "MKCOL",
        home + "weird/",
        content=b'<d:propfind xmlns:d="DAV:"/>',
        headers={"Content-Type": "application/xml"},
        auth=dav_alice.auth,
    )
    assert wrong_root.status_code == 415
    no_parent = await client.request("MKCOL", home + "missing/child/", auth=dav_alice.auth)
    assert no_parent.status_code == 409, no_parent.text
    assert no_parent.json()["code"] == "no_parent"
    deeper = await client.request("MKCOL", inbox + "a/b/", auth=dav_alice.auth)
    assert deeper.status_code == 409
    nested = await client.request("MKCOL", inbox + "inner/", auth=dav_alice.auth)
    assert nested.status_code == 403, nested.text
    lists = (await client.get("/api/me/lists", headers=dav_alice.account.headers)).json()
    assert [each["name"] for each in lists] == ["Inbox"]
    props = (
        b'<d:propertyupdate xmlns:d="DAV:" xmlns:x="urn:x"><d:set><d:prop>'
        b"<x:colour>red</x:colour></d:prop></d:set></d:propertyupdate>"
    )
    missing = await client.request(
        "PROPPATCH", inbox + "nothing.ics", content=props, auth=dav_alice.auth
    )
    assert missing.status_code == 404
    await client.put(inbox + "here.ics", content=todo("here", "Here"), auth=dav_alice.auth)
    present = await client.request(
        "PROPPATCH", inbox + "here.ics", content=props, auth=dav_alice.auth
    )
    assert present.status_code == 403
    plain = await client.request("MKCOL", home + "plain/", auth=dav_alice.auth)
    assert plain.status_code == 201


async def test_multiget_finds_each_name_as_get_does_in_few_statements(
    app: FastAPI, client: httpx.AsyncClient, dav_alice: DavAccount
) -> None:
    me = dav_alice.account
    inbox = await inbox_path(client, dav_alice)
    for n in range(3):
        body = todo(f"c{n}", f"Client {n}")
        await client.put(f"{inbox}client-{n}.ics", content=body, auth=dav_alice.auth)
    made = []
    for n in range(40):
        answer = await client.post("/api/me/tasks", json={"title": f"Web {n}"}, headers=me.headers)
        made.append(answer.json()["id"])
    other = await client.post("/api/me/lists", json={"name": "Elsewhere"}, headers=me.headers)
    away = await client.post(
        "/api/me/tasks", json={"title": "Away", "list_id": other.json()["id"]}, headers=me.headers
    )
    listing = await client.request(
        "PROPFIND", inbox, headers={"Depth": "1"}, content=PROPFIND_ALL, auth=dav_alice.auth
    )
    client_task = next(
        int(m) for m in re.findall(r'"(\d+)-\d+"', listing.text) if str(m) not in map(str, made)
    )
    names = [f"client-{n}.ics" for n in range(3)] + [f"task-{i}.ics" for i in made]
    refused = [f"task-{client_task}.ics", f"task-{away.json()['id']}.ics", "nothing.ics"]
    statements = 0

    def count(*_args: object) -> None:
        nonlocal statements
        statements += 1

    async def multiget(wanted: list[str]) -> tuple[str, int]:
        nonlocal statements
        statements = 0
        body = "".join(f"<d:href>{inbox}{name}</d:href>" for name in wanted)
        answer = await client.request(
            "REPORT",
            inbox,
            content=(
                '<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
                f"<d:prop><d:getetag/><c:calendar-data/></d:prop>{body}</c:calendar-multiget>"
            ).encode(),
            auth=dav_alice.auth,
        )
        assert answer.status_code == 207, answer.text
        return answer.text, statements

    event.listen(app.state.db.engine.sync_engine, "before_cursor_execute", count)
    try:
        few, few_statements = await multiget(names[:4] + refused)
        many, many_statements = await multiget(names + refused)
    finally:
        event.remove(app.state.db.engine.sync_engine, "before_cursor_execute", count)
    for text, wanted in ((few, names[:4]), (many, names)):
        assert text.count("200 OK") == len(wanted)
        assert text.count("404 Not Found") == len(refused)
        for name in refused:
            assert f"<d:href>{inbox}{name}</d:href><d:status>HTTP/1.1 404" in text
    assert "SUMMARY:Client 2" in many
    assert "SUMMARY:Web 39" in many
    assert many_statements == few_statements


async def test_free_busy_of_a_list_is_free_all_along(
    client: httpx.AsyncClient, dav_alice: DavAccount
) -> None:
    """RFC 4791 7.10 counts events only: tasks, dated or not, never make anyone busy."""
    inbox = await inbox_path(client, dav_alice)
    await client.put(
        inbox + "dated.ics",
        content=todo("dated", "Dated", "DTSTART:20270105T090000Z", "DUE:20270105T100000Z"),
        auth=dav_alice.auth,
    )

    async def free_busy(span: str) -> httpx.Response:
        return await client.request(
            "REPORT",
            inbox,
            content=(
                '<c:free-busy-query xmlns:c="urn:ietf:params:xml:ns:caldav">'
                f"{span}</c:free-busy-query>"
            ).encode(),
            headers={"Depth": "1"},
            auth=dav_alice.auth,
        )

    answer = await free_busy('<c:time-range start="20270101T000000Z" end="20270131T235959Z"/>')
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(answer.content)
    free = calendar.walk("VFREEBUSY")[0]
    assert free.decoded("DTSTART") == datetime(2027, 1, 1, tzinfo=UTC)
    assert free.decoded("DTEND") == datetime(2027, 1, 31, 23, 59, 59, tzinfo=UTC)
    assert "FREEBUSY" not in free
    for span in (
        "",
        '<c:time-range start="20270101T000000Z"/>',
        '<c:time-range start="20270201T000000Z" end="20270101T000000Z"/>',
        '<c:time-range start="soon" end="later"/>',
    ):
        refused = await free_busy(span)
        assert refused.status_code == 400, (span, refused.text)
        assert refused.json()["code"] == "bad_time_range"
    stranger = await client.request(
        "REPORT",
        inbox,
        content=b'<c:free-busy-query xmlns:c="urn:ietf:params:xml:ns:caldav"/>',
        auth=("nobody@example.com", "wrong"),
    )
    assert stranger.status_code == 401


async def test_principal_search_finds_the_caller_only(
    client: httpx.AsyncClient, dav_alice: DavAccount, bob: Account
) -> None:
    async def search(body: str) -> httpx.Response:
        answer = await client.request(
            "REPORT",
            "/dav/",
            content=(
                '<d:principal-property-search xmlns:d="DAV:" '
                f'xmlns:c="urn:ietf:params:xml:ns:caldav"{body}</d:principal-property-search>'
            ).encode(),
            auth=dav_alice.auth,
        )
        assert answer.status_code == 207, answer.text
        return answer

    def by(prop: str, match: str) -> str:
        return (
            f"<d:property-search><d:prop><{prop}/></d:prop>"
            f"<d:match>{match}</d:match></d:property-search>"
        )

    principal = f"<d:href>/dav/principals/{dav_alice.account.id}/</d:href>"
    # Alice and Bob are both named "Test": only the caller comes back.
    named = await search(f">{by('d:displayname', 'tEs')}<d:prop><d:displayname/></d:prop>")
    assert named.text.count("<d:response>") == 1
    assert principal in named.text
    assert "<d:displayname>Test</d:displayname>" in named.text
    assert bob.id not in named.text
    other = await search(f">{by('c:calendar-user-address-set', 'bob@')}")
    assert "<d:response>" not in other.text
    either = await search(
        f' test="anyof">{by("d:displayname", "zzz")}{by("c:calendar-user-address-set", "alice@")}'
    )
    assert principal in either.text
    both = await search(
        f">{by('d:displayname', 'zzz')}{by('c:calendar-user-address-set', 'alice@')}"
    )
    assert "<d:response>" not in both.text
    # python caldav's own body: the wanted properties beside an empty DAV:prop.
    listed = await search("><d:prop/><c:calendar-home-set/><d:displayname/>")
    assert principal in listed.text
    assert f"<d:href>/dav/calendars/{dav_alice.account.id}/</d:href>" in listed.text


async def test_time_range_finds_later_occurrences_of_a_recurring_task(
    client: httpx.AsyncClient, dav_alice: DavAccount
) -> None:
    inbox = await inbox_path(client, dav_alice)
    monthly = ("DTSTART:20270112T090000Z", "DUE:20270112T100000Z", "RRULE:FREQ=MONTHLY")
    for name, lines in (
        ("monthly", monthly),
        ("once", ("DTSTART:20270112T090000Z", "DUE:20270112T100000Z")),
        ("yearly-due", ("DUE;VALUE=DATE:20270112", "RRULE:FREQ=YEARLY")),
        ("secondly", ("DUE;VALUE=DATE:00010101", "RRULE:FREQ=SECONDLY")),
    ):
        body = todo(name, name, *lines)
        put = await client.put(f"{inbox}{name}.ics", content=body, auth=dav_alice.auth)
        assert put.status_code in (201, 400), put.text

    async def found(start: str, end: str) -> set[str]:
        body = (
            '<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
            '<d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name="VCALENDAR">'
            '<c:comp-filter name="VTODO">'
            f'<c:time-range start="{start}" end="{end}"/>'
            "</c:comp-filter></c:comp-filter></c:filter></c:calendar-query>"
        )
        started = time.monotonic()
        answer = await client.request(
            "REPORT", inbox, content=body.encode(), headers={"Depth": "1"}, auth=dav_alice.auth
        )
        assert time.monotonic() - started < 2
        assert answer.status_code == 207, answer.text
        return set(re.findall(r"/([a-z-]+)\.ics</d:href>", answer.text))

    assert {"monthly", "once"} <= await found("20270112T000000Z", "20270113T000000Z")
    assert "monthly" in await found("20270212T000000Z", "20270213T000000Z")
    assert "once" not in await found("20270212T000000Z", "20270213T000000Z")
    assert "monthly" not in await found("20270214T000000Z", "20270215T000000Z")
    assert "yearly-due" in await found("20290111T000000Z", "20290113T000000Z")
    assert "yearly-due" not in await found("20290201T000000Z", "20290202T000000Z")
    assert "monthly" not in await found("20261201T000000Z", "20261231T000000Z")
