"""Backup and restore: every user's data as one versioned JSON document, and back.

A backup is a copy of rows, so unlike the domains this module reads and writes the tables
directly (as the migrations do). Every column of every table that holds user data is
written, so a restore gives back the same ids, positions, versions and timestamps: ETags,
links and ordering survive the round trip. Web sessions and idempotency keys are
short-lived and are not part of a backup.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
)
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Executable,
    Integer,
    Result,
    SmallInteger,
    String,
    Table,
    insert,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.functions import count
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from todo.accounts.models import DeletedAccount, User
from todo.accounts.schemas import Email, Name, TimeZone
from todo.comments.schemas import Body
from todo.core import ordering
from todo.core.db import utcnow
from todo.core.errors import Conflict, NotFound, Unprocessable
from todo.core.ids import ID_MAX
from todo.core.schemas import NO_CONTROLS, Instant
from todo.lists.models import TaskList
from todo.lists.schemas import Color, ListName
from todo.tags.models import Tag, TaskTag
from todo.tags.schemas import TagUpdate
from todo.tasks.models import Task
from todo.tasks.schemas import (
    PRIORITIES,
    TAGS_MAX,
    Description,
    RecurrenceMode,
    RRule,
    Title,
)

FORMAT = "todo-export"
VERSION = 1


def _table(model: type[SQLModel]) -> Table:
    return SQLModel.metadata.tables[str(model.__tablename__)]


_USERS = _table(User)
# Ids of deleted Better Auth accounts: a full backup keeps them, or the first token of a
# deleted user after a restore would create the account again.
_DELETED = _table(DeletedAccount)
# In the order a restore inserts them: each after the tables it refers to.
_OWNED: dict[str, Table] = {
    "lists": _table(TaskList),
    "tags": _table(Tag),
    "tasks": _table(Task),
    "task_tags": _table(TaskTag),
}
# What else an account holds, restored after every account's own rows (members and
# comments' authors refer to other accounts): key in the backup -> table name, and whether
# its rows are the account's by user_id or by the list they belong to. Named, not
# imported: these tables are other domains' of the same layer or above (tokens and
# notification settings hold no secret in the clear, share links only the SHA-256 of
# theirs). Comments are the account's by user_id, the owner of the task they are on:
# every comment on the account's tasks, whoever wrote it (the owner reads them all on the
# task page), and none of the account's own comments on other people's lists (those go
# with that list's owner, as the tasks do).
_EXTRAS: dict[str, tuple[str, Literal["user", "list"]]] = {
    "access_tokens": ("access_tokens", "user"),
    "notification_settings": ("notification_settings", "user"),
    "list_members": ("list_members", "list"),
    "list_invitations": ("list_invitations", "list"),
    "list_links": ("list_links", "list"),
    "comments": ("comments", "user"),
}
# Another account named on a row (who did it, who is assigned, who wrote it): kept when
# that account is in the backup, else forgotten, as when that account is deleted.
_PEOPLE_COLUMNS = ("added_by", "invited_by", "created_by", "assignee_id", "author_id")
# Tables whose ids come from a sequence on PostgreSQL, which a restore must move past.
_SEQUENCED = (
    "lists",
    "tags",
    "tasks",
    "access_tokens",
    "list_invitations",
    "list_links",
    "comments",
)
_SECRET_USER_COLUMNS = ("password_hash",)


class UserExport(BaseModel):
    user: dict[str, Any]
    lists: list[dict[str, Any]]
    tags: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    task_tags: list[dict[str, Any]]
    access_tokens: list[dict[str, Any]] = []
    notification_settings: list[dict[str, Any]] = []
    list_members: list[dict[str, Any]] = Field(
        default=[], description="Who else sees this account's lists, with which role"
    )
    list_invitations: list[dict[str, Any]] = []
    list_links: list[dict[str, Any]] = Field(
        default=[], description="Links to join the lists (only their secrets' hashes)"
    )
    comments: list[dict[str, Any]] = Field(
        default=[],
        description="Every comment on this account's tasks, whoever wrote it (the account's "
        "own comments on other people's lists are in those owners' backups)",
    )


class Export(BaseModel):
    """One or more users with everything they own, as `todo export` writes it."""

    format: Literal["todo-export"] = Field(description="Always todo-export")
    version: int = Field(description="Format version; this server writes and reads 1")
    exported_at: datetime
    users: list[UserExport]
    deleted_accounts: list[dict[str, Any]] = Field(
        default=[], description="Ids of deleted accounts (full backups only)"
    )


@dataclass(frozen=True)
class Restored:
    users: int
    tasks: int


async def _execute(
    session: AsyncSession, statement: Executable, rows: list[dict[str, Any]] | None = None
) -> Result[Any]:
    # Core statements on the session's own connection: same transaction, rows as mappings.
    connection = await session.connection()
    return await connection.execute(statement, rows)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


async def _encoded(session: AsyncSession, statement: Executable) -> list[dict[str, Any]]:
    result = await _execute(session, statement)
    return [{key: _encode(value) for key, value in row.items()} for row in result.mappings()]


async def _rows(session: AsyncSession, table: Table, user_id: str) -> list[dict[str, Any]]:
    return await _encoded(
        session,
        select(table).where(table.c.user_id == user_id).order_by(*table.primary_key.columns),
    )


async def _user_export(
    session: AsyncSession, user_row: dict[str, Any], *, include_password_hash: bool
) -> dict[str, Any]:
    user = {key: _encode(value) for key, value in user_row.items()}
    if not include_password_hash:
        for column in _SECRET_USER_COLUMNS:
            user[column] = None
    owned = {name: await _rows(session, table, user["id"]) for name, table in _OWNED.items()}
    extras = {name: await _extra_rows(session, name, user["id"]) for name in _EXTRAS}
    return {"user": user, **owned, **extras}


def _extra_table(name: str) -> Table:
    return SQLModel.metadata.tables[_EXTRAS[name][0]]


async def _extra_rows(session: AsyncSession, name: str, user_id: str) -> list[dict[str, Any]]:
    table = _extra_table(name)
    if _EXTRAS[name][1] == "user":
        return await _rows(session, table, user_id)
    lists = _OWNED["lists"]
    mine = select(lists.c.id).where(lists.c.user_id == user_id)
    return await _encoded(
        session,
        select(table).where(table.c.list_id.in_(mine)).order_by(*table.primary_key.columns),
    )


def _document(
    users: list[dict[str, Any]], deleted: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": utcnow().isoformat(),
        "users": users,
    }
    if deleted is not None:
        document["deleted_accounts"] = deleted
    return document


async def export_user(
    session: AsyncSession, user_id: str, *, include_password_hash: bool = False
) -> dict[str, Any]:
    """One user's data in the backup format ("download my data").

    The password hash is left out unless asked for: a copy in someone's downloads folder
    should not be something to crack offline. An account restored without one logs in
    through a password reset or Better Auth.
    """
    found = (await _execute(session, select(_USERS).where(_USERS.c.id == user_id))).mappings()
    row = found.one_or_none()
    if row is None:
        raise NotFound("No such user.", code="user_not_found")
    export = await _user_export(session, dict(row), include_password_hash=include_password_hash)
    return _document([export])


async def export_all(session: AsyncSession) -> dict[str, Any]:
    """Every user's data, password hashes included: a full backup."""
    result = await _execute(session, select(_USERS).order_by(_USERS.c.created_at, _USERS.c.id))
    users = [dict(row) for row in result.mappings()]
    return _document(
        [await _user_export(session, row, include_password_hash=True) for row in users],
        await _encoded(session, select(_DELETED).order_by(_DELETED.c.user_id)),
    )


