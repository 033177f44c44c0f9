"""The CalDAV server at /dav/ (RFC 4918, 4791, 6578): HTTP Basic with an app password.

/dav/                                    the root: where the principal is
/dav/principals/<user id>/               the caller's principal
/dav/calendars/<user id>/                their calendar home
/dav/calendars/<user id>/<list>/         a list they see (its id, or a client's name)
/dav/calendars/<user id>/<list>/<name>   a task
"""

from __future__ import annotations

import base64
import binascii
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from urllib.parse import quote, unquote, urlsplit
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from fastapi import FastAPI
from icalendar import Calendar as ICalendar
from icalendar import Component, FreeBusy
from sqlalchemy.exc import DBAPIError
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from todo.accounts import service as accounts
from todo.accounts.models import User
from todo.caldav import ical, service, xml
from todo.caldav.service import Calendar, Item
from todo.caldav.xml import APPLE, CALDAV, CS, DAV, q
from todo.core.db import Database
from todo.core.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    Unauthorized,
    UnsupportedMediaType,
)
from todo.core.ratelimit import check_auth_attempt
from todo.core.schemas import text_problem
from todo.lists import access
from todo.lists.access import Role, Scope
from todo.tasks import service as tasks

ROOT = "/dav/"
METHODS = [
    "OPTIONS", "GET", "HEAD", "PUT", "DELETE", "PROPFIND", "PROPPATCH", "REPORT",
    "MKCALENDAR", "MKCOL",
]  # fmt: skip
_WRITES = frozenset({"PUT", "DELETE", "PROPPATCH", "MKCALENDAR", "MKCOL"})
_XML = "application/xml; charset=utf-8"
_ICS = "text/calendar; charset=utf-8"
_REALM = 'Basic realm="Todo CalDAV", charset="UTF-8"'
_NAME_MAX = 255
# How far a time-range query walks a recurring task's rule before it gives up on it: our
# tasks carry their current occurrence, so the ones a client asks about come early.
_OCCURRENCES_MAX = 1000
# Deadlock detected, serialization failure.
_RETRYABLE = frozenset({"40P01", "40001"})


def _unauthorized() -> Unauthorized:
    return Unauthorized(
        "Sign in with the account's email and an app password (HTTP Basic).",
        code="not_authenticated",
        headers={"WWW-Authenticate": _REALM},
    )


def _credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value or len(value) > 2000:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    email, colon, password = decoded.partition(":")
    return (email, password) if colon else None


async def _authenticate(request: Request, db: Database, session: AsyncSession) -> User:
    given = _credentials(request)
    if given is None:
        raise _unauthorized()
    email, password = given
    use = await accounts.resolve_app_password(session, email, password)
    if use is None:
        # Wrong passwords count as wrong log-ins (429 past the limit); right ones never do,
        # so that someone guessing cannot lock the owner's devices out.
        await check_auth_attempt(request, "login", email)
        raise _unauthorized()
    if use.touch_due:
        # As core.deps.write_aside: a writing request's own session holds SQLite's write
        # turn, which a second writer would wait for.
        if request.method in _WRITES:
            await accounts.touch_app_password(session, use.password_id)
        else:
            async with db.session(write=True) as writer:
                await accounts.touch_app_password(writer, use.password_id)
    return use.user


def _xml_answer(body: bytes, status: int = 207, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type=_XML, headers=headers)


def _depth(request: Request, default: str) -> str:
    value = request.headers.get("depth", default).strip().lower()
    if value not in ("0", "1", "infinity"):
        raise BadRequest("Depth must be 0, 1 or infinity.", code="bad_depth")
    return value


