"""iCalendar in the browser app: a list (or everything) downloaded as .ics, a file uploaded
into a list with its per-task report, and the account's secret calendar feeds.

The pages call the caldav services the API calls, with the session's scope, so a page and
the API export, import and publish the same things under the same access rules.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.responses import Response

from todo.caldav import feeds, files
from todo.caldav.schemas import (
    ICS_MEDIA_TYPE,
    IMPORT_ITEMS_MAX,
    IMPORT_PART_BYTES,
    FeedCreate,
    ImportReport,
)
from todo.core.deps import SessionDep
from todo.core.errors import AppError, Conflict, NotFound
from todo.core.ids import ID_MAX
from todo.lists import access
from todo.lists.access import Role
from todo.lists.models import TaskList
from todo.web.accounts import FEED_COMPONENTS, account_page
from todo.web.common import LABELS, clock_of, flash_and_redirect, web_router
from todo.web.deps import Me
from todo.web.forms import FieldErrors, field_errors, read_form
from todo.web.listing import ListView
from todo.web.render import render

router = web_router()

# The upload form takes a file as large as one part the CLI sends, which keeps it and the
# form's other fields under the request body limit.
UPLOAD_BYTES_MAX = IMPORT_PART_BYTES
# How a browser may label an .ics file it uploads: by its suffix most send text/calendar,
# some (without a MIME registry entry) a generic type.
_GENERIC_TYPES = {"", "application/octet-stream", "text/plain", "application/ics"}


def _file_name(name: str | None, fallback: str) -> str:
    """A Content-Disposition for `name`.ics: an ASCII name every browser takes, and the
    name as typed (RFC 6266 filename*) for those that read it."""
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "-", name or "").strip("-.")[:80] or fallback
    disposition = f'attachment; filename="{ascii_name}.ics"'
    if name and f"{name}.ics" != f"{ascii_name}.ics":
        disposition += f"; filename*=UTF-8''{quote(name[:80] + '.ics', safe='')}"
    return disposition


def _ics(body: bytes, disposition: str) -> Response:
    return Response(
        body,
        media_type=f"{ICS_MEDIA_TYPE}; charset=utf-8",
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )


async def _list(session: SessionDep, me: Me, list_id: int, need: Role) -> TaskList:
    if not 1 <= list_id <= ID_MAX:
        raise NotFound(f"List {list_id} was not found.", code="list_not_found")
    return await access.list_for(session, me.scope, list_id, need)


@router.get("/lists/{list_id:int}/tasks.ics")
async def download_list(session: SessionDep, me: Me, list_id: int) -> Response:
    found = await _list(session, me, list_id, Role.viewer)
    body = await files.export(session, me.scope, list_id=list_id, clock_=clock_of(me))
    return _ics(body, _file_name(found.name, f"list-{list_id}"))


@router.get("/account/tasks.ics")
async def download_everything(session: SessionDep, me: Me) -> Response:
    body = await files.export(session, me.scope, list_id=None, clock_=clock_of(me))
    return _ics(body, _file_name("todo", "todo"))


async def _import_page(
    request: Request,
    me: Me,
    found: TaskList,
    *,
    report: ImportReport | None = None,
    file_name: str = "",
    errors: FieldErrors | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "tasks/import.html",
        {
            "flash": me.flash,
            "found": found,
            "back": ListView(list_id=found.id).url(),
            "report": report,
            "file_name": file_name,
            "errors": errors or {},
            "items_max": IMPORT_ITEMS_MAX,
            "bytes_max": UPLOAD_BYTES_MAX,
        },
        status_code=status_code,
    )


@router.get("/lists/{list_id:int}/import")
async def import_form(request: Request, session: SessionDep, me: Me, list_id: int) -> Response:
    found = await _list(session, me, list_id, Role.editor)
    return await _import_page(request, me, found)


def _upload_problem(upload: UploadFile | str | None) -> str | None:
    if not isinstance(upload, UploadFile) or not upload.filename:
        return "Choose an .ics file to import."
    media = (upload.content_type or "").split(";")[0].strip().lower()
    suffix_ok = upload.filename.lower().endswith((".ics", ".ical", ".ifb", ".icalendar"))
    if media != ICS_MEDIA_TYPE and not (media in _GENERIC_TYPES and suffix_ok):
        return f"Choose an iCalendar (.ics) file; {upload.filename} is {media or 'of no type'}."
    return None


@router.post("/lists/{list_id:int}/import")
async def import_file(request: Request, session: SessionDep, me: Me, list_id: int) -> Response:
    """Each task of the uploaded file into the list, reported one by one; a file that is not
    iCalendar at all, too large or of too many tasks is refused whole, next to the field."""
    found = await _list(session, me, list_id, Role.editor)
    fields = await read_form(request)
    upload = (await request.form()).get("file")
    problem = _upload_problem(upload)
    name = (upload.filename or "") if isinstance(upload, UploadFile) else ""
    if problem is None:
        assert isinstance(upload, UploadFile)
        body = await upload.read(UPLOAD_BYTES_MAX + 1)
        if len(body) > UPLOAD_BYTES_MAX:
            problem = (
                f"The file is larger than {UPLOAD_BYTES_MAX // 1024} KiB: import it in parts "
                "with `todo import-tasks`, which splits it."
            )
    if problem is not None:
        return await _import_page(
            request, me, found, file_name=name, errors={"file": problem}, status_code=422
        )
    try:
        report = await files.import_file(
            session,
            me.scope,
            list_id,
            body,
            media_type=ICS_MEDIA_TYPE,
            clock_=clock_of(me),
            dry_run=fields.get("dry_run") == "yes",
        )
    except AppError as error:
        if error.code not in ("bad_ics", "too_many_tasks"):
            raise
        return await _import_page(
            request, me, found, file_name=name, errors={"file": error.detail}, status_code=422
        )
    return await _import_page(request, me, found, report=report, file_name=name)


def feed_address(request: Request, key: str, component: str) -> str:
    url = str(request.url_for("read_feed", secret=key))
    return url if component == "VEVENT" else f"{url}?component={component}"


@router.post("/account/feeds")
async def create_feed(request: Request, session: SessionDep, me: Me) -> Response:
    """A new feed, its address shown on the page this once (the answer is the page, as for
    tokens, so the secret is never kept for a later page)."""
    form = await read_form(request)
    values = {
        "feed_name": form.get("feed_name", ""),
        "feed_list": form.get("feed_list", ""),
        "feed_component": form.get("feed_component", "VEVENT"),
    }
    errors: FieldErrors = {}
    component = values["feed_component"]
    if component not in FEED_COMPONENTS:
        errors["feed_component"] = "Choose events or tasks."
    try:
        body = FeedCreate.model_validate(
            {"name": values["feed_name"], "list_id": values["feed_list"] or None}
        )
    except ValidationError as error:
        for field, sentence in field_errors(error, {**LABELS, "name": "Feed name"}).items():
            errors["feed_list" if field == "list_id" else "feed_name"] = (
                "Choose one of your lists, or all of them." if field == "list_id" else sentence
            )
    if not errors:
        try:
            made = await feeds.create_feed(
                session, me.user.id, name=body.name, list_id=body.list_id
            )
        except Conflict as error:
            errors["feed_name"] = error.detail
        except NotFound:
            errors["feed_list"] = "Choose one of your lists, or all of them."
        else:
            return await account_page(
                request,
                session,
                me,
                new_feed={
                    "name": made.feed.name,
                    "url": feed_address(request, made.key, component),
                },
            )
    return await account_page(request, session, me, errors=errors, values=values, status_code=422)


@router.post("/account/feeds/{feed_id:int}/delete")
async def delete_feed(session: SessionDep, me: Me, feed_id: int) -> Response:
    await feeds.delete_feed(session, me.user.id, feed_id)
    return await flash_and_redirect(
        session, me, "The feed was deleted: its address no longer works.", "/account#feeds"
    )