class InvalidBackup(Unprocessable):
    """A file that is not a backup this server can restore; `errors` names every problem."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(
            f"This is not a backup this server can restore: {len(problems)} problem(s).",
            code="invalid_backup",
            errors=[{"field": field, "reason": reason} for field, reason in problems],
        )


def _check_position(value: str) -> str:
    if not value or value[-1] == "0" or any(c not in ordering.DIGITS for c in value):
        raise ValueError("A position key is made of 0-9 and a-z and does not end in 0")
    return value


Position = Annotated[
    str, Field(max_length=ordering.MAX_KEY_LENGTH), AfterValidator(_check_position)
]
Priority = Annotated[int, Field(ge=0, le=len(PRIORITIES) - 1)]
_TAG_NAME = TagUpdate.model_fields["name"]
TagName = Annotated[str, *_TAG_NAME.metadata]

# The columns whose values the API checks: a restore holds them to the same rules, so a
# backup cannot bring in what the API would have refused. Every other column is held to
# its type and size.
_RULES: dict[str, dict[str, Any]] = {
    "users": {"email": Email, "name": Name, "timezone": TimeZone},
    "lists": {"name": ListName, "color": Color, "position": Position},
    "tags": {"name": TagName},
    "tasks": {
        "title": Title,
        "description": Description,
        "priority": Priority,
        "rrule": RRule,
        "recurrence_mode": RecurrenceMode,
        "position": Position,
    },
    "comments": {"body": Body},
}
_INTEGER_BITS = ((SmallInteger, 16), (BigInteger, 64), (Integer, 32))


def _column_type(column: Column[Any]) -> Any:
    kind = column.type
    if isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    if isinstance(kind, DateTime):
        return Instant
    if isinstance(kind, Date):
        return date
    if isinstance(kind, Boolean):
        return bool
    if isinstance(kind, Integer):
        if column.primary_key or column.foreign_keys:
            return Annotated[int, Field(ge=1, le=ID_MAX)]
        bits = next(size for integer, size in _INTEGER_BITS if isinstance(kind, integer))
        return Annotated[int, Field(ge=-(2 ** (bits - 1)), le=2 ** (bits - 1) - 1)]
    if isinstance(kind, String):
        # The same rule as every other door: PostgreSQL cannot store NUL at all.
        return Annotated[
            str,
            Field(min_length=1 if column.primary_key else 0, max_length=kind.length),
            NO_CONTROLS,
        ]
    return Any


@cache
def _row_model(table_name: str) -> type[BaseModel]:
    """A model of one row, from the table: every column, with its type, size and rules."""
    table = SQLModel.metadata.tables[table_name]
    fields: dict[str, Any] = {}
    for column in table.columns:
        kind = _RULES.get(table_name, {}).get(column.name) or _column_type(column)
        if column.nullable:
            kind = kind | None
        # Ids are required even where the table would make one up: rows refer to them.
        required = column.primary_key or not (
            column.nullable or column.default is not None or column.server_default is not None
        )
        fields[column.name] = (kind, ... if required else None)
    return create_model(f"{table_name}_row", __config__=ConfigDict(extra="forbid"), **fields)


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: str
    version: int
    exported_at: AwareDatetime
    users: list[Any]
    deleted_accounts: list[Any] = []


class _Account(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: dict[str, Any]
    lists: list[dict[str, Any]]
    tags: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    task_tags: list[dict[str, Any]]
    # Since sharing: a backup written before has none of them.
    access_tokens: list[dict[str, Any]] = []
    notification_settings: list[dict[str, Any]] = []
    list_members: list[dict[str, Any]] = []
    list_invitations: list[dict[str, Any]] = []
    list_links: list[dict[str, Any]] = []
    # Since comments: a backup written before has none.
    comments: list[dict[str, Any]] = []


def _where(prefix: str, loc: tuple[int | str, ...]) -> str:
    path = prefix
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path


def _problems(prefix: str, error: ValidationError) -> list[tuple[str, str]]:
    return [
        (_where(prefix, item["loc"]), str(item["msg"]).removeprefix("Value error, "))
        for item in error.errors()
    ]


@dataclass(frozen=True)
class Backup:
    """A checked backup: the rows of every table, in the order a restore inserts them."""

    rows: dict[str, list[dict[str, Any]]]


@dataclass
class _Owned:
    """What one account's rows hold so far, for the checks between them."""

    # Rows by id, None for a row that failed its own checks: what refers to it is not a
    # second problem.
    ids: dict[str, dict[Any, dict[str, Any] | None]] = field(
        default_factory=lambda: {name: {} for name in _OWNED}
    )
    inbox: int | None = None
    tag_keys: dict[str, int] = field(default_factory=dict)
    list_keys: dict[str, int] = field(default_factory=dict)