class Dav:
    """One request: who asks, their scope and where they are."""

    def __init__(self, request: Request, session: AsyncSession, user: User, scope: Scope):
        self.request = request
        self.session = session
        self.user = user
        self.scope = scope
        self.tz = ZoneInfo(user.timezone)

    # Paths

    @property
    def principal(self) -> str:
        return f"{ROOT}principals/{self.user.id}/"

    @property
    def home(self) -> str:
        return f"{ROOT}calendars/{self.user.id}/"

    def calendar_path(self, where: Calendar) -> str:
        return f"{self.home}{quote(where.segment, safe='')}/"

    def item_path(self, where: Calendar, each: Item) -> str:
        return f"{self.calendar_path(where)}{quote(each.name, safe='')}"

    # Properties

    def _common(self) -> dict[str, Callable[[], ET.Element | None]]:
        return {
            q(DAV, "current-user-principal"): lambda: xml.element(
                q(DAV, "current-user-principal"), None, xml.href(self.principal)
            ),
            q(DAV, "principal-URL"): lambda: xml.element(
                q(DAV, "principal-URL"), None, xml.href(self.principal)
            ),
            q(CALDAV, "calendar-home-set"): lambda: xml.element(
                q(CALDAV, "calendar-home-set"), None, xml.href(self.home)
            ),
        }

    def _privileges(self, names: list[str]) -> ET.Element:
        return xml.element(
            q(DAV, "current-user-privilege-set"),
            None,
            *(xml.element(q(DAV, "privilege"), None, ET.Element(q(DAV, n))) for n in names),
        )

    def root_props(self) -> dict[str, Callable[[], ET.Element | None]]:
        props = self._common()
        props[q(DAV, "resourcetype")] = lambda: xml.element(
            q(DAV, "resourcetype"), None, ET.Element(q(DAV, "collection"))
        )
        return props

    def principal_props(self) -> dict[str, Callable[[], ET.Element | None]]:
        props = self._common()
        props[q(DAV, "resourcetype")] = lambda: xml.element(
            q(DAV, "resourcetype"),
            None,
            ET.Element(q(DAV, "collection")),
            ET.Element(q(DAV, "principal")),
        )
        props[q(DAV, "displayname")] = lambda: xml.element(
            q(DAV, "displayname"), self.user.name or self.user.email
        )
        props[q(CALDAV, "calendar-user-address-set")] = lambda: xml.element(
            q(CALDAV, "calendar-user-address-set"), None, xml.href(f"mailto:{self.user.email}")
        )
        return props

    def home_props(self) -> dict[str, Callable[[], ET.Element | None]]:
        props = self._common()
        props[q(DAV, "resourcetype")] = lambda: xml.element(
            q(DAV, "resourcetype"), None, ET.Element(q(DAV, "collection"))
        )
        props[q(DAV, "current-user-privilege-set")] = lambda: self._privileges(
            ["read", "bind", "read-current-user-privilege-set"]
        )
        return props

    def calendar_props(
        self, where: Calendar, mark: int
    ) -> dict[str, Callable[[], ET.Element | None]]:
        token = service.sync_token(mark)
        privileges = ["read", "read-current-user-privilege-set"]
        if where.role >= Role.editor:
            privileges += ["write-content", "bind", "unbind"]
        if where.role >= Role.admin:
            privileges += ["write", "write-properties"]
        props = self._common()
        props.update(
            {
                q(DAV, "resourcetype"): lambda: xml.element(
                    q(DAV, "resourcetype"),
                    None,
                    ET.Element(q(DAV, "collection")),
                    ET.Element(q(CALDAV, "calendar")),
                ),
                q(DAV, "displayname"): lambda: xml.element(q(DAV, "displayname"), where.found.name),
                q(CALDAV, "supported-calendar-component-set"): lambda: xml.element(
                    q(CALDAV, "supported-calendar-component-set"),
                    None,
                    ET.Element(q(CALDAV, "comp"), {"name": "VTODO"}),
                ),
                q(CALDAV, "supported-calendar-data"): lambda: xml.element(
                    q(CALDAV, "supported-calendar-data"),
                    None,
                    ET.Element(
                        q(CALDAV, "calendar-data"),
                        {"content-type": "text/calendar", "version": "2.0"},
                    ),
                ),
                q(CS, "getctag"): lambda: xml.element(q(CS, "getctag"), str(mark)),
                q(DAV, "sync-token"): lambda: xml.element(q(DAV, "sync-token"), token),
                q(DAV, "current-user-privilege-set"): lambda: self._privileges(privileges),
                q(APPLE, "calendar-color"): lambda: (
                    xml.element(q(APPLE, "calendar-color"), where.found.color)
                    if where.found.color
                    else None
                ),
                q(DAV, "owner"): lambda: xml.element(
                    q(DAV, "owner"), None, xml.href(f"{ROOT}principals/{where.found.user_id}/")
                ),
                q(DAV, "supported-report-set"): lambda: xml.element(
                    q(DAV, "supported-report-set"),
                    None,
                    *(
                        xml.element(
                            q(DAV, "supported-report"),
                            None,
                            xml.element(q(DAV, "report"), None, ET.Element(name)),
                        )
                        for name in (
                            q(CALDAV, "calendar-query"),
                            q(CALDAV, "calendar-multiget"),
                            q(CALDAV, "free-busy-query"),
                            q(DAV, "sync-collection"),
                        )
                    ),
                ),
            }
        )
        return props

    def item_props(self, each: Item) -> dict[str, Callable[[], ET.Element | None]]:
        return {
            q(DAV, "getetag"): lambda: xml.element(q(DAV, "getetag"), each.etag),
            q(DAV, "getcontenttype"): lambda: xml.element(
                q(DAV, "getcontenttype"), "text/calendar; charset=utf-8; component=VTODO"
            ),
            q(DAV, "resourcetype"): lambda: ET.Element(q(DAV, "resourcetype")),
            q(CALDAV, "calendar-data"): lambda: xml.element(
                q(CALDAV, "calendar-data"), each.render(self.tz).decode()
            ),
        }


