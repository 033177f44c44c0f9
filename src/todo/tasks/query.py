"""Sorting and keyset pagination of task lists.

A page ends at a (sort value, id) pair; the next page starts strictly after it, so a page
deep in the list costs what the first one does (no OFFSET scan) and ties never repeat or
skip a row. Undated tasks sort last in both directions.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.sql.elements import UnaryExpression
from sqlmodel import col

from todo.core.errors import BadRequest
from todo.tasks.models import Task
from todo.tasks.schemas import SortKey, SortOrder, StatusFilter

_COLUMNS: dict[str, Any] = {
    "created": Task.created_at,
    "updated": Task.updated_at,
    "title": Task.title,
    "due_date": Task.due_date,
}
_NULLABLE = frozenset({"due_date"})


@dataclass(frozen=True)
class TaskQuery:
    status: StatusFilter = "all"
    sort: SortKey = "created"
    order: SortOrder = "asc"
    limit: int = 100
    after: tuple[Any, int] | None = None


@dataclass(frozen=True)
class Page:
    items: list[Task]
    next_cursor: str | None


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _decode_value(sort: str, raw: Any) -> Any:
    if raw is None:
        if sort not in _NULLABLE:
            raise ValueError("null sort value")
        return None
    if sort in {"created", "updated"}:
        value = datetime.fromisoformat(raw)
        if value.tzinfo is None:
            raise ValueError("naive timestamp")
        return value
    if sort == "due_date":
        return date.fromisoformat(raw)
    if not isinstance(raw, str):
        raise ValueError("title must be text")
    return raw


def encode_cursor(query: TaskQuery, last: Task) -> str:
    value = getattr(last, _COLUMNS[query.sort].key)
    payload = {"s": query.sort, "o": query.order, "v": _encode_value(value), "i": last.id}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, *, sort: str, order: str) -> tuple[Any, int]:
    """The (value, id) the previous page ended at; BadRequest when it cannot be one."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if payload["s"] != sort or payload["o"] != order:
            raise BadRequest(
                "This cursor belongs to another sort order; start again without a cursor.",
                code="cursor_mismatch",
            )
        task_id = payload["i"]
        if not isinstance(task_id, int) or isinstance(task_id, bool):
            raise ValueError("id must be an integer")
        return _decode_value(sort, payload["v"]), task_id
    except BadRequest:
        raise
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise BadRequest(
            "The cursor is not valid; use the one from the Link header.", code="invalid_cursor"
        ) from None


def order_by(query: TaskQuery) -> list[UnaryExpression[Any] | ColumnElement[Any]]:
    keys: list[UnaryExpression[Any] | ColumnElement[Any]] = []
    column = col(_COLUMNS[query.sort])
    if query.sort in _NULLABLE:
        keys.append(column.is_(None))
    for key in (column, col(Task.id)):
        keys.append(key.asc() if query.order == "asc" else key.desc())
    return keys


def keyset_condition(query: TaskQuery) -> ColumnElement[bool]:
    assert query.after is not None
    value, last_id = query.after
    column = col(_COLUMNS[query.sort])
    ident = col(Task.id)
    ascending = query.order == "asc"

    def later(a: Any, b: Any) -> ColumnElement[bool]:
        return a > b if ascending else a < b  # type: ignore[no-any-return]

    if value is None:
        # Only undated rows remain after an undated one.
        return and_(column.is_(None), later(ident, last_id))
    # Written out rather than as a row value so that each side binds with its column's
    # type (UTC handling on SQLite) and collation; the leading inclusive bound gives the
    # index a range to start from instead of a filter over the user's every row.
    bound = column >= value if ascending else column <= value
    after_value = and_(
        bound, or_(later(column, value), and_(column == value, later(ident, last_id)))
    )
    if query.sort in _NULLABLE:
        return or_(after_value, column.is_(None))
    return after_value


def page_from(rows: list[Task], query: TaskQuery) -> Page:
    if len(rows) <= query.limit:
        return Page(items=rows, next_cursor=None)
    items = rows[: query.limit]
    return Page(items=items, next_cursor=encode_cursor(query, items[-1]))