class _Checker:
    """Collects every problem of a backup, each with where it is."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []
        self.rows: dict[str, list[dict[str, Any]]] = {
            "users": [],
            **{n: [] for n in _OWNED},
            **{n: [] for n in _EXTRAS},
            "deleted_accounts": [],
        }
        # Ids are unique in the whole database, not per account.
        self._seen: dict[tuple[str, Any], str] = {}

    def add(self, where: str, reason: str) -> None:
        self.problems.append((where, reason))

    def row(
        self, table: str, raw: dict[str, Any], where: str, *, key: str | None = None
    ) -> dict[str, Any] | None:
        try:
            checked = _row_model(table).model_validate(raw)
        except ValidationError as error:
            self.problems += _problems(where, error)
            return None
        row = checked.model_dump(exclude_unset=True)
        self.rows[key or table].append(row)
        return row

    def unique(self, kind: str, value: Any, where: str, noun: str) -> None:
        first = self._seen.setdefault((kind, value), where)
        if first != where:
            self.add(where, f"{value} is also the {noun} of {first.rsplit('.', 1)[0]}")

    def account(self, where: str, raw: Any) -> None:
        try:
            entry = _Account.model_validate(raw)
        except ValidationError as error:
            self.problems += _problems(where, error)
            return
        user = self.row("users", entry.user, f"{where}.user")
        owner = None
        if user is not None:
            owner = user["id"]
            self.unique("user", owner, f"{where}.user.id", "id")
            self.unique("email", user["email"], f"{where}.user.email", "email address")
        owned = _Owned()
        checks = {"lists": self._lists, "tags": self._tags, "tasks": self._tasks}
        for name in _OWNED:
            for index, raw_row in enumerate(getattr(entry, name)):
                at = f"{where}.{name}[{index}]"
                row = self.row(name, raw_row, at)
                if row is None:
                    if isinstance(raw_row.get("id"), int):
                        owned.ids[name].setdefault(raw_row["id"], None)
                    continue
                if owner is not None and row["user_id"] != owner:
                    self.add(f"{at}.user_id", f"must be {owner}, the id of this account")
                if name == "task_tags":
                    self._task_tag(row, at, owned)
                    continue
                self.unique(name, row["id"], f"{at}.id", "id")
                checks[name](row, at, owned)
                owned.ids[name][row["id"]] = row
        self._tag_counts(where, owned)
        for name, (table, whose) in _EXTRAS.items():
            for index, raw_row in enumerate(getattr(entry, name)):
                at = f"{where}.{name}[{index}]"
                row = self.row(table, raw_row, at, key=name)
                if row is None:
                    continue
                if whose == "user":
                    if owner is not None and row["user_id"] != owner:
                        self.add(f"{at}.user_id", f"must be {owner}, the id of this account")
                    if "id" in row:
                        self.unique(name, row["id"], f"{at}.id", "id")
                    else:
                        self.unique(name, row["user_id"], at, "id")
                    if name == "comments" and row["task_id"] not in owned.ids["tasks"]:
                        self.add(
                            f"{at}.task_id",
                            f"Task {row['task_id']} is not one of this account's tasks",
                        )
                    continue
                if row["list_id"] not in owned.ids["lists"]:
                    self.add(
                        f"{at}.list_id", f"List {row['list_id']} is not one of this account's lists"
                    )
                if name == "list_members":
                    if row["user_id"] == owner:
                        self.add(f"{at}.user_id", "the owner of a list is not one of its members")
                    self.unique(name, (row["list_id"], row["user_id"]), at, "list and member")
                else:
                    self.unique(name, row["id"], f"{at}.id", "id")

    def deleted(self, where: str, raw: Any) -> None:
        row = self.row("deleted_accounts", raw, where)
        if row is None:
            return
        self.unique("deleted", row["user_id"], f"{where}.user_id", "deleted account")
        if ("user", row["user_id"]) in self._seen:
            self.add(f"{where}.user_id", f"{row['user_id']} is also an account in this backup")

    def _lists(self, row: dict[str, Any], at: str, owned: _Owned) -> None:
        # List names are unique per account whatever the case (migration 0006).
        other = owned.list_keys.setdefault(row["name"].lower(), row["id"])
        if other != row["id"]:
            self.add(
                f"{at}.name", f"The list {row['name']!r} is also list {other} (case is ignored)"
            )
        if not row.get("is_inbox"):
            return
        if owned.inbox is not None:
            self.add(f"{at}.is_inbox", "An account has one Inbox at most")
        owned.inbox = row["id"]

    def _tags(self, row: dict[str, Any], at: str, owned: _Owned) -> None:
        key = row["name"].lower()
        if row["key"] != key:
            self.add(f"{at}.key", f"must be {key!r}, the name in lower case")
        other = owned.tag_keys.setdefault(key, row["id"])
        if other != row["id"]:
            self.add(f"{at}.name", f"The tag {row['name']!r} is also tag {other} (case is ignored)")

    def _tasks(self, row: dict[str, Any], at: str, owned: _Owned) -> None:
        if row["list_id"] not in owned.ids["lists"]:
            self.add(f"{at}.list_id", f"List {row['list_id']} is not one of this account's lists")
        if row.get("rrule") and row.get("due_date") is None:
            self.add(f"{at}.rrule", "a recurring task needs a due date or due time")

    def _task_tag(self, row: dict[str, Any], at: str, owned: _Owned) -> None:
        if row["task_id"] not in owned.ids["tasks"]:
            self.add(f"{at}.task_id", f"Task {row['task_id']} is not one of this account's tasks")
        if row["tag_id"] not in owned.ids["tags"]:
            self.add(f"{at}.tag_id", f"Tag {row['tag_id']} is not one of this account's tags")
        self.unique("task_tag", (row["task_id"], row["tag_id"]), at, "task and tag")
        owned.ids["task_tags"][(row["task_id"], row["tag_id"])] = row

    def _tag_counts(self, where: str, owned: _Owned) -> None:
        counts = Counter(task_id for task_id, _ in owned.ids["task_tags"])
        for task_id, tags in sorted(counts.items()):
            if tags > TAGS_MAX:
                self.add(
                    f"{where}.task_tags", f"Task {task_id} has {tags} tags, at most {TAGS_MAX}"
                )


def parse(document: Any) -> Backup:
    """Check a backup as the API checks what it is sent; raise InvalidBackup naming every
    problem. Nothing is written, so a file is checked whole before a restore begins."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InvalidBackup([("format", f'must be "{FORMAT}": this is not a backup of Todo')])
    if document.get("version") != VERSION:
        raise InvalidBackup(
            [("version", f"must be {VERSION}, not {document.get('version')!r}: a newer format?")]
        )
    try:
        envelope = _Envelope.model_validate(document)
    except ValidationError as error:
        raise InvalidBackup(_problems("", error)) from None
    checker = _Checker()
    for index, entry in enumerate(envelope.users):
        checker.account(f"users[{index}]", entry)
    for index, raw in enumerate(envelope.deleted_accounts):
        checker.deleted(f"deleted_accounts[{index}]", raw)
    if checker.problems:
        raise InvalidBackup(checker.problems)
    return Backup(rows=checker.rows)