def _answer(
    path: str, props: dict[str, Callable[[], ET.Element | None]], wanted: list[str] | None
) -> ET.Element:
    """A resource's response to a PROPFIND or REPORT; `wanted` None is allprop (without the
    expensive calendar-data)."""
    names = wanted if wanted is not None else [n for n in props if n != q(CALDAV, "calendar-data")]
    found: list[ET.Element] = []
    missing: list[str] = []
    for name in names:
        build = props.get(name)
        value = build() if build is not None else None
        if value is None:
            missing.append(name)
        else:
            found.append(value)
    return xml.response(path, found, missing)


def _wanted(root: ET.Element | None) -> list[str] | None:
    """The properties a PROPFIND or REPORT asks for; None for allprop."""
    if root is None:
        return None
    prop = root.find(q(DAV, "prop"))
    if prop is None:
        return None
    return [child.tag for child in prop]


def _split(path: str) -> list[str]:
    parts = [unquote(part) for part in path.strip("/").split("/") if part]
    # No resource of ours has such a name; the database would refuse a NUL outright.
    if any(len(part) > _NAME_MAX or text_problem(part) for part in parts):
        raise service.not_found()
    return parts


async def _collection(dav: Dav, parts: list[str]) -> Calendar:
    if len(parts) < 3 or parts[0] != "calendars" or parts[1] != dav.user.id:
        raise service.not_found()
    return await service.calendar(dav.session, dav.scope, parts[2])


def _check_name(name: str) -> str:
    if not name or len(name) > _NAME_MAX or any(ord(c) < 32 or c in "\\" for c in name):
        raise BadRequest("That is no name for a calendar object.", code="bad_name")
    return name


async def _propfind(dav: Dav, parts: list[str]) -> Response:
    root = xml.parse(await dav.request.body())
    if root is not None and root.tag != q(DAV, "propfind"):
        raise BadRequest("A PROPFIND body is a DAV:propfind.", code="bad_xml")
    wanted = _wanted(root)
    depth = _depth(dav.request, "1")
    answers: list[ET.Element] = []
    if not parts:
        answers.append(_answer(ROOT, dav.root_props(), wanted))
    elif parts[0] == "principals" and parts[1:] == [dav.user.id]:
        answers.append(_answer(dav.principal, dav.principal_props(), wanted))
    elif parts == ["calendars", dav.user.id]:
        answers.append(_answer(dav.home, dav.home_props(), wanted))
        if depth != "0":
            for where in await service.calendars(dav.session, dav.scope):
                mark = await service.sync_mark(dav.session, where)
                answers.append(
                    _answer(dav.calendar_path(where), dav.calendar_props(where, mark), wanted)
                )
    elif len(parts) == 3:
        where = await _collection(dav, parts)
        mark = await service.sync_mark(dav.session, where)
        answers.append(_answer(dav.calendar_path(where), dav.calendar_props(where, mark), wanted))
        if depth != "0":
            for each in await service.items(dav.session, dav.scope, where):
                answers.append(_answer(dav.item_path(where, each), dav.item_props(each), wanted))
    elif len(parts) == 4:
        where = await _collection(dav, parts)
        found = await service.item(dav.session, dav.scope, where, parts[3])
        if found is None:
            raise service.not_found()
        answers.append(_answer(dav.item_path(where, found), dav.item_props(found), wanted))
    else:
        raise service.not_found()
    return _xml_answer(xml.multistatus(answers))


