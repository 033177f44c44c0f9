"""Filtering, searching, sorting and keyset pagination of task lists.

A page ends at a (sort value, id) pair; the next page starts strictly after it, so a page
deep in the list costs what the first one does (no OFFSET scan) and ties never repeat or
skip a row. Undated (and uncompleted, for the completion sort) tasks sort last in both
directions.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Date,
    Float,
    String,
    and_,
    bindparam,
    case,
    column,
    exists,
    func,
    literal_column,
    or_,
    table,
    text,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import BindParameter, UnaryExpression
from sqlalchemy.sql.functions import count
from sqlmodel import col, select
from sqlmodel.sql.expression import Select

from todo.core.errors import BadRequest
from todo.core.ids import ID_MAX
from todo.core.schemas import instant_in_range, text_problem
from todo.lists.access import Scope
from todo.tags.models import Tag, TaskTag
from todo.tasks.models import Task
from todo.tasks.schemas import (
    PRIORITIES,
    TRASH_DAYS,
    DueFilter,
    SortKey,
    SortOrder,
    StatusFilter,
)

_COLUMNS: dict[str, Any] = {
    "created": Task.created_at,
    "updated": Task.updated_at,
    "title": Task.title,
    "due_date": Task.due_date,
    "priority": Task.priority,
    "manual": Task.position,
    "completed": Task.completed_at,
    # The trash's own order (newest deletion first); the task list does not offer it.
    "deleted": Task.deleted_at,
}
_NULLABLE = frozenset({"due_date", "completed"})
_DATES = frozenset({"due_date"})
_INSTANTS = frozenset({"created", "updated", "completed", "deleted"})
_TEXTS = frozenset({"title", "manual"})
# The types values are bound with: the columns' own, so that SQLite stores and compares
# instants as the UTC type writes them.
_INSTANT = Task.__table__.c.created_at.type  # type: ignore[attr-defined]
_ID = Task.__table__.c.id.type  # type: ignore[attr-defined]
RELEVANCE = "relevance"
# SQLite's FTS5 index over title, description and the owner's id (the migrations make it).
_FTS = table("tasks_fts", column("rowid"))
_WORD = re.compile(r"\w+", re.UNICODE)
# What FTS5's unicode61 tokenizer keeps of an id: runs of letters and digits.
_OWNER_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
MAX_SEARCH_WORDS = 10
# A search by relevance ranks at most this many of the caller's matching tasks, those the
# engine's index finds first (SQLite: the newest; PostgreSQL: the first the bitmap scan of
# the full-text index reaches, in the table's physical order, mostly the oldest), so its
# cost does not grow with how many tasks match: ranking every match cost a user of 100,000
# tasks 200 to 400 times what it costs a user of 1,000 (issue 11). The pages of one search
# go through the same candidates; a search that matches more needs more words.
SEARCH_CANDIDATES = 200


@dataclass(frozen=True)
class TaskQuery:
    status: StatusFilter = "all"
    sort: SortKey | str = "created"
    order: SortOrder = "asc"
    limit: int = 100
    after: tuple[Any, int] | None = None
    list_id: int | None = None
    tags: tuple[str, ...] = ()
    priorities: tuple[int, ...] = ()
    due: DueFilter | None = None
    due_from: date | None = None
    due_to: date | None = None
    completed_from: datetime | None = None
    completed_to: datetime | None = None
    q: str | None = None
    # The owner's "today" and "now", for the relative due filters.
    today: date | None = None
    now: datetime | None = None
    search_terms: tuple[str, ...] = field(default=())
    # The trash instead of the live tasks: those deleted less than TRASH_DAYS before `now`.
    trash: bool = False
    # Tasks assigned to this user; or, with `unassigned`, to nobody.
    assignee_id: str | None = None
    unassigned: bool = False
    # Subtasks of this task only, or with "none" top-level tasks only.
    parent: int | str | None = None


ASSIGNEE_ME = "me"
ASSIGNEE_NONE = "none"


def assignee_filter(value: str | None, user_id: str) -> dict[str, Any]:
    """The TaskQuery fields of an `assignee` parameter: me, none or a user id."""
    if value is None:
        return {}
    if value == ASSIGNEE_NONE:
        return {"unassigned": True}
    return {"assignee_id": user_id if value == ASSIGNEE_ME else value}


@dataclass(frozen=True)
class Page:
    items: list[Task]
    next_cursor: str | None


@dataclass(frozen=True)
class RowPage:
    """A page as plain rows (column name to value, plus `tags`: the tag names)."""

    items: list[dict[str, Any]]
    next_cursor: str | None


_TASK_COLUMNS = tuple(Task.__table__.columns)  # type: ignore[attr-defined]


def build_rows(
    query: TaskQuery, scope: Scope, dialect: str, *, bound: bool = False
) -> Select[Any, Any]:
    """What `build` selects, as the task's columns instead of a Task object. `bound`: the
    caller's scope as named parameters too (`Scope.visible_bound`), for a hot statement
    compiled once per shape (tasks/hot.py) and given `parameters()` on every request."""
    values = parameters(query, scope, dialect)
    key = sort_expression(query, dialect, values)
    # sqlmodel's select() has no signature for a column list; two entities give its
    # row-returning Select class, whose columns are then swapped before anything else.
    sort_value = key.label("sort_value")
    columns = select(Task, sort_value).with_only_columns(*_TASK_COLUMNS, sort_value)
    visible = _visible(scope, bound)
    if _bounded(query):
        candidates = _candidates(
            cast("Select[Any, Any]", columns), query, scope, dialect, values, visible
        )
        ranked = cast("Select[Any, Any]", select(*candidates.c))
        return _ranked_page(ranked, candidates, query, values)
    return _page(cast("Select[Any, Any]", columns), key, query, scope, dialect, values, visible)


def _visible(scope: Scope, bound: bool) -> ColumnElement[bool]:
    owner, list_id = col(Task.user_id), col(Task.list_id)
    if bound:
        return Scope.visible_bound(scope.bound()[0], owner, list_id)
    return scope.visible(owner, list_id)


def parameters(query: TaskQuery, scope: Scope, dialect: str) -> dict[str, Any]:
    """Every value of a query's statement, by the name it is bound with: the statements
    below take their values from here, so a hot statement compiled for one request runs
    any request of the same `shape` with that request's parameters."""
    values: dict[str, Any] = dict(scope.bound()[1])
    values["row_limit"] = query.limit + 1
    if query.list_id is not None:
        values["list_id"] = query.list_id
    if query.parent is not None and query.parent != "none":
        values["parent"] = query.parent
    for index, tag in enumerate(query.tags):
        values[f"tag_{index}"] = tag.lower()
    for index, priority in enumerate(query.priorities):
        values[f"priority_{index}"] = priority
    if query.assignee_id is not None:
        values["assignee"] = query.assignee_id
    if query.today is not None:
        values["today"] = query.today
        values["week_end"] = query.today + timedelta(days=7)
    for name in ("now", "due_from", "due_to", "completed_from", "completed_to"):
        if getattr(query, name) is not None:
            values[name] = getattr(query, name)
    if query.trash:
        assert query.now is not None, "the trash is relative to a moment"
        values["trash_from"] = query.now - timedelta(days=TRASH_DAYS)
    if query.after is not None:
        values["after_value"], values["after_id"] = query.after
    if query.search_terms:
        terms = query.search_terms
        if dialect == "postgresql":
            values["ts_query"] = " & ".join(f"{t}:*" for t in terms)
        else:
            # The SQLite index narrows by one owner only: with shared lists, by none.
            values["fts_query"] = _fts_match(terms, "" if scope.shared else scope.user_id)
            for index, term in enumerate(terms):
                values[f"term_{index}"] = term
    return values


