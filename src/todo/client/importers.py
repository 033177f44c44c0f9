"""Reading other programs' task files into drafts of tasks, checked before anything is sent.

Each format is read whole into `Draft`s, each with where it came from (a line number, or a
task's place in a JSON document). Every draft is checked with the API's own request schemas,
so a file is judged by the same limits the server applies, before the first request.
Nothing here talks to a server: `todo import-tasks` does that with what this module returns.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from todo.lists.schemas import ListCreate
from todo.tasks import quickadd
from todo.tasks.schemas import PRIORITIES, TaskCreate

Format = Literal["todoist", "todotxt", "csv", "todo"]
FORMATS: tuple[Format, ...] = ("todoist", "todotxt", "csv", "todo")

TODOIST_REQUIRED = ("TYPE", "CONTENT")
# Todoist's PRIORITY is 4 for its p1 (the highest) down to 1 for p4, which is what every
# task has until someone sets one: p4 is no priority at all here.
TODOIST_PRIORITY = {"4": "urgent", "3": "high", "2": "medium", "1": "none", "": "none"}
# todo.txt's (A) is the most important; past (C) every letter is simply "low".
TODOTXT_PRIORITY = {"A": "urgent", "B": "high", "C": "medium"}
CSV_COLUMNS = ("title", "notes", "due", "priority", "list", "tags", "done")
_TRUE = frozenset({"true", "yes", "y", "1", "x", "done"})
_FALSE = frozenset({"false", "no", "n", "0", ""})
_LABEL = re.compile(r"(?<!\S)@([^\s@]+)")
# Todoist names an exported file after its project, sometimes with the project's id.
_PROJECT_ID_SUFFIX = re.compile(r"\s*\[\d+\]$")
_TODOTXT_RECURRENCE = re.compile(r"(\+?)([1-9][0-9]{0,2})([dwmy])")
_RECURRENCE_FREQ = {"d": "DAILY", "w": "WEEKLY", "m": "MONTHLY", "y": "YEARLY"}


class ImportFileError(Exception):
    """The file cannot be read at all (not text, not the format); str() says why."""


@dataclass(frozen=True)
class Clock:
    """The account's "now" and time zone: relative dates in a file are read in them."""

    now: datetime
    tz: ZoneInfo


@dataclass
class Draft:
    """One task to create, and where in the file it came from."""

    where: str
    # What the idempotency key is derived from: the row as written, so that a second run
    # over the same file sends the same key for the same row.
    source: str
    title: str
    description: str = ""
    completed: bool = False
    priority: str = "none"
    tags: list[str] = field(default_factory=list)
    list_name: str | None = None
    due_date: date | None = None
    due_at: datetime | None = None
    remind_at: datetime | None = None
    rrule: str | None = None
    recurrence_mode: str = "due"
    idempotency_key: str = ""

    def body(self, list_id: int | None) -> dict[str, Any]:
        """The create request, as TaskCreate reads it."""
        body: dict[str, Any] = {
            "title": self.title,
            "description": self.description,
            "completed": self.completed,
            "priority": self.priority,
            "tags": self.tags,
        }
        optional = {
            "list_id": list_id,
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "remind_at": self.remind_at.isoformat() if self.remind_at else None,
            "rrule": self.rrule,
        }
        body.update({name: value for name, value in optional.items() if value is not None})
        if self.recurrence_mode != "due":
            body["recurrence_mode"] = self.recurrence_mode
        return body


@dataclass(frozen=True)
class Problem:
    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass
class Parsed:
    drafts: list[Draft]
    problems: list[Problem]
    # Rows read but deliberately not turned into tasks (Todoist sections), for the summary.
    notes: list[str] = field(default_factory=list)


class _RowError(Exception):
    """One row's problem; the reader records it and goes on with the next row."""