async def _item_at(dav: Dav, parts: list[str]) -> tuple[Calendar, Item | None]:
    if len(parts) != 4:
        raise service.not_found()
    where = await _collection(dav, parts)
    return where, await service.item(dav.session, dav.scope, where, _check_name(parts[3]))


async def _get(dav: Dav, parts: list[str]) -> Response:
    if len(parts) < 4:
        # Browsers and some clients GET a collection: say what it is, plainly.
        await _propfind_target_exists(dav, parts)
        return Response(
            "This is a CalDAV collection: use a CalDAV client.\n", media_type="text/plain"
        )
    _where, found = await _item_at(dav, parts)
    if found is None:
        raise service.not_found()
    body = found.render(dav.tz)
    headers = {"ETag": found.etag}
    if dav.request.method == "HEAD":
        return Response(None, media_type=_ICS, headers=headers)
    return Response(body, media_type=_ICS, headers=headers)


async def _propfind_target_exists(dav: Dav, parts: list[str]) -> None:
    if len(parts) == 3:
        await _collection(dav, parts)
    elif parts not in ([], ["calendars", dav.user.id], ["principals", dav.user.id]):
        raise service.not_found()


def _version_in(etag: str, found: Item) -> int | None:
    """The task version an If-Match names, None when it is not this object's etag."""
    for candidate in (part.strip() for part in etag.split(",")):
        if candidate.removeprefix("W/") == found.etag:
            return found.task.version
    return None


def _preconditions(dav: Dav, found: Item | None) -> int | None:
    if_match = dav.request.headers.get("if-match")
    if_none_match = dav.request.headers.get("if-none-match")
    if if_none_match is not None and if_none_match.strip() == "*" and found is not None:
        raise PreconditionFailed("The object exists already.", code="exists")
    if if_match is None:
        return None
    if found is None:
        raise PreconditionFailed("There is no object at this name.", code="version_mismatch")
    if if_match.strip() == "*":
        return found.task.version
    version = _version_in(if_match, found)
    if version is None:
        raise PreconditionFailed(
            "The object has changed since (its ETag is another): fetch it and retry.",
            code="version_mismatch",
        )
    return version


async def _put(dav: Dav, parts: list[str]) -> Response:
    where, found = await _item_at(dav, parts)
    if where.role < Role.editor:
        raise access.forbidden_role(Role.editor)
    _preconditions(dav, found)
    body = await dav.request.body()
    saved = await service.put(
        dav.session,
        dav.scope,
        where,
        parts[3],
        body,
        existing=found,
        clock_=tasks.Clock.of(dav.user.timezone),
    )
    return Response(status_code=204 if found else 201, headers={"ETag": saved.etag})


async def _delete(dav: Dav, parts: list[str]) -> Response:
    if len(parts) == 3:
        where = await _collection(dav, parts)
        await service.delete_calendar(dav.session, dav.scope, where)
        return Response(status_code=204)
    where, found = await _item_at(dav, parts)
    if found is None:
        raise service.not_found()
    if where.role < Role.editor:
        raise access.forbidden_role(Role.editor)
    version = _preconditions(dav, found)
    await service.delete(dav.session, dav.scope, found, if_match=version)
    return Response(status_code=204)


def _color(value: str) -> str:
    # Apple writes #RRGGBBAA; a list's color has no alpha.
    text = value.strip()
    return text[:7] if len(text) == 9 and text.startswith("#") else text