def shape(query: TaskQuery, scope: Scope) -> tuple[Any, ...]:
    """What decides a query's statement, values aside: the key of its compiled form."""
    after = None if query.after is None else query.after[0] is None
    parent = None if query.parent is None else query.parent == "none"
    return (
        query.status,
        query.sort,
        query.order,
        after,
        query.list_id is not None,
        parent,
        len(query.tags),
        len(query.priorities),
        query.unassigned,
        query.assignee_id is not None,
        query.due,
        query.today is not None,
        query.now is not None,
        query.due_from is not None,
        query.due_to is not None,
        query.completed_from is not None,
        query.completed_to is not None,
        len(query.search_terms),
        query.trash,
        scope.bound()[0],
    )


def _bind(values: dict[str, Any], name: str, type_: Any = None) -> BindParameter[Any]:
    return bindparam(name, values.get(name), type_=type_)


def _bounded(query: TaskQuery) -> bool:
    return query.sort == RELEVANCE and bool(query.search_terms)


def _candidates(
    columns: Select[Any, Any],
    query: TaskQuery,
    scope: Scope,
    dialect: str,
    values: dict[str, Any],
    visible: ColumnElement[bool],
) -> Any:
    """The tasks a search ranks: its first SEARCH_CANDIDATES matches, with their score."""
    statement = _matching(columns, query, scope, dialect, values, visible)
    if dialect != "postgresql":
        # FTS5 walks its postings newest first by itself: no sort, and the newest matches.
        statement = statement.order_by(_FTS.c.rowid.desc())
    return statement.limit(SEARCH_CANDIDATES).subquery("candidates")