async def restore(session: AsyncSession, backup: Backup) -> Restored:
    """Restore a checked backup into an empty database, in one transaction; commits."""
    existing = (await _execute(session, select(count()).select_from(_USERS))).scalar_one()
    if existing:
        raise Conflict(
            f"The database already holds {existing} account(s); restore into an empty "
            "database only (create a new one and run `todo db upgrade` on it).",
            code="database_not_empty",
        )
    try:
        await _insert(session, _USERS, backup.rows["users"])
        accounts = {row["id"] for row in backup.rows["users"]}
        for name, table in _OWNED.items():
            await _insert(session, table, _within(backup.rows[name], accounts))
        for name in _EXTRAS:
            await _insert(session, _extra_table(name), _within(backup.rows[name], accounts))
        await _insert(session, _DELETED, backup.rows["deleted_accounts"])
    except IntegrityError as error:
        # What the checks above do not know about yet (a constraint added since).
        reason = str(error.orig).strip().splitlines()[0]
        raise Conflict(
            f"The backup does not fit this database: {reason}", code="backup_conflict"
        ) from None
    if session.get_bind().dialect.name == "postgresql":
        for name in _SEQUENCED:
            await _execute(
                session,
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
                    f"COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {name}"
                ),
            )
    await session.commit()
    return Restored(users=len(backup.rows["users"]), tasks=len(backup.rows["tasks"]))


def _within(rows: list[dict[str, Any]], accounts: set[str]) -> list[dict[str, Any]]:
    """Rows as far as the backup's accounts go: one person's export restored alone brings
    back their lists' links and invitations, not memberships of people it lacks, and their
    tasks and the comments on them without the assignees and authors it lacks."""
    kept = []
    for row in rows:
        if "role" in row and "user_id" in row and row["user_id"] not in accounts:
            continue
        kept.append(
            {
                key: None if key in _PEOPLE_COLUMNS and value not in accounts else value
                for key, value in row.items()
            }
        )
    return kept


async def _insert(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    # In slices: one statement per row would be slow, one for everything too large.
    for start in range(0, len(rows), 500):
        await _execute(session, insert(table), rows[start : start + 500])