def _creation_body(request: Request, body: bytes) -> ET.Element | None:
    """The XML of an extended MKCOL (RFC 5689) or a MKCALENDAR; 415 for any other body, as
    RFC 4918 9.3 asks of a MKCOL whose body the server does not understand."""
    if not body.strip():
        return None
    kind = request.headers.get("content-type", "application/xml").split(";")[0].strip().lower()
    if kind not in ("application/xml", "text/xml"):
        raise UnsupportedMediaType(
            "A MKCOL or MKCALENDAR body is XML (application/xml).", code="unsupported_body"
        )
    root = xml.parse(body)
    expected = q(CALDAV, "mkcalendar") if request.method == "MKCALENDAR" else q(DAV, "mkcol")
    if root is None or root.tag != expected:
        raise UnsupportedMediaType(
            f"A {request.method} body is a {expected}.", code="unsupported_body"
        )
    return root


async def _mkcalendar(dav: Dav, parts: list[str]) -> Response:
    root = _creation_body(dav.request, await dav.request.body())
    if len(parts) > 3 and parts[:2] == ["calendars", dav.user.id]:
        # Collections do not nest in a calendar (RFC 4791 5.3.1: 403); a missing parent
        # is a conflict (RFC 4918 9.3.1: 409).
        if len(parts) == 4:
            try:
                await _collection(dav, parts[:3])
            except NotFound:
                pass
            else:
                raise Forbidden("Calendars do not hold collections.", code="not_here")
        raise Conflict("The parent collection does not exist.", code="no_parent")
    if len(parts) != 3 or parts[0] != "calendars" or parts[1] != dav.user.id:
        raise Forbidden("Calendars are made in your calendar home.", code="not_here")
    name: str | None = None
    color: str | None = None
    if root is not None:
        for prop in root.iter(q(DAV, "prop")):
            for child in prop:
                if child.tag == q(DAV, "displayname"):
                    name = (child.text or "").strip() or None
                elif child.tag == q(APPLE, "calendar-color") and child.text:
                    color = _color(child.text)
                elif (
                    child.tag == q(DAV, "resourcetype")
                    and child.find(q(CALDAV, "calendar")) is None
                ):
                    raise Forbidden("Only calendar collections are made here.", code="not_calendar")
    await service.make_calendar(dav.session, dav.user.id, parts[2], name=name, color=color)
    return Response(status_code=201)


async def _proppatch(dav: Dav, parts: list[str]) -> Response:
    if len(parts) == 4:
        _where, found = await _item_at(dav, parts)
        if found is None:
            raise service.not_found()
    if len(parts) != 3:
        raise Forbidden("Only a calendar's name and color can be changed.", code="not_here")
    where = await _collection(dav, parts)
    root = xml.parse(await dav.request.body())
    if root is None or root.tag != q(DAV, "propertyupdate"):
        raise BadRequest("A PROPPATCH body is a DAV:propertyupdate.", code="bad_xml")
    changes: dict[str, str | None] = {}
    names: list[str] = []
    refused: list[str] = []
    for action in root:
        removing = action.tag == q(DAV, "remove")
        for prop in action.iter(q(DAV, "prop")):
            for child in prop:
                names.append(child.tag)
                if child.tag == q(DAV, "displayname") and not removing:
                    changes["name"] = (child.text or "").strip()
                elif child.tag == q(APPLE, "calendar-color"):
                    changes["color"] = None if removing else _color(child.text or "")
                else:
                    refused.append(child.tag)
    if refused:
        answer = xml.element(
            q(DAV, "response"),
            None,
            xml.href(dav.calendar_path(where)),
            xml.propstat((ET.Element(tag) for tag in refused), "403 Forbidden"),
            *(
                [
                    xml.propstat(
                        (ET.Element(tag) for tag in names if tag not in refused),
                        "424 Failed Dependency",
                    )
                ]
                if len(refused) < len(names)
                else []
            ),
        )
        return _xml_answer(xml.multistatus([answer]))
    if changes:
        await service.change_calendar(dav.session, dav.scope, where, changes)
    answer = xml.element(
        q(DAV, "response"),
        None,
        xml.href(dav.calendar_path(where)),
        xml.propstat((ET.Element(tag) for tag in names), "200 OK"),
    )
    return _xml_answer(xml.multistatus([answer]))


