"""What the task list shows: a filter, a sort and a page, all kept in the URL."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from todo.tasks.models import Task
from todo.tasks.query import TaskQuery, decode_cursor
from todo.tasks.schemas import SortKey, SortOrder, StatusFilter

# A full page stays under 100 KB with every script and style it loads.
PAGE_SIZE = 25

# name in the URL -> (label, status filter of the task service)
FILTERS: dict[str, tuple[str, StatusFilter]] = {
    "all": ("All", "all"),
    "active": ("Active", "pending"),
    "completed": ("Completed", "completed"),
}
# name in the URL -> (label, sort key, order)
SORTS: dict[str, tuple[str, SortKey, SortOrder]] = {
    "newest": ("Newest first", "created", "desc"),
    "oldest": ("Oldest first", "created", "asc"),
    "updated": ("Recently changed", "updated", "desc"),
    "title": ("Alphabetical", "title", "asc"),
}
_DEFAULT_FILTER = "all"
_DEFAULT_SORT = "newest"


@dataclass(frozen=True)
class ListView:
    show: str = _DEFAULT_FILTER
    sort: str = _DEFAULT_SORT
    cursor: str | None = None

    @classmethod
    def parse(cls, show: str | None, sort: str | None, cursor: str | None = None) -> ListView:
        """Unknown values fall back to the defaults: an old bookmark still opens the list."""
        return cls(
            show=show if show in FILTERS else _DEFAULT_FILTER,
            sort=sort if sort in SORTS else _DEFAULT_SORT,
            cursor=cursor or None,
        )

    @classmethod
    def from_url(cls, url: str | None) -> ListView:
        query = parse_qs(urlsplit(url or "/").query)
        return cls.parse(query.get("filter", [None])[0], query.get("sort", [None])[0])

    def query(self) -> TaskQuery:
        _, sort, order = SORTS[self.sort]
        after = decode_cursor(self.cursor, sort=sort, order=order) if self.cursor else None
        return TaskQuery(
            status=FILTERS[self.show][1], sort=sort, order=order, limit=PAGE_SIZE, after=after
        )

    def url(self, **changes: Any) -> str:
        view = replace(self, **changes)
        params = {
            name: value
            for name, value, default in (
                ("filter", view.show, _DEFAULT_FILTER),
                ("sort", view.sort, _DEFAULT_SORT),
                ("cursor", view.cursor, None),
            )
            if value != default
        }
        return "/" + (f"?{urlencode(params)}" if params else "")


@dataclass(frozen=True)
class Counts:
    active: int
    completed: int

    @property
    def all(self) -> int:
        return self.active + self.completed

    def of(self, show: str) -> int:
        return {"all": self.all, "active": self.active, "completed": self.completed}[show]


async def count_tasks(session: AsyncSession, user_id: str) -> Counts:
    """Open and completed tasks of one owner.

    This belongs in the task service, which has no count yet; it reads nothing but counts,
    scoped by owner like every task query."""
    result = await session.exec(
        select(col(Task.completed), func.count())
        .where(col(Task.user_id) == user_id)
        .group_by(col(Task.completed))
    )
    counts = dict(result.all())
    return Counts(active=counts.get(False, 0), completed=counts.get(True, 0))
