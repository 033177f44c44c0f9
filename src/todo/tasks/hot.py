"""The hot reads of tasks (DESIGN rule 12): the list and the one task of the API, from the
driver's rows straight to the JSON bytes TaskRead writes, through core/hot.py.

The answers are TaskRead's, field for field and in its order (tests/tasks/test_hot.py holds
them to the OpenAPI document and to the ORM path's answers, on both databases).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, case, func, or_, select
from sqlalchemy.sql.functions import count

from todo.accounts import service as accounts
from todo.core import hot
from todo.lists.access import Scope
from todo.tags.models import Tag, TaskTag
from todo.tasks.models import Task
from todo.tasks.query import (
    TaskQuery,
    build_rows,
    encode_cursor,
    live,
    parameters,
    shape,
)
from todo.tasks.schemas import PRIORITIES

_TASKS = Task.__table__  # type: ignore[attr-defined]
_TASK_TAGS = TaskTag.__table__  # type: ignore[attr-defined]
_TAGS = Tag.__table__  # type: ignore[attr-defined]
# build_rows selects the table's columns in order, then the sort value.
_AT = {column.name: index for index, column in enumerate(_TASKS.columns)}
_ID, _USER, _VERSION = _AT["id"], _AT["user_id"], _AT["version"]
_ASSIGNEE = _AT["assignee_id"]
_INSTANTS = frozenset({"created", "updated", "completed"})


@dataclass(frozen=True)
class ListShape:
    """A list statement's cache key, and the request it is built from the first time."""

    key: tuple[Any, ...]
    query: TaskQuery = field(compare=False, hash=False)
    scope: Scope = field(compare=False, hash=False)


LIST = hot.Statement(lambda dialect, s: build_rows(s.query, s.scope, dialect, bound=True))


def _tag_names(dialect: str, shared: bool) -> Any:
    statement = (
        select(_TASK_TAGS.c.task_id, _TAGS.c.name)
        .join(_TAGS, _TAGS.c.id == _TASK_TAGS.c.tag_id)
        .where(hot.any_of(dialect, _TASK_TAGS.c.task_id, "task_ids"))
    )
    # As query.tag_names: owned through the tag, unless shared tasks may be on the page.
    if not shared:
        statement = statement.where(_TAGS.c.user_id == bindparam("scope_user"))
    return statement


TAG_NAMES = hot.Statement(_tag_names)


def _child_counts(dialect: str, _shape: Any) -> Any:
    parent = _TASKS.c.parent_id
    open_ = func.sum(case((_TASKS.c.completed.is_(False), 1), else_=0))
    return (
        select(parent, open_, count())
        .where(
            hot.any_of(dialect, _TASKS.c.user_id, "owners"),
            hot.any_of(dialect, parent, "parent_ids"),
            # Spelled out for the planners: the (user_id, parent_id) index is partial.
            parent.is_not(None),
            live(),
        )
        .group_by(parent)
    )


CHILD_COUNTS = hot.Statement(_child_counts)


def _one(dialect: str, shared: bool) -> Any:
    """One task with its tag names and its children counted, in one statement."""
    tasks = _TASKS
    children = _TASKS.alias("children")
    below = (
        children.c.user_id == tasks.c.user_id,
        children.c.parent_id == tasks.c.id,
        children.c.deleted_at.is_(None),
    )
    names = (
        func.array_agg(_TAGS.c.name)
        if dialect == "postgresql"
        else func.json_group_array(_TAGS.c.name)
    )
    tag_names = (
        select(names)
        .select_from(_TASK_TAGS.join(_TAGS, _TAGS.c.id == _TASK_TAGS.c.tag_id))
        .where(_TASK_TAGS.c.task_id == tasks.c.id)
        .scalar_subquery()
    )
    open_children = select(count()).where(*below, children.c.completed.is_(False))
    all_children = select(count()).where(*below)
    # As service.get_task: the caller's own, or in a list shared with them.
    visible: ColumnElement[bool] = tasks.c.user_id == bindparam("scope_user")
    if shared:
        visible = or_(visible, hot.any_of(dialect, tasks.c.list_id, "scope_lists"))
    return select(
        *tasks.columns,
        tag_names,
        open_children.scalar_subquery(),
        all_children.scalar_subquery(),
    ).where(visible, tasks.c.id == bindparam("task_id"), live())


ONE_TASK = hot.Statement(_one)


@dataclass(frozen=True)
class ListAnswer:
    body: bytes
    next_cursor: str | None


