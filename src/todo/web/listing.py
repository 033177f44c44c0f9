"""What the task list shows: a filter, a sort and a page, all kept in the URL."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from sqlmodel.ext.asyncio.session import AsyncSession

from todo.core.ids import parse_row_id
from todo.lists.access import Scope
from todo.tasks import service as tasks
from todo.tasks.query import RELEVANCE, TaskQuery, decode_cursor, search_terms
from todo.tasks.schemas import SortKey, SortOrder, StatusFilter

# A full page stays under 110 KB with every script and style it loads.
PAGE_SIZE = 25
# A list drawn again (live, or back in the tab) keeps the pages Load more had added, up to
# this many: ?pages=N asks for the first N pages at once.
MAX_PAGES = 8

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
    "manual": ("My order", "manual", "asc"),
}
_DEFAULT_FILTER = "all"
_DEFAULT_SORT = "newest"


# Views of the sidebar besides "all", lists and tags: ?view=<name>
SCOPES = {
    "today": "Today",
    "upcoming": "Upcoming",
    "assigned": "Assigned to me",
    "inbox": "Inbox",
    "completed": "Completed",
}
UPCOMING_DAYS = 7
SEARCH_MAX = 200


def _number(raw: str | None) -> int | None:
    return parse_row_id(raw) if raw else None


def pages_of(raw: str | None) -> int:
    """1 to MAX_PAGES; anything else is one page, like any unknown value of the URL."""
    if raw is None or not raw.isascii() or not raw.isdigit():
        return 1
    return min(max(int(raw), 1), MAX_PAGES)


@dataclass(frozen=True)
class ListView:
    show: str = _DEFAULT_FILTER
    sort: str = _DEFAULT_SORT
    cursor: str | None = None
    scope: str | None = None
    list_id: int | None = None
    tag_id: int | None = None
    q: str | None = None
    # False when the URL chose no sort: a list is then shown in the order last chosen for it.
    sort_given: bool = True
    # How many pages are drawn from the start (see MAX_PAGES); never part of view.url().
    pages: int = 1

    @classmethod
    def parse(
        cls,
        show: str | None,
        sort: str | None,
        cursor: str | None = None,
        *,
        scope: str | None = None,
        list_id: str | None = None,
        tag_id: str | None = None,
        q: str | None = None,
        pages: str | None = None,
    ) -> ListView:
        """Unknown values fall back to the defaults: an old bookmark still opens the list."""
        return cls(
            show=show if show in FILTERS else _DEFAULT_FILTER,
            sort=sort if sort in SORTS else _DEFAULT_SORT,
            sort_given=sort in SORTS,
            cursor=cursor or None,
            scope=scope if scope in SCOPES else None,
            list_id=_number(list_id),
            tag_id=_number(tag_id),
            q=" ".join(q.split())[:SEARCH_MAX] if q and q.strip() else None,
            pages=pages_of(pages),
        )

    @classmethod
    def from_url(cls, url: str | None) -> ListView:
        query = parse_qs(urlsplit(url or "/").query)

        def first(name: str) -> str | None:
            return query.get(name, [None])[0]

        return cls.parse(
            first("filter"),
            first("sort"),
            scope=first("view"),
            list_id=first("list"),
            tag_id=first("tag"),
            q=first("q"),
        )

    @property
    def one_list(self) -> bool:
        return self.scope == "inbox" or self.list_id is not None

    @property
    def in_own_order(self) -> bool:
        """One list shown in the order its owner gave it: its rows carry a grip to drag."""
        return self.one_list and self.sort == "manual" and not self.q

    @property
    def nests(self) -> bool:
        """Subtasks shown under their parents: everywhere but a search, a tag and the views
        of dates or completions, which show the tasks they find as a flat list."""
        return not self.q and self.tag_id is None and not self.fixed_order

    @property
    def reorderable(self) -> bool:
        """Rows can be dragged in a list in its own order shown from its first page, where
        the rows above each one are all there (Load more appends to that page)."""
        return self.in_own_order and self.cursor is None

    @property
    def filter_choices(self) -> tuple[str, ...]:
        """The filters that mean something here: Today, Upcoming and Completed are fixed to
        open or completed tasks, so offering the others would only mislead."""
        if self.scope in ("today", "upcoming"):
            return ("active",)
        if self.scope == "completed":
            return ("completed",)
        return tuple(FILTERS)

    @property
    def shown_filter(self) -> str:
        choices = self.filter_choices
        return self.show if self.show in choices else choices[0]

    def shows(self, *, completed: bool) -> bool:
        """Whether a task in this state still belongs in the view, by status alone."""
        wanted = FILTERS[self.shown_filter][1]
        return wanted == "all" or (wanted == "completed") == completed

    @property
    def fixed_order(self) -> bool:
        """Today, Upcoming and Completed have an order of their own."""
        return self.scope in ("today", "upcoming", "completed")

    def query(
        self,
        *,
        today: date,
        list_id: int | None = None,
        tag: str | None = None,
        user_id: str | None = None,
    ) -> TaskQuery:
        """What the task service is asked for; list_id and tag are already the owner's."""
        _, chosen, order = SORTS[self.sort]
        sort: str = chosen
        status = FILTERS[self.show][1]
        bounds: dict[str, Any] = {}
        if self.scope == "today":
            status, sort, order, bounds = "pending", "due_date", "asc", {"due_to": today}
        elif self.scope == "upcoming":
            status, sort, order = "pending", "due_date", "asc"
            bounds = {"due_from": today, "due_to": today + timedelta(days=UPCOMING_DAYS - 1)}
        elif self.scope == "completed":
            status, sort, order = "completed", "completed", "desc"
        elif self.scope == "assigned" and user_id is not None:
            # In any list shared with the person, or their own: the tasks given to them.
            bounds = {"assignee_id": user_id}
        terms = search_terms(self.q)
        if terms:
            # A search lists the best matches first, whatever the view's own order.
            sort, order = RELEVANCE, "desc"
        after = decode_cursor(self.cursor, sort=sort, order=order) if self.cursor else None
        return TaskQuery(
            status=status,
            sort=sort,
            order=order,
            limit=PAGE_SIZE * (self.pages if after is None else 1),
            after=after,
            list_id=list_id,
            tags=(tag,) if tag else (),
            q=self.q if terms else None,
            search_terms=terms,
            parent="none" if self.nests else None,
            **bounds,
        )

    def url(self, **changes: Any) -> str:
        view = replace(self, **changes)
        params = {
            name: value
            for name, value, default in (
                ("view", view.scope, None),
                ("list", view.list_id, None),
                ("tag", view.tag_id, None),
                ("q", view.q, None),
                ("filter", view.show, _DEFAULT_FILTER),
                ("sort", view.sort, _DEFAULT_SORT),
                ("cursor", view.cursor, None),
            )
            if value != default
        }
        return "/" + (f"?{urlencode(params)}" if params else "")

    def place(self, **where: Any) -> str:
        """The URL of another view of the sidebar, from its first page."""
        base = ListView()
        return base.url(**where)


@dataclass(frozen=True)
class Counts:
    active: int
    completed: int

    @property
    def all(self) -> int:
        return self.active + self.completed

    def of(self, show: str) -> int:
        return {"all": self.all, "active": self.active, "completed": self.completed}[show]


async def count_tasks(session: AsyncSession, scope: Scope) -> Counts:
    found = await tasks.count_tasks(session, scope)
    return Counts(active=found.open, completed=found.completed)


async def count_view(session: AsyncSession, scope: Scope, query: TaskQuery) -> Counts:
    """The counts of what a view shows (its list, tag, day or search), by status."""
    found = await tasks.count_matching(session, scope, query)
    return Counts(active=found.open, completed=found.completed)