# Reports


def _instant(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise BadRequest(
            f"A time-range bound must be a UTC date-time (YYYYMMDDTHHMMSSZ), not {value!r}.",
            code="bad_time_range",
        ) from None


def _bound(component: Component, name: str, tz: ZoneInfo) -> datetime | None:
    try:
        value = component.decoded(name)
    except (KeyError, ValueError, TypeError):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=tz)
    return None


def _todo_in_range(todo: Component, start: datetime, end: datetime, tz: ZoneInfo) -> bool:
    """RFC 4791 9.9, for VTODO; a recurring one matches when any of its first occurrences
    does (RFC 4791 9.9 asks for every instance: the rule is walked, to a bound)."""
    dtstart = _bound(todo, "DTSTART", tz)
    due = _bound(todo, "DUE", tz)
    if _instance_in_range(todo, dtstart, due, start, end, tz):
        return True
    anchor = dtstart or due
    rule = todo.get("RRULE")
    if anchor is None or rule is None or isinstance(rule, list):
        return False
    try:
        occurrences = rrulestr(rule.to_ical().decode(), dtstart=anchor)
        for n, moment in enumerate(occurrences):
            if moment > end or n >= _OCCURRENCES_MAX:
                return False
            shift = moment - anchor
            if _instance_in_range(
                todo,
                dtstart + shift if dtstart else None,
                due + shift if due else None,
                start,
                end,
                tz,
            ):
                return True
    except (ValueError, TypeError, OverflowError):
        # A rule dateutil cannot walk (an UNTIL of another kind than DTSTART's...).
        return False
    return False


def _instance_in_range(
    todo: Component,
    dtstart: datetime | None,
    due: datetime | None,
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
) -> bool:
    completed = _bound(todo, "COMPLETED", tz)
    created = _bound(todo, "CREATED", tz)
    if dtstart is not None and due is not None:
        return (start < due or start <= dtstart) and (end > dtstart or end >= due)
    if dtstart is not None:
        return start <= dtstart < end
    if due is not None:
        return start < due <= end
    if completed is not None and created is not None:
        return (start <= created or start <= completed) and (end >= created or end >= completed)
    if completed is not None:
        return start <= completed <= end
    if created is not None:
        return end > created
    return True


def _text_matches(condition: ET.Element, values: list[str]) -> bool:
    needle = (condition.text or "").lower()
    hit = any(needle in value.lower() for value in values)
    return not hit if condition.get("negate-condition") == "yes" else hit


def _prop_matches(component: Component, prop_filter: ET.Element, tz: ZoneInfo) -> bool:
    name = (prop_filter.get("name") or "").upper()
    present = name in component
    if prop_filter.find(q(CALDAV, "is-not-defined")) is not None:
        return not present
    if not present:
        return False
    found = component.get(name)
    values = [str(each) for each in (found if isinstance(found, list) else [found])]
    if name == "CATEGORIES":
        values = [
            str(cat)
            for each in (found if isinstance(found, list) else [found])
            for cat in getattr(each, "cats", [])
        ]
    text = prop_filter.find(q(CALDAV, "text-match"))
    if text is not None and not _text_matches(text, values):
        return False
    span = prop_filter.find(q(CALDAV, "time-range"))
    if span is not None:
        moment = _bound(component, name, tz)
        start = _instant(span.get("start") or "00010102T000000Z")
        end = _instant(span.get("end") or "99991230T000000Z")
        if moment is None or not start <= moment < end:
            return False
    return True


def _comp_matches(component: Component, comp_filter: ET.Element, tz: ZoneInfo) -> bool:
    if comp_filter.find(q(CALDAV, "is-not-defined")) is not None:
        return False
    span = comp_filter.find(q(CALDAV, "time-range"))
    if span is not None and component.name == "VTODO":
        start = _instant(span.get("start") or "00010102T000000Z")
        end = _instant(span.get("end") or "99991230T000000Z")
        if not _todo_in_range(component, start, end, tz):
            return False
    for prop_filter in comp_filter.findall(q(CALDAV, "prop-filter")):
        if not _prop_matches(component, prop_filter, tz):
            return False
    for inner in comp_filter.findall(q(CALDAV, "comp-filter")):
        name = (inner.get("name") or "").upper()
        subs = [each for each in component.subcomponents if each.name == name]
        if inner.find(q(CALDAV, "is-not-defined")) is not None:
            if subs:
                return False
            continue
        if not any(_comp_matches(each, inner, tz) for each in subs):
            return False
    return True