def guess_format(path: Path, head: str) -> Format:
    """The format of a file from its name and its first line, when not given."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "todo"
    if suffix == ".txt":
        return "todotxt"
    if suffix == ".csv":
        first = head.lstrip("\ufeff").split("\n", 1)[0].upper()
        return "todoist" if first.startswith("TYPE,") else "csv"
    raise ImportFileError(
        f"cannot tell the format of {path.name} from its name: give --format ({'|'.join(FORMATS)})"
    )


def read_text(path: Path) -> str:
    try:
        # utf-8-sig: spreadsheet programs start their CSV files with a byte-order mark.
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ImportFileError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise ImportFileError(f"{path} is a directory, not a file") from None
    except UnicodeDecodeError as error:
        raise ImportFileError(
            f"{path.name} is not UTF-8 text (byte {error.start + 1}); save it as UTF-8"
        ) from None
    except OSError as error:
        raise ImportFileError(f"cannot read {path}: {error.strerror or error}") from None


def parse(text: str, fmt: Format, *, name: str, clock: Clock) -> Parsed:
    """Read `text` (the contents of the file called `name`) as `fmt`."""
    readers = {
        "todoist": _todoist,
        "todotxt": _todotxt,
        "csv": _plain_csv,
        "todo": _todo_export,
    }
    parsed = readers[fmt](text, name=name, clock=clock)
    for draft in parsed.drafts:
        if draft.completed:
            # A completed task is history. Created with its rule it would repeat once more,
            # beside the next occurrence the file already holds (or its program made).
            draft.rrule, draft.recurrence_mode = None, "due"
    checked = [draft for draft in parsed.drafts if _check(draft, parsed.problems)]
    _assign_keys(checked, name=name, fmt=fmt)
    return Parsed(drafts=checked, problems=parsed.problems, notes=parsed.notes)


def _check(draft: Draft, problems: list[Problem]) -> bool:
    """Hold a draft to the API's own rules, so the server refuses none of them later."""
    try:
        TaskCreate.model_validate(draft.body(None))
        if draft.list_name is not None:
            draft.list_name = ListCreate.model_validate({"name": draft.list_name}).name
    except ValidationError as error:
        for item in error.errors():
            where = ".".join(str(part) for part in item["loc"]) or "task"
            name = {"name": "list"}.get(where, where)
            reason = str(item["msg"]).removeprefix("Value error, ")
            problems.append(Problem(draft.where, f"{name}: {reason}"))
        return False
    return True


def _assign_keys(drafts: list[Draft], *, name: str, fmt: Format) -> None:
    # From the file's name and the row's own text, and which occurrence of that text it is:
    # lines added or removed elsewhere in the file leave the other rows' keys as they were.
    seen: Counter[str] = Counter()
    for draft in drafts:
        seen[draft.source] += 1
        digest = hashlib.sha256(
            json.dumps([fmt, name, draft.source, seen[draft.source]]).encode()
        ).hexdigest()
        draft.idempotency_key = f"todo-import-{digest[:48]}"


class _Lines:
    """The file's lines for the CSV reader, numbered: a record's first line is where it is,
    whatever blank lines before it or quoted line breaks inside it."""

    def __init__(self, text: str) -> None:
        self._lines = iter(io.StringIO(text, newline=""))
        self.number = 0
        self.first: int | None = None

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.number += 1
        if self.first is None and line.strip():
            self.first = self.number
        return line