async def list_tasks(session: Any, scope: Scope, query: TaskQuery) -> ListAnswer:
    """The page of `GET /api/{user_id}/tasks` as its JSON bytes, and the next page's cursor."""
    dialect = session.get_bind().dialect.name
    key = ListShape(shape(query, scope), query, scope)
    rows = await hot.fetch(session, LIST, parameters(query, scope, dialect), key)
    page = rows[: query.limit]
    ids = [row[_ID] for row in page]
    names: dict[int, list[str]] = {}
    counted: dict[int, tuple[int, int]] = {}
    if ids:
        tag_params = {"task_ids": ids, "scope_user": scope.user_id}
        for task_id, name in await hot.fetch(session, TAG_NAMES, tag_params, bool(scope.shared)):
            names.setdefault(task_id, []).append(name)
        owners = sorted({row[_USER] for row in page})
        for parent_id, open_, total in await hot.fetch(
            session, CHILD_COUNTS, {"owners": owners, "parent_ids": ids}
        ):
            counted[parent_id] = (int(open_), int(total))
    people = await _names(session, page)
    sqlite = dialect != "postgresql"
    items = [
        _item(row, names.get(row[_ID], []), counted.get(row[_ID], (0, 0)), people, sqlite)
        for row in page
    ]
    next_cursor = None
    if len(rows) > query.limit:
        last = rows[query.limit - 1]
        next_cursor = encode_cursor(query, _sort_value(query, last[-1]), last[_ID])
    return ListAnswer(body=hot.to_json(items), next_cursor=next_cursor)


@dataclass(frozen=True)
class OneAnswer:
    body: bytes
    etag: str


async def get_task(session: Any, scope: Scope, task_id: int) -> OneAnswer | None:
    """`GET /api/{user_id}/tasks/{id}` as its JSON bytes and ETag; None when the caller
    sees no such task (missing, trashed or someone else's alike)."""
    dialect = session.get_bind().dialect.name
    params: dict[str, Any] = {"scope_user": scope.user_id, "task_id": task_id}
    if scope.shared:
        params["scope_lists"] = sorted(scope.shared)
    rows = await hot.fetch(session, ONE_TASK, params, bool(scope.shared))
    if not rows:
        return None
    row = rows[0]
    width = len(_TASKS.columns)
    tags, open_, total = row[width], row[width + 1], row[width + 2]
    sqlite = dialect != "postgresql"
    if sqlite:
        tags = json.loads(tags)
    item = _item(row, tags or [], (open_, total), await _names(session, [row]), sqlite)
    return OneAnswer(body=hot.to_json(item), etag=f'"{row[_VERSION]}"')


async def _names(session: Any, rows: Sequence[Sequence[Any]]) -> dict[str, str]:
    assigned = {row[_ASSIGNEE] for row in rows if row[_ASSIGNEE] is not None}
    return await accounts.names(session, assigned) if assigned else {}


def _instant(value: Any, sqlite: bool) -> Any:
    # SQLite holds an instant as UTC text; asyncpg gives an aware datetime in UTC.
    if value is None or not sqlite:
        return value
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _sort_value(query: TaskQuery, value: Any) -> Any:
    """The sort value as the ORM path reads it, for a cursor that encodes alike."""
    if isinstance(value, str) and query.sort in _INSTANTS:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    if isinstance(value, str) and query.sort == "due_date":
        return date.fromisoformat(value)
    return value


def _item(
    row: Sequence[Any],
    tags: list[str],
    children: tuple[int, int],
    people: dict[str, str],
    sqlite: bool,
) -> dict[str, Any]:
    """A row as TaskRead writes it, in its field order."""
    at = _AT
    assignee_id = row[at["assignee_id"]]
    return {
        "id": row[at["id"]],
        "user_id": row[at["user_id"]],
        "title": row[at["title"]],
        "description": row[at["description"]],
        "completed": bool(row[at["completed"]]),
        "completed_at": _instant(row[at["completed_at"]], sqlite),
        "created_at": _instant(row[at["created_at"]], sqlite),
        "updated_at": _instant(row[at["updated_at"]], sqlite),
        "list_id": row[at["list_id"]],
        "priority": PRIORITIES[row[at["priority"]]],
        "tags": sorted(tags, key=str.lower),
        "due_date": row[at["due_date"]],
        "due_at": _instant(row[at["due_at"]], sqlite),
        "remind_at": _instant(row[at["remind_at"]], sqlite),
        "rrule": row[at["rrule"]],
        "recurrence_mode": row[at["recurrence_mode"]],
        "series_id": row[at["series_id"]],
        "position": row[at["position"]],
        "assignee_id": assignee_id,
        "assignee": (
            {"id": assignee_id, "name": people[assignee_id]} if assignee_id in people else None
        ),
        "parent_id": row[at["parent_id"]],
        "children_open": int(children[0]),
        "children_total": int(children[1]),
    }