def _ranked_page(
    ranked: Select[Any, Any], candidates: Any, query: TaskQuery, values: dict[str, Any]
) -> Select[Any, Any]:
    key, ident = candidates.c.sort_value, candidates.c.id
    if query.after is not None:
        ranked = ranked.where(_after(query, key, values, ident))
    return ranked.order_by(*_order_by(query, key, ident)).limit(_bind(values, "row_limit"))


def tag_names(scope: Scope, task_ids: list[int]) -> Select[Any, Any]:
    """(task id, tag name) for each tag of these tasks."""
    # One expanding parameter for the list, rather than a coerced literal per id.
    ids: BindParameter[list[int]] = bindparam("task_ids", value=task_ids, expanding=True)
    # Owned through the tag (a task's tags are its owner's): with task_tags.user_id in the
    # WHERE, PostgreSQL's generic plan for the prepared statement scanned all of the user's
    # tagged tasks by that index instead of looking up these 50 by key (150 ms a page for a
    # user of 100,000 tasks; tests/tasks/test_query_plans.py). A shared task's tags are its
    # owner's: with shared lists, the ids (already scoped) alone pick the rows.
    statement = (
        select(col(TaskTag.task_id), col(Tag.name))
        .join(Tag, col(Tag.id) == col(TaskTag.tag_id))
        .where(col(TaskTag.task_id).in_(ids))
    )
    if not scope.shared:
        statement = statement.where(col(Tag.user_id) == scope.user_id)
    return statement


def search_terms(q: str | None) -> tuple[str, ...]:
    """Words of a search box, lower-cased; punctuation is never passed to the engine."""
    if not q:
        return ()
    return tuple(dict.fromkeys(w.lower() for w in _WORD.findall(q)))[:MAX_SEARCH_WORDS]


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _decode_value(sort: str, raw: Any) -> Any:
    if raw is None:
        if sort not in _NULLABLE:
            raise ValueError("null sort value")
        return None
    if sort in _INSTANTS:
        value = datetime.fromisoformat(raw)
        if value.tzinfo is None:
            raise ValueError("naive timestamp")
        utc = instant_in_range(value)
        if utc is None:
            raise ValueError("instant out of range")
        return utc
    if sort in _DATES:
        return date.fromisoformat(raw)
    if sort in _TEXTS:
        if not isinstance(raw, str) or text_problem(raw) is not None:
            raise ValueError("expected text")
        return raw
    if sort == RELEVANCE:
        if not isinstance(raw, int | float) or isinstance(raw, bool):
            raise ValueError("expected a number")
        score = float(raw)
        if not math.isfinite(score):
            raise ValueError("expected a finite number")
        return score
    # A number no task can have would otherwise overflow the SMALLINT column on PostgreSQL.
    if not isinstance(raw, int) or isinstance(raw, bool) or not 0 <= raw < len(PRIORITIES):
        raise ValueError("expected a priority")
    return raw