def _records(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """CSV records with the line each starts on."""
    lines = _Lines(text)
    reader = csv.DictReader(lines, restval="", strict=True)
    while True:
        lines.first = None
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise ImportFileError(f"line {lines.number}: not valid CSV: {error}") from None
        start = lines.first or lines.number
        if None in row:
            raise ImportFileError(f"line {start}: more cells than the header has columns")
        yield start, row


def _header(text: str) -> list[str]:
    try:
        first = next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error as error:
        raise ImportFileError(f"line 1: not valid CSV: {error}") from None
    return [cell.strip() for cell in first]


def _source(row: dict[str, str]) -> str:
    return json.dumps(row, sort_keys=True, ensure_ascii=False)


def _project_name(name: str) -> str:
    return _PROJECT_ID_SUFFIX.sub("", Path(name).stem).strip()


def _todoist(text: str, *, name: str, clock: Clock) -> Parsed:
    header = _header(text)
    missing = [column for column in TODOIST_REQUIRED if column not in header]
    if missing:
        raise ImportFileError(
            f"line 1: not a Todoist export: no {', '.join(missing)} column "
            f"(the header is {','.join(header)[:200]!r})"
        )
    project = _project_name(name) or None
    parsed = Parsed(drafts=[], problems=[])
    section: str | None = None
    last: Draft | None = None
    for line, row in _records(text):
        kind = row.get("TYPE", "").strip().lower()
        content = row.get("CONTENT", "")
        where = f"line {line}"
        # "meta" rows hold the project's view settings (view_style=board): nothing to import.
        if kind == "meta" or (not kind and not content.strip()):
            continue
        if kind == "section":
            section = " ".join(content.split()) or None
            parsed.notes.append(f"{where}: section {section!r} became a tag of its tasks")
            continue
        if kind == "note":
            if last is None:
                parsed.problems.append(Problem(where, "TYPE: a note before any task"))
                continue
            joined = "\n\n".join(part for part in (last.description, content.strip()) if part)
            last.description = joined
            continue
        if kind != "task":
            parsed.problems.append(
                Problem(where, f"TYPE: must be task, section, note or meta, not {kind!r}")
            )
            continue
        try:
            last = _todoist_task(row, where=where, project=project, section=section, clock=clock)
        except _RowError as error:
            parsed.problems.append(Problem(where, str(error)))
            last = None
            continue
        parsed.drafts.append(last)
    return parsed


def _todoist_task(
    row: dict[str, str], *, where: str, project: str | None, section: str | None, clock: Clock
) -> Draft:
    content = row.get("CONTENT", "")
    labels = _LABEL.findall(content)
    title = " ".join(_LABEL.sub(" ", content).split())
    tags = [*labels, *([section] if section else [])]
    priority = TODOIST_PRIORITY.get(row.get("PRIORITY", "").strip())
    if priority is None:
        raise _RowError(f"PRIORITY: must be 1 to 4, not {row.get('PRIORITY')!r}")
    draft = Draft(
        where=where,
        source=_source(row),
        title=title,
        description=row.get("DESCRIPTION", "").strip(),
        priority=priority,
        tags=tags,
        list_name=project,
    )
    when = " ".join(row.get("DATE", "").split())
    if when:
        zone = row.get("TIMEZONE", "").strip()
        _read_when(draft, when, clock=_zoned(clock, zone), column="DATE")
    return draft


def _zoned(clock: Clock, zone: str) -> Clock:
    if not zone:
        return clock
    try:
        return Clock(now=clock.now, tz=ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        raise _RowError(f"TIMEZONE: {zone!r} is not a time zone name") from None


def _read_when(draft: Draft, when: str, *, clock: Clock, column: str) -> None:
    """A due date, a due time or a recurrence in words, read as quick add reads them."""
    exact = _iso(when, clock=clock, column=column)
    if exact is not None:
        draft.due_date, draft.due_at = exact
        return
    # Todoist writes "every!" for a rule counted from the completion.
    if when.lower().startswith("every!"):
        draft.recurrence_mode = "completion"
        when = "every" + when[len("every!") :]
    try:
        found = quickadd.parse(when, now=clock.now, tz=clock.tz)
    except ValueError as error:
        raise _RowError(f"{column}: {error}") from None
    if found.title or (found.due_date is None and found.due_at is None):
        raise _RowError(f"{column}: cannot read {when!r} as a date")
    draft.due_date, draft.due_at, draft.rrule = found.due_date, found.due_at, found.rrule


def _iso(text: str, *, clock: Clock, column: str) -> tuple[date | None, datetime | None] | None:
    """A date or an instant written as ISO 8601; None for other text."""
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ].*)?", text):
        return None
    try:
        if len(text) == 10:
            return date.fromisoformat(text), None
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise _RowError(f"{column}: {text!r} is not a date: {error}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=clock.tz)
    return None, moment


def _todotxt(text: str, *, name: str, clock: Clock) -> Parsed:
    from pytodotxt import Task

    parsed = Parsed(drafts=[], problems=[])
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            task = Task(line)
            parsed.drafts.append(_todotxt_task(task, line, where=where, clock=clock))
        except _RowError as error:
            parsed.problems.append(Problem(where, str(error)))
        except ValueError as error:
            # The library reads the dates at the start of a line and refuses impossible ones.
            parsed.problems.append(Problem(where, f"not a todo.txt line: {error}"))
    return parsed


_TODOTXT_KEYS = ("due", "rec", "t")


def _todotxt_task(task: Any, line: str, *, where: str, clock: Clock) -> Draft:
    projects: list[str] = list(task.projects)
    contexts: list[str] = list(task.contexts)
    attributes: dict[str, list[str]] = task.attributes
    # The words that stay in the title: all but the markers this reader turns into fields
    # (the library's bare_description would also drop text such as "10:30").
    words = [
        word
        for word in (task.description or "").split()
        if not (len(word) > 1 and word[0] in "+@")
        and not (":" in word and word.split(":", 1)[0] in _TODOTXT_KEYS and word[-1] != ":")
    ]
    priority = "none"
    if task.priority:
        priority = TODOTXT_PRIORITY.get(task.priority, "low")
    draft = Draft(
        where=where,
        source=line.strip(),
        title=" ".join(words),
        completed=bool(task.is_completed),
        priority=priority,
        # A task in several projects goes to the first; the others become tags.
        tags=[*contexts, *projects[1:]],
        list_name=projects[0] if projects else None,
    )
    if due := attributes.get("due"):
        try:
            draft.due_date = date.fromisoformat(due[0])
        except ValueError:
            raise _RowError(f"due: {due[0]!r} is not a date (YYYY-MM-DD)") from None
    if rec := attributes.get("rec"):
        _todotxt_recurrence(draft, rec[0], clock=clock)
    return draft


def _todotxt_recurrence(draft: Draft, rule: str, *, clock: Clock) -> None:
    # The "rec:" extension: rec:1w counts from the completion, rec:+1w from the due date.
    found = _TODOTXT_RECURRENCE.fullmatch(rule)
    if found is None:
        raise _RowError(f"rec: {rule!r} is not a recurrence such as 1d, 2w, +1m or 1y")
    strict, interval, unit = found.groups()
    draft.rrule = f"FREQ={_RECURRENCE_FREQ[unit]}" + (
        f";INTERVAL={interval}" if interval != "1" else ""
    )
    draft.recurrence_mode = "due" if strict else "completion"
    if draft.due_date is None:
        # A repetition counts from a due date: without one it starts today.
        draft.due_date = clock.now.astimezone(clock.tz).date()


def _plain_csv(text: str, *, name: str, clock: Clock) -> Parsed:
    header = [column.lower() for column in _header(text)]
    unknown = [column for column in header if column not in CSV_COLUMNS]
    if unknown:
        raise ImportFileError(
            f"line 1: unknown column {unknown[0]!r}: the columns are {','.join(CSV_COLUMNS)}"
        )
    if "title" not in header:
        raise ImportFileError(f"line 1: no title column: the columns are {','.join(CSV_COLUMNS)}")
    if len(set(header)) != len(header):
        raise ImportFileError("line 1: a column is named twice")
    parsed = Parsed(drafts=[], problems=[])
    for line, raw in _records(text):
        row = {key.strip().lower(): value for key, value in raw.items()}
        if not any(value.strip() for value in row.values()):
            continue
        where = f"line {line}"
        try:
            parsed.drafts.append(_csv_task(row, where=where, clock=clock))
        except _RowError as error:
            parsed.problems.append(Problem(where, str(error)))
    return parsed


def _csv_task(row: dict[str, str], *, where: str, clock: Clock) -> Draft:
    priority = row.get("priority", "").strip().lower() or "none"
    if priority not in PRIORITIES:
        raise _RowError(f"priority: must be one of {', '.join(PRIORITIES)}, not {priority!r}")
    done = row.get("done", "").strip().lower()
    if done not in _TRUE | _FALSE:
        raise _RowError(f"done: must be true or false (yes/no, 1/0, x), not {done!r}")
    tags = [tag.strip() for tag in re.split(r"[,;]", row.get("tags", "")) if tag.strip()]
    draft = Draft(
        where=where,
        source=_source(row),
        title=row.get("title", ""),
        description=row.get("notes", ""),
        completed=done in _TRUE,
        priority=priority,
        tags=tags,
        list_name=" ".join(row.get("list", "").split()) or None,
    )
    due = row.get("due", "").strip()
    if due:
        exact = _iso(due, clock=clock, column="due")
        if exact is None:
            raise _RowError(f"due: {due!r} is not a date (YYYY-MM-DD) or a time (ISO 8601)")
        draft.due_date, draft.due_at = exact
    return draft


def _todo_export(text: str, *, name: str, clock: Clock) -> Parsed:
    """The web app's "Download my data" file (or `todo export --user`): one account."""
    from todo.backup import service as backup

    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ImportFileError(f"not JSON: {error}") from None
    try:
        checked = backup.parse(document)
    except backup.InvalidBackup as error:
        problems = [f"{item['field']}: {item['reason']}" for item in (error.errors or [])]
        raise ImportFileError("; ".join(problems[:5]) or error.detail) from None
    rows = checked.rows
    if len(rows["users"]) != 1:
        raise ImportFileError(
            f"this file holds {len(rows['users'])} accounts; import the export of one account "
            "(`todo export --user EMAIL` or the web app's download)"
        )
    lists = {row["id"]: row for row in rows["lists"]}
    tag_names = {row["id"]: row["name"] for row in rows["tags"]}
    tags_of: dict[int, list[str]] = {}
    for link in rows["task_tags"]:
        tags_of.setdefault(link["task_id"], []).append(tag_names[link["tag_id"]])
    parsed = Parsed(drafts=[], problems=[])
    # In list order and each list's own order: created one after another, tasks keep it.
    ordered = sorted(
        enumerate(rows["tasks"]),
        key=lambda item: (lists[item[1]["list_id"]]["position"], item[1]["position"]),
    )
    for index, task in ordered:
        home = lists[task["list_id"]]
        parsed.drafts.append(
            Draft(
                where=f"tasks[{index}]",
                source=f"task {task['id']}",
                title=task["title"],
                description=task.get("description") or "",
                completed=bool(task.get("completed")),
                priority=PRIORITIES[task.get("priority") or 0],
                tags=sorted(tags_of.get(task["id"], []), key=str.lower),
                list_name=None if home.get("is_inbox") else home["name"],
                due_date=None if task.get("due_at") else task.get("due_date"),
                due_at=task.get("due_at"),
                remind_at=task.get("remind_at"),
                rrule=task.get("rrule"),
                recurrence_mode=task.get("recurrence_mode") or "due",
            )
        )
    return parsed