def _matches(body: bytes, query: ET.Element | None, tz: ZoneInfo) -> bool:
    if query is None:
        return True
    calendar, _ = ical.parse(body)
    if (query.get("name") or "").upper() != "VCALENDAR":
        return False
    return _comp_matches(calendar, query, tz)


def _principal_search(dav: Dav, root: ET.Element) -> Response:
    """RFC 3744 9.4, over the one principal a user may see: their own, when it matches."""
    own = {
        q(DAV, "displayname"): dav.user.name or dav.user.email,
        q(CALDAV, "calendar-user-address-set"): f"mailto:{dav.user.email}",
    }
    hits = []
    for search in root.findall(q(DAV, "property-search")):
        needle = (search.findtext(q(DAV, "match")) or "").strip().lower()
        names = [child.tag for prop in search.findall(q(DAV, "prop")) for child in prop]
        hits.append(any(needle in own.get(name, "").lower() for name in names))
    matched = any(hits) if root.get("test") == "anyof" else all(hits)
    # python caldav puts the properties it wants beside an empty DAV:prop, not inside it.
    wanted = (_wanted(root) or []) + [
        child.tag
        for child in root
        if child.tag not in (q(DAV, "property-search"), q(DAV, "prop"))
        and child.tag != q(DAV, "apply-to-principal-collection-set")
    ]
    answers = [_answer(dav.principal, dav.principal_props(), wanted)] if matched else []
    return _xml_answer(xml.multistatus(answers))


async def _report(dav: Dav, parts: list[str]) -> Response:
    root = xml.parse(await dav.request.body())
    if root is None:
        raise BadRequest("A REPORT needs a body.", code="bad_xml")
    if root.tag == q(DAV, "principal-property-search") and parts in (
        [],
        ["principals"],
        ["principals", dav.user.id],
    ):
        return _principal_search(dav, root)
    if len(parts) == 4 and root.tag != q(DAV, "sync-collection"):
        where, found = await _item_at(dav, parts)
        if found is None:
            raise service.not_found()
        targets: list[Item] | None = [found]
    else:
        where = await _collection(dav, parts)
        targets = None
    wanted = _wanted(root)
    if root.tag == q(CALDAV, "calendar-query"):
        filter_root = root.find(q(CALDAV, "filter"))
        query = filter_root.find(q(CALDAV, "comp-filter")) if filter_root is not None else None
        answers = []
        for each in targets or await service.items(dav.session, dav.scope, where):
            body = each.render(dav.tz)
            if _matches(body, query, dav.tz):
                answers.append(_answer(dav.item_path(where, each), dav.item_props(each), wanted))
        return _xml_answer(xml.multistatus(answers))
    if root.tag == q(CALDAV, "calendar-multiget"):
        base = dav.calendar_path(where)
        names: dict[str, str] = {}
        for node in root.findall(q(DAV, "href")):
            path = urlsplit((node.text or "").strip()).path
            names[path] = unquote(path[len(base) :]) if path.startswith(base) else ""
        found_by_name = await service.items_named(
            dav.session,
            dav.scope,
            where,
            [name for name in names.values() if name and "/" not in name],
        )
        answers = []
        for path, name in names.items():
            hit = found_by_name.get(name)
            if hit is None:
                answers.append(xml.status_response(path, "404 Not Found"))
            else:
                answers.append(_answer(dav.item_path(where, hit), dav.item_props(hit), wanted))
        return _xml_answer(xml.multistatus(answers))
    if root.tag == q(DAV, "sync-collection"):
        return await _sync(dav, where, root, wanted)
    if root.tag == q(CALDAV, "free-busy-query"):
        return _free_busy(root)
    raise Forbidden("This report is not supported here.", code="unsupported_report")