def encode_cursor(query: TaskQuery, value: Any, last_id: int) -> str:
    payload = {"s": query.sort, "o": query.order, "v": _encode_value(value), "i": last_id}
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
        if not isinstance(task_id, int) or isinstance(task_id, bool) or not 1 <= task_id <= ID_MAX:
            raise ValueError("id must be a row id")
        return _decode_value(sort, payload["v"]), task_id
    except BadRequest:
        raise
    except (ValueError, KeyError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise BadRequest(
            "The cursor is not valid; use the one from the Link header.", code="invalid_cursor"
        ) from None


def _fts_match(terms: tuple[str, ...], user_id: str) -> str:
    match = " ".join(f'"{t}"*' for t in terms)
    # The index also holds the owner's id (migration 0005): matching it as a phrase of its
    # tokens keeps the search to the owner's postings instead of every user's. Only a
    # narrowing: ids that tokenize alike ("a-b", "a_b") are told apart by the query's own
    # tasks.user_id condition.
    owner = " ".join(_OWNER_TOKEN.findall(user_id))
    if owner:
        match = f'user_id : "{owner}" AND ({match})'
    return match


def _relevance(dialect: str, terms: tuple[str, ...], values: dict[str, Any]) -> tuple[Any, Any]:
    """The match condition and a score where higher is better, per database engine."""
    if dialect == "postgresql":
        tsquery = func.to_tsquery("simple", _bind(values, "ts_query", String))
        vector: ColumnElement[Any] = literal_column("tasks.search_vector")
        return vector.op("@@")(tsquery), func.ts_rank(vector, tsquery).cast(Float)
    match = text("tasks_fts MATCH :fts_query").bindparams(_bind(values, "fts_query", String))
    return match, _score(terms, values)


def _score(terms: tuple[str, ...], values: dict[str, Any]) -> ColumnElement[Any]:
    """SQLite's relevance: for each word, 2 when the title holds it, 1 when the description
    does (as a substring of the lower-cased text, so a word found through a diacritic or
    a non-ASCII capital may score 0 and rank last). Not FTS5's bm25: bm25 counts, for each
    phrase of the match, every row of the index holding it, the owner's phrase included,
    so it cost what the owner's task count costs (0.6 s for 100,000) whatever the LIMIT."""
    title, description = func.lower(col(Task.title)), func.lower(col(Task.description))
    score: ColumnElement[Any] = literal_column("0.0", Float)
    for index in range(len(terms)):
        term = _bind(values, f"term_{index}", String)
        score = (
            score
            + case((func.instr(title, term) > 0, 2.0), else_=0.0)
            + case((func.instr(description, term) > 0, 1.0), else_=0.0)
        )
    return score


def sort_expression(query: TaskQuery, dialect: str, values: dict[str, Any]) -> Any:
    if query.sort == RELEVANCE:
        return _relevance(dialect, query.search_terms, values)[1]
    return col(_COLUMNS[query.sort])


def build(query: TaskQuery, scope: Scope, dialect: str) -> Select[Task, Any]:
    """SELECT tasks (and the sort value) for one page, one row more than the limit."""
    values = parameters(query, scope, dialect)
    key = sort_expression(query, dialect, values)
    visible = _visible(scope, False)
    if _bounded(query):
        candidates = _candidates(
            select(Task, key.label("sort_value")), query, scope, dialect, values, visible
        )
        ranked = select(aliased(Task, candidates), candidates.c.sort_value)
        return cast("Select[Task, Any]", _ranked_page(ranked, candidates, query, values))
    return _page(select(Task, key.label("sort_value")), key, query, scope, dialect, values, visible)


def _page(
    columns: Select[Any, Any],
    key: Any,
    query: TaskQuery,
    scope: Scope,
    dialect: str,
    values: dict[str, Any],
    visible: ColumnElement[bool],
) -> Select[Any, Any]:
    """The page's conditions, order and limit on a SELECT of its columns and `key` last."""
    statement = _matching(columns, query, scope, dialect, values, visible)
    if query.after is not None:
        statement = statement.where(_after(query, key, values))
    return statement.order_by(*_order_by(query, key)).limit(_bind(values, "row_limit"))


def live() -> ColumnElement[bool]:
    """A task that is not in the trash: the condition of every query that shows tasks."""
    return col(Task.deleted_at).is_(None)


def in_trash(now: datetime | BindParameter[Any]) -> ColumnElement[bool]:
    """A task in the trash that is still restorable at `now`. One older than TRASH_DAYS is
    gone from the owner's view at once, whenever the purge gets to deleting its row."""
    deleted = col(Task.deleted_at)
    since = now - timedelta(days=TRASH_DAYS) if isinstance(now, datetime) else now
    return and_(deleted.is_not(None), deleted > since)


def _matching(
    columns: Select[Any, Any],
    query: TaskQuery,
    scope: Scope,
    dialect: str,
    values: dict[str, Any],
    visible: ColumnElement[bool],
) -> Select[Any, Any]:
    shown = in_trash(_bind(values, "trash_from", _INSTANT)) if query.trash else live()
    statement = columns.where(visible, shown)
    if query.search_terms:
        # The scope condition above decides what a match may show.
        matches, _ = _relevance(dialect, query.search_terms, values)
        if dialect != "postgresql":
            statement = statement.join(_FTS, _FTS.c.rowid == col(Task.id))
        statement = statement.where(matches)
    for condition in _filters(query, scope, values):
        statement = statement.where(condition)
    return statement


def build_counts(query: TaskQuery, scope: Scope, dialect: str) -> Select[Any, Any]:
    """How many tasks a query finds, open and completed: all of its conditions but status."""
    every = replace(query, status="all")
    columns = select(col(Task.completed), count())
    values = parameters(every, scope, dialect)
    matching = _matching(columns, every, scope, dialect, values, _visible(scope, False))
    return matching.group_by(col(Task.completed))


def _filters(query: TaskQuery, scope: Scope, values: dict[str, Any]) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.status != "all":
        conditions.append(col(Task.completed) == (query.status == "completed"))
    if query.list_id is not None:
        conditions.append(col(Task.list_id) == _bind(values, "list_id", _ID))
    if query.parent == "none":
        conditions.append(col(Task.parent_id).is_(None))
    elif query.parent is not None:
        conditions.append(col(Task.parent_id) == _bind(values, "parent", _ID))
    # A task's tags are its owner's: a shared task matches a tag of the same name.
    owner: Any = col(Task.user_id) if scope.shared else _bind(values, "scope_user", String)
    for index in range(len(query.tags)):
        conditions.append(
            exists()
            .where(col(TaskTag.task_id) == col(Task.id))
            .where(col(TaskTag.user_id) == owner)
            .where(col(TaskTag.tag_id) == col(Tag.id))
            .where(col(Tag.user_id) == owner, col(Tag.key) == _bind(values, f"tag_{index}"))
        )
    if query.priorities:
        priorities = [_bind(values, f"priority_{i}") for i in range(len(query.priorities))]
        conditions.append(col(Task.priority).in_(priorities))
    if query.unassigned:
        conditions.append(col(Task.assignee_id).is_(None))
    elif query.assignee_id is not None:
        conditions.append(col(Task.assignee_id) == _bind(values, "assignee", String))
    due = col(Task.due_date)
    if query.due is not None and query.today is not None:
        today = _bind(values, "today", Date)
        if query.due == "overdue":
            late = due < today
            if query.now is not None:
                late = or_(late, col(Task.due_at) < _bind(values, "now", _INSTANT))
            conditions.append(late)
        elif query.due == "today":
            conditions.append(due == today)
        elif query.due == "week":
            conditions.append(and_(due >= today, due < _bind(values, "week_end", Date)))
        elif query.due == "none":
            conditions.append(due.is_(None))
        else:
            conditions.append(due.is_not(None))
    if query.due_from is not None:
        conditions.append(due >= _bind(values, "due_from", Date))
    if query.due_to is not None:
        conditions.append(due <= _bind(values, "due_to", Date))
    completed_at = col(Task.completed_at)
    if query.completed_from is not None:
        conditions.append(completed_at >= _bind(values, "completed_from", _INSTANT))
    if query.completed_to is not None:
        conditions.append(completed_at <= _bind(values, "completed_to", _INSTANT))
    return conditions


def _descending(query: TaskQuery) -> bool:
    return query.order == "desc"


def _order_by(query: TaskQuery, key: Any, ident: Any = None) -> list[UnaryExpression[Any]]:
    first = key.desc() if _descending(query) else key.asc()
    if query.sort in _NULLABLE:
        # NULLS LAST is also the order of an ascending B-tree on PostgreSQL, so the
        # (user_id, due_date, id) index delivers rows already sorted.
        first = first.nulls_last()
    ident = col(Task.id) if ident is None else ident
    return [first, ident.desc() if _descending(query) else ident.asc()]


def _after(
    query: TaskQuery, key: Any, values: dict[str, Any], ident: Any = None
) -> ColumnElement[bool]:
    assert query.after is not None
    ident = col(Task.id) if ident is None else ident
    last_id = _bind(values, "after_id", ident.type)
    descending = _descending(query)

    def later(a: Any, b: Any) -> ColumnElement[bool]:
        return a < b if descending else a > b  # type: ignore[no-any-return]

    if query.after[0] is None:
        # Only rows without a value remain after one without a value.
        return and_(key.is_(None), later(ident, last_id))
    value = _bind(values, "after_value", key.type)
    # Written out rather than as a row value so that each side binds with its column's
    # type (UTC handling on SQLite) and collation; the leading inclusive bound gives the
    # index a range to start from instead of a filter over the user's every row.
    bound = key <= value if descending else key >= value
    after_value = and_(bound, or_(later(key, value), and_(key == value, later(ident, last_id))))
    if query.sort in _NULLABLE:
        return or_(after_value, key.is_(None))
    return after_value


def row_page_from(rows: list[Any], names: dict[int, list[str]], query: TaskQuery) -> RowPage:
    page = rows[: query.limit]
    keys = page[0]._fields if page else ()
    items = []
    for row in page:
        item = dict(zip(keys, row, strict=True))
        item["tags"] = names.get(row.id, [])
        items.append(item)
    if len(rows) <= query.limit:
        return RowPage(items=items, next_cursor=None)
    last = rows[query.limit - 1]
    return RowPage(items=items, next_cursor=encode_cursor(query, last.sort_value, last.id))


def page_from(rows: list[tuple[Task, Any]], query: TaskQuery) -> Page:
    items = [task for task, _ in rows[: query.limit]]
    if len(rows) <= query.limit:
        return Page(items=items, next_cursor=None)
    last_task, last_value = rows[query.limit - 1]
    assert last_task.id is not None
    return Page(items=items, next_cursor=encode_cursor(query, last_value, last_task.id))


# A bound on the walk up or down a tree: deeper than any tree may be (SUBTASK_DEPTH), so a
# walk ends even over rows written before the checks held.
_TREE_WALK = 16


def subtree(user_id: str, root_id: int, *, trashed_at: datetime | None = None) -> Any:
    """(id, depth) of the tasks below `root_id`, children at depth 1: the live ones, or with
    `trashed_at` those that went to the trash at that moment (with their parent)."""
    tasks = Task.__table__  # type: ignore[attr-defined]

    def shown(table: Any) -> ColumnElement[bool]:
        if trashed_at is None:
            return table.c.deleted_at.is_(None)  # type: ignore[no-any-return]
        return table.c.deleted_at == trashed_at  # type: ignore[no-any-return]

    start = (
        select(tasks.c.id, literal_column("1").label("depth"))
        .where(tasks.c.user_id == user_id, tasks.c.parent_id == root_id, shown(tasks))
        .cte("subtree", recursive=True)
    )
    below = tasks.alias("below")
    walked = start.union_all(
        select(below.c.id, (start.c.depth + 1).label("depth")).where(
            below.c.user_id == user_id,
            below.c.parent_id == start.c.id,
            shown(below),
            start.c.depth < _TREE_WALK,
        )
    )
    return select(walked.c.id, walked.c.depth).order_by(walked.c.depth)


def ancestors(user_id: str, task_id: int) -> Any:
    """The ids from `task_id` up to its top-level task, `task_id` first."""
    tasks = Task.__table__  # type: ignore[attr-defined]
    start = (
        select(tasks.c.id, tasks.c.parent_id, literal_column("0").label("up"))
        .where(tasks.c.user_id == user_id, tasks.c.id == task_id)
        .cte("chain", recursive=True)
    )
    above = tasks.alias("above")
    walked = start.union_all(
        select(above.c.id, above.c.parent_id, (start.c.up + 1).label("up")).where(
            above.c.user_id == user_id, above.c.id == start.c.parent_id, start.c.up < _TREE_WALK
        )
    )
    return select(walked.c.id).order_by(walked.c.up)


def child_counts(owners: list[str], parent_ids: list[int]) -> Any:
    """(parent id, open children, all children) for these tasks, trashed children left out:
    one grouped query for a page, by the (user_id, parent_id) index."""
    ids: BindParameter[list[int]] = bindparam("parent_ids", value=parent_ids, expanding=True)
    who: BindParameter[list[str]] = bindparam("owners", value=owners, expanding=True)
    parent = col(Task.parent_id)
    open_ = func.sum(case((col(Task.completed).is_(False), 1), else_=0))
    return (
        select(parent, open_, count())
        .where(col(Task.user_id).in_(who), parent.in_(ids), live())
        .group_by(parent)
    )
