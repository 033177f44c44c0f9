"""How tasks and lists look on a terminal: tables that fit its width, or JSON for programs."""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

_PRIORITY_STYLE = {"urgent": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


def console(*, stderr: bool = False) -> Console:
    # Rich follows NO_COLOR and the terminal's width itself; highlighting would colour
    # numbers and words in titles as if they meant something.
    return Console(stderr=stderr, highlight=False)


def clean(text: str) -> str:
    """Text from the server made safe to print: control characters (escape sequences, a
    title's newlines) and bidirectional overrides never reach the terminal as such."""
    return "".join(
        " " if unicodedata.category(char) == "Cc" or _is_bidi_control(char) else char
        for char in text
    )


def _is_bidi_control(char: str) -> bool:
    return unicodedata.category(char) == "Cf" and unicodedata.bidirectional(char) in (
        "LRE",
        "RLE",
        "LRO",
        "RLO",
        "PDF",
        "LRI",
        "RLI",
        "FSI",
        "PDI",
    )


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def due_text(task: Mapping[str, Any]) -> str:
    if task.get("due_at"):
        moment = datetime.fromisoformat(task["due_at"]).astimezone()
        return moment.strftime("%Y-%m-%d %H:%M")
    if task.get("due_date"):
        return str(date.fromisoformat(task["due_date"]))
    return ""


def _tags(task: Mapping[str, Any]) -> str:
    return " ".join(f"#{tag}" for tag in task.get("tags") or [])


def tasks_table(
    tasks: Iterable[Mapping[str, Any]], lists: Mapping[int, str], *, show_list: bool = True
) -> Table:
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    table.add_column("ID", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)
    # The title (with its tags) takes what the other columns leave and wraps inside its
    # cell: a long title never pushes the table past the terminal's width.
    table.add_column("Task", ratio=1, overflow="fold", min_width=16)
    table.add_column("Due", no_wrap=True)
    table.add_column("Pri", no_wrap=True)
    if show_list:
        table.add_column("List", overflow="fold", max_width=16)
    for task in tasks:
        mark = "x" if task.get("completed") else ""
        if task.get("rrule"):
            mark += "R"
        priority = task.get("priority") or "none"
        title = Text(clean(task.get("title", "")), style="dim" if task.get("completed") else "")
        tags = _tags(task)
        if tags:
            title.append(" " + clean(tags), style="cyan")
        cells: list[Text] = [
            Text(str(task["id"])),
            Text(mark),
            title,
            Text(due_text(task)),
            Text("" if priority == "none" else priority, style=_PRIORITY_STYLE.get(priority, "")),
        ]
        if show_list:
            cells.append(Text(clean(lists.get(task.get("list_id", 0), ""))))
        table.add_row(*cells)
    return table


def lists_table(lists: Iterable[Mapping[str, Any]]) -> Table:
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    table.add_column("ID", justify="right", no_wrap=True)
    table.add_column("Name", ratio=1, overflow="fold")
    table.add_column("Open", justify="right", no_wrap=True)
    for found in lists:
        table.add_row(
            Text(str(found["id"])),
            Text(clean(found["name"]), style="bold" if found.get("is_inbox") else ""),
            Text(str(found.get("open_tasks", 0))),
        )
    return table


def one_line(task: Mapping[str, Any], lists: Mapping[int, str] | None = None) -> Text:
    """A task in one line: what `add`, `done` and `edit` answer with."""
    parts = [f"{task['id']}", clean(task.get("title", ""))]
    due = due_text(task)
    if due:
        parts.append(f"due {due}")
    if task.get("rrule"):
        parts.append(f"repeats {task['rrule']}")
    priority = task.get("priority") or "none"
    if priority != "none":
        parts.append(f"!{priority}")
    tags = _tags(task)
    if tags:
        parts.append(clean(tags))
    if lists is not None and task.get("list_id") in lists:
        parts.append(f"in {clean(lists[task['list_id']])}")
    if task.get("completed"):
        parts.append("(done)")
    return Text("  ".join(parts))