def _free_busy(root: ET.Element) -> Response:
    """RFC 4791 7.10: only events make their owner busy, never tasks, so a list is free all
    along the range asked for."""
    span = root.find(q(CALDAV, "time-range"))
    if span is None or not span.get("start") or not span.get("end"):
        raise BadRequest(
            "A free-busy-query names a time-range with a start and an end.",
            code="bad_time_range",
        )
    start, end = _instant(span.get("start") or ""), _instant(span.get("end") or "")
    if end <= start:
        raise BadRequest("The time-range ends before it starts.", code="bad_time_range")
    free = FreeBusy()
    free.add("dtstamp", datetime.now(UTC).replace(microsecond=0))
    free.add("dtstart", start)
    free.add("dtend", end)
    answer = ICalendar()
    answer.add("prodid", "-//Todo//CalDAV//EN")
    answer.add("version", "2.0")
    answer.add_component(free)
    return Response(answer.to_ical(), media_type=_ICS)


def _invalid_token() -> Response:
    return _xml_answer(xml.error(ET.Element(q(DAV, "valid-sync-token"))), status=403)


async def _sync(dav: Dav, where: Calendar, root: ET.Element, wanted: list[str] | None) -> Response:
    token = (root.findtext(q(DAV, "sync-token")) or "").strip()
    answers: list[ET.Element] = []
    if not token:
        mark = await service.sync_mark(dav.session, where)
        for each in await service.items(dav.session, dav.scope, where):
            answers.append(_answer(dav.item_path(where, each), dav.item_props(each), wanted))
    else:
        since = service.token_mark(token)
        changes = (
            None
            if since is None
            else await service.changes_since(dav.session, dav.scope, where, since)
        )
        if changes is None:
            return _invalid_token()
        mark = changes.mark
        for each in changes.changed:
            answers.append(_answer(dav.item_path(where, each), dav.item_props(each), wanted))
        for name in changes.gone:
            answers.append(
                xml.status_response(
                    f"{dav.calendar_path(where)}{quote(name, safe='')}", "404 Not Found"
                )
            )
    return _xml_answer(
        xml.multistatus(answers, xml.element(q(DAV, "sync-token"), service.sync_token(mark)))
    )


_HANDLERS = {
    "PROPFIND": _propfind,
    "GET": _get,
    "HEAD": _get,
    "PUT": _put,
    "DELETE": _delete,
    "MKCALENDAR": _mkcalendar,
    "MKCOL": _mkcalendar,
    "PROPPATCH": _proppatch,
    "REPORT": _report,
}


def _options() -> Response:
    return Response(
        status_code=200,
        headers={
            "DAV": "1, 3, calendar-access, extended-mkcol",
            "Allow": ", ".join(METHODS),
            "Content-Length": "0",
        },
    )


async def endpoint(request: Request) -> Response:
    if request.method == "OPTIONS":
        return _options()
    db: Database = request.app.state.db
    parts = _split(request.url.path.removeprefix("/dav"))
    async with db.session(write=request.method in _WRITES) as session:
        user = await _authenticate(request, db, session)
        scope = await access.scope_of(session, user.id)
        dav = Dav(request, session, user, scope)
        try:
            response: Response = await _HANDLERS[request.method](dav, parts)
        except DBAPIError as error:
            # Parallel writers of one object can meet on its two rows (the client's object,
            # the task) in either order; PostgreSQL ends one of them, which may retry.
            if getattr(error.orig, "sqlstate", None) not in _RETRYABLE:
                raise
            await session.rollback()
            raise Conflict(
                "The object was written by another request at the same time; retry.",
                code="edit_conflict",
            ) from None
        response.headers.setdefault("DAV", "1, 3, calendar-access")
        return response


async def _well_known(request: Request) -> Response:
    return RedirectResponse(ROOT, status_code=301)


def install(app: FastAPI) -> None:
    app.router.routes.extend(
        [
            Route(
                "/.well-known/caldav",
                _well_known,
                methods=["GET", "HEAD", "PROPFIND", "OPTIONS"],
                include_in_schema=False,
            ),
            Route("/dav", endpoint, methods=METHODS, include_in_schema=False),
            Route("/dav/{path:path}", endpoint, methods=METHODS, include_in_schema=False),
        ]
    )
