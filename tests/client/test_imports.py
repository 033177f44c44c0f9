"""`todo import-tasks` into an existing account on a live server, from each format."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
from contextlib import suppress
from pathlib import Path
from typing import Any

from tests.client.conftest import FIXTURES, Person

TODOIST = FIXTURES / "Home [2203306141].csv"


def _tasks(person: Person) -> dict[str, dict[str, Any]]:
    with person.api() as api:
        response = api.get("/api/me/tasks", params={"status": "all", "limit": 500})
    assert response.status_code == 200, response.text
    return {task["title"]: task for task in response.json()}


def _lists(person: Person) -> dict[int, str]:
    return {entry["id"]: entry["name"] for entry in person.json("lists")}


def _import_twice(person: Person, file: Path, *args: str) -> dict[str, dict[str, Any]]:
    """Dry run (changes nothing), import, import again (adds nothing): what was imported."""
    before = _tasks(person)
    lists_before = _lists(person)
    dry = person.ok("import-tasks", str(file), "--dry-run", *args)
    assert "nothing was changed" in dry.stdout
    assert _tasks(person) == before
    assert _lists(person) == lists_before

    first = person.ok("import-tasks", str(file), *args)
    # Not a terminal: no progress bar on stderr.
    assert "Importing" not in first.stderr
    after = _tasks(person)
    again = person.ok("import-tasks", str(file), *args)
    assert "imported 0 task(s)" in again.stdout
    assert "were imported by an earlier run" in again.stdout
    assert _tasks(person) == after
    return {title: task for title, task in after.items() if title not in before}


def test_todoist_export(person: Person) -> None:
    made = _import_twice(person, TODOIST)
    lists = _lists(person)
    assert set(made) == {"Pay rent", "Fix the tap", "Mow the lawn", "Plant tulips"}
    assert {lists[task["list_id"]] for task in made.values()} == {"Home"}
    rent = made["Pay rent"]
    assert rent["priority"] == "urgent"
    assert rent["tags"] == ["bills", "home"]
    assert rent["rrule"] == "FREQ=MONTHLY;BYMONTHDAY=1"
    tap = made["Fix the tap"]
    assert tap["priority"] == "medium"
    assert tap["due_date"] == "2027-01-15"
    assert tap["description"] == (
        'Washer size 3/4".\nAsk the neighbour first.\n\nBought the washer already.'
    )
    mow = made["Mow the lawn"]
    assert mow["priority"] == "high"
    assert mow["rrule"] == "FREQ=WEEKLY;INTERVAL=2"
    assert mow["recurrence_mode"] == "completion"
    assert mow["tags"] == ["Garden"]
    tulips = made["Plant tulips"]
    assert tulips["priority"] == "none"
    assert tulips["tags"] == ["Garden", "outside"]


def test_todotxt(person: Person) -> None:
    made = _import_twice(person, FIXTURES / "todo.txt")
    lists = _lists(person)
    mom = made["Call Mom"]
    assert (mom["priority"], lists[mom["list_id"]], mom["tags"], mom["due_date"]) == (
        "urgent",
        "Family",
        ["phone"],
        "2027-01-10",
    )
    assert mom["completed"] is False
    stamps = made["Buy stamps"]
    assert stamps["completed"] is True
    assert stamps["tags"] == ["errands"]
    assert lists[stamps["list_id"]] == "Inbox"
    water = made["Water plants"]
    assert (water["rrule"], water["recurrence_mode"], water["due_date"]) == (
        "FREQ=WEEKLY",
        "due",
        "2027-01-05",
    )
    # A time in the text is not a key:value marker; a second project becomes a tag.
    meet = made["Meet Sam at 10:30"]
    assert (meet["priority"], lists[meet["list_id"]], meet["tags"]) == (
        "low",
        "Work",
        ["office", "Side"],
    )
    assert "Read https://example.com/article later" in made


def test_plain_csv(person: Person) -> None:
    made = _import_twice(person, FIXTURES / "tasks.csv")
    lists = _lists(person)
    milk = made["Buy milk"]
    assert (milk["description"], milk["due_date"], milk["priority"], milk["tags"]) == (
        "2 litres",
        "2027-02-01",
        "high",
        ["food", "shop"],
    )
    assert lists[milk["list_id"]] == "Groceries"
    invoice = made["Send invoice"]
    assert invoice["due_at"] == "2027-02-03T08:30:00Z"
    assert invoice["priority"] == "urgent"
    assert made["Old task"]["completed"] is True


def test_a_download_goes_into_an_existing_account(person: Person) -> None:
    person.ok("add", "Already here +Home")
    made = _import_twice(person, FIXTURES / "download.json")
    lists = _lists(person)
    assert "Already here" in _tasks(person)
    assert sorted(lists.values()) == ["Errands", "Home", "Inbox"]
    taxes = made["File taxes"]
    assert (taxes["priority"], taxes["tags"], taxes["due_date"], taxes["description"]) == (
        "urgent",
        ["admin"],
        "2026-12-24",
        "Receipts are in the blue folder.",
    )
    bank = made["Call the bank"]
    assert bank["due_at"] == "2026-12-10T17:00:00Z"
    assert lists[bank["list_id"]] == "Errands"
    # The done occurrence comes without its rule, so it does not repeat a second time.
    waters = [t for t in _tasks(person).values() if t["title"] == "Water the plants"]
    assert len(waters) == 1
    assert waters[0]["rrule"] == "FREQ=DAILY;INTERVAL=3"


def test_one_account_moves_to_another_through_its_download(
    person: Person, stranger: Person, tmp_path: Path
) -> None:
    person.ok("add", "Renew passport next fri !high #admin +Papers")
    person.ok("add", "Book dentist")
    with person.api() as api:
        # What else a download holds (a comment, a share link, notification settings) is
        # checked and left behind: only the tasks move.
        task = next(t for t in api.get("/api/me/tasks").json() if t["title"] == "Book dentist")
        commented = api.post(f"/api/me/tasks/{task['id']}/comments", json={"body": "Tuesday?"})
        assert commented.status_code == 201, commented.text
        papers = next(e for e in api.get("/api/me/lists").json() if e["name"] == "Papers")
        linked = api.post(f"/api/me/lists/{papers['id']}/links", json={"role": "viewer"})
        assert linked.status_code == 201, linked.text
        settings = api.patch("/api/me/notification-settings", json={"digest_hour": 7})
        assert settings.status_code == 200, settings.text
        download = api.get("/api/auth/me/export").json()
    entry = download["users"][0]
    assert [len(entry[key]) for key in ("comments", "list_links", "notification_settings")] == [
        1,
        1,
        1,
    ]
    file = tmp_path / "my-data.json"
    file.write_text(json.dumps(download))
    # The other account logs in and brings the download in through the API.
    other = Person(stranger.server, stranger.email, tmp_path / "other", stranger.runner)
    other.ok("login", other.server.url, "--email", other.email)
    other.ok("import-tasks", str(file))
    mine = {t["title"]: t for t in person.json("ls")}
    theirs = {t["title"]: t for t in other.json("ls")}
    assert set(theirs) == set(mine)
    for title, task in mine.items():
        for field in ("priority", "tags", "due_date", "description"):
            assert theirs[title][field] == task[field], (title, field)
    assert "Papers" in {entry["name"] for entry in other.json("lists")}


def test_an_interrupted_import_goes_on_without_doubling(person: Person, tmp_path: Path) -> None:
    full = (FIXTURES / "tasks.csv").read_text()
    partial = tmp_path / "tasks.csv"
    # As if the first run had stopped after two rows.
    partial.write_text("".join(full.splitlines(keepends=True)[:3]))
    person.ok("import-tasks", str(partial))
    assert len(_tasks(person)) == 2
    shutil.copy(FIXTURES / "tasks.csv", partial)
    result = person.ok("import-tasks", str(partial))
    assert "imported 1 task(s)" in result.stdout
    assert "2 were imported by an earlier run" in result.stdout
    assert sorted(_tasks(person)) == ["Buy milk", "Old task", "Send invoice"]


def test_bad_rows_are_named_and_nothing_is_imported(person: Person) -> None:
    result = person.todo("import-tasks", str(FIXTURES / "bad.csv"))
    assert result.exit_code == 2
    assert "bad.csv line 3: priority" in result.stderr
    assert "bad.csv line 4: due: '2027-02-30' is not a date" in result.stderr
    # After a blank line, and a cell over two lines: the line the row starts on.
    assert "bad.csv line 7: done: must be true or false" in result.stderr
    assert "Traceback" not in result.output
    assert _tasks(person) == {}
    skipped = person.ok("import-tasks", str(FIXTURES / "bad.csv"), "--skip-bad")
    assert "imported 2 task(s)" in skipped.stdout
    assert "line 7" in skipped.stderr
    assert sorted(_tasks(person)) == ["Another good one", "Good one"]


def test_hostile_rows_are_held_to_the_api_limits(person: Person) -> None:
    result = person.todo("import-tasks", str(FIXTURES / "hostile.csv"))
    assert result.exit_code == 2
    for line, words in (
        (3, "title: String should have at most 200 characters"),
        (4, "title: must not contain control characters"),
        (5, "tags: List should have at most 20 items"),
        (6, "list: String should have at most 100 characters"),
    ):
        assert f"hostile.csv line {line}: {words}" in result.stderr
    assert _tasks(person) == {}


def test_files_that_cannot_be_read_are_one_line(person: Person, tmp_path: Path) -> None:
    binary = tmp_path / "tasks.csv"
    binary.write_bytes(b"title\n\xff\xfe\n")
    unknown = tmp_path / "tasks.xlsx"
    unknown.write_text("title\n")
    columns = tmp_path / "columns.csv"
    columns.write_text("title,colour\nA,red\n")
    not_json = tmp_path / "data.json"
    not_json.write_text("{")
    not_ours = tmp_path / "other.json"
    not_ours.write_text('{"format": "something-else"}')
    todotxt = tmp_path / "dates.txt"
    todotxt.write_text("2026-13-45 Impossible date\nFine due:tomorrow\n")
    for file, args, words in (
        (binary, (), "not UTF-8"),
        (unknown, (), "--format"),
        (columns, (), "line 1: unknown column 'colour'"),
        (not_json, (), "not JSON"),
        (not_ours, (), "format"),
        (tmp_path / "missing.csv", (), "no such file"),
        (columns, ("--format", "excel"), "--format must be one of"),
    ):
        result = person.todo("import-tasks", str(file), *args)
        assert result.exit_code == 2, (file, result.stderr)
        assert words in result.stderr.strip().splitlines()[-1], (file, result.stderr)
    dates = person.todo("import-tasks", str(todotxt))
    assert dates.exit_code == 2
    assert "dates.txt line 1: not a todo.txt line" in dates.stderr
    assert "dates.txt line 2: due: 'tomorrow' is not a date" in dates.stderr
    assert _tasks(person) == {}


def test_a_terminal_shows_progress(person: Person) -> None:
    # stderr on a pseudo-terminal, as when a person runs it; stdout piped, as in a script.
    controller, terminal = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "todo", "import-tasks", str(FIXTURES / "tasks.csv")],
            env={**os.environ, **{k: v for k, v in person.env().items() if v is not None}},
            stdout=subprocess.PIPE,
            stderr=terminal,
            text=True,
            timeout=60,
        )
    finally:
        os.close(terminal)
    shown = b""
    with suppress(OSError):  # the terminal's other end reads EIO once everything is read
        while chunk := os.read(controller, 65536):
            shown += chunk
    os.close(controller)
    assert result.returncode == 0
    assert result.stdout == "imported 3 task(s) from tasks.csv; new lists: Groceries, Work\n"
    assert b"Importing" in shown
    assert len(_tasks(person)) == 3


def test_tasks_without_a_list_go_to_the_one_given(person: Person) -> None:
    missing = person.todo("import-tasks", str(FIXTURES / "todo.txt"), "--list", "Someday")
    assert missing.exit_code == 2
    assert "no list named 'Someday'" in missing.stderr
    assert _tasks(person) == {}
    person.ok("add", "Placeholder +Someday")
    person.ok("import-tasks", str(FIXTURES / "todo.txt"), "--list", "someday")
    lists = _lists(person)
    made = _tasks(person)
    assert lists[made["Buy stamps"]["list_id"]] == "Someday"
    assert lists[made["Call Mom"]["list_id"]] == "Family"
