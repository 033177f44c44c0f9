"""`todo import-tasks FILE.ics` against a live server, and the operator's
`todo export --format ics`: subtasks, parts, dry runs, and a round trip."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar

from tests.client.conftest import FIXTURES, Person

THUNDERBIRD = FIXTURES / "thunderbird.ics"


def _tasks(person: Person) -> dict[str, dict[str, Any]]:
    with person.api() as api:
        response = api.get("/api/me/tasks", params={"status": "all", "limit": 500})
    assert response.status_code == 200, response.text
    return {task["title"]: task for task in response.json()}


def _operator(person: Person) -> dict[str, str | None]:
    return {"DATABASE_URL": person.server.database_url, "DATA_DIR": str(person.server.data_dir)}


def test_a_thunderbird_file_imported(person: Person) -> None:
    dry = person.ok("import-tasks", str(THUNDERBIRD), "--dry-run")
    assert dry.stdout == "dry run: 3 task(s) would be imported into Inbox; nothing was changed\n"
    assert _tasks(person) == {}
    first = person.ok("import-tasks", str(THUNDERBIRD), "--list", "inbox")
    assert first.stdout == "imported 3 task(s) from thunderbird.ics into Inbox\n"
    assert "Importing" not in first.stderr
    made = _tasks(person)
    trip, bags = made["Holiday in Lisbon"], made["Pack the bags"]
    assert bags["parent_id"] == trip["id"]
    assert trip["priority"] == "urgent"
    assert trip["tags"] == ["travel"]
    assert trip["due_at"] == "2027-03-10T17:00:00Z"
    assert trip["description"] == "Flights booked, hotel not yet."
    assert made["Renew the passport"]["completed"] is True
    again = person.ok("import-tasks", str(THUNDERBIRD))
    assert again.stdout == (
        "imported 0 task(s) from thunderbird.ics into Inbox; 3 were in the account already "
        "and were left as they are\n"
    )
    assert len(_tasks(person)) == 3


def test_a_large_file_goes_in_parts_parents_first(
    person: Person, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Parts of three tasks: the parent, last in the file, goes in the first part.
    monkeypatch.setattr("todo.caldav.schemas.IMPORT_ITEMS_MAX", 3)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//EN"]
    for n in range(7):
        lines += ["BEGIN:VTODO", f"UID:kid-{n}", f"SUMMARY:kid {n}", "RELATED-TO:boss", "END:VTODO"]
    lines += ["BEGIN:VEVENT", "UID:meeting", "SUMMARY:Meeting", "END:VEVENT"]
    lines += ["BEGIN:VTODO", "UID:boss", "SUMMARY:boss", "END:VTODO", "END:VCALENDAR", ""]
    file = tmp_path / "big.ics"
    file.write_bytes("\r\n".join(lines).encode())
    result = person.todo("import-tasks", str(file))
    assert result.exit_code == 1, result.output
    assert result.stdout == (
        "imported 8 task(s) from big.ics into Inbox; 1 could not be imported\n"
    )
    assert "big.ics task 8 (UID meeting): A VEVENT is not a task" in result.stderr
    made = _tasks(person)
    assert len(made) == 8
    assert {made[f"kid {n}"]["parent_id"] for n in range(7)} == {made["boss"]["id"]}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a calendar", "thunderbird.ics: The file is not iCalendar data"),
        (b"", "thunderbird.ics: The file is empty."),
    ],
)
def test_a_file_that_is_no_icalendar(
    person: Person, tmp_path: Path, content: bytes, message: str
) -> None:
    file = tmp_path / "thunderbird.ics"
    file.write_bytes(content)
    result = person.todo("import-tasks", str(file))
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
    missing = person.todo("import-tasks", str(tmp_path / "none.ics"))
    assert missing.exit_code == 2
    assert "cannot read" in missing.stderr


def test_operator_export_and_a_round_trip(person: Person, stranger: Person, tmp_path: Path) -> None:
    person.ok("import-tasks", str(THUNDERBIRD))
    out = tmp_path / "out.ics"
    operator = _operator(person)
    exported = person.ok(
        "export", "--format", "ics", "--user", person.email, "--out", str(out), **operator
    )
    assert "exported 3 task(s)" in exported.stderr
    calendar = Calendar.from_ical(out.read_bytes())
    todos = {str(each["SUMMARY"]): each for each in calendar.walk("VTODO")}
    assert set(todos) == {"Holiday in Lisbon", "Pack the bags", "Renew the passport"}
    assert "GEO:38.72;-9.14" in out.read_text()
    assert str(todos["Holiday in Lisbon"]["X-MOZ-GENERATION"]) == "3"
    assert [each["TZID"] for each in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]
    one_list = person.ok(
        "export", "--format", "ics", "--user", person.email, "--list", "Inbox", "--out", "-",
        **_operator(person),
    )  # fmt: skip
    assert one_list.stdout.count("BEGIN:VTODO") == 3
    assert "X-WR-CALNAME:Inbox" in one_list.stdout
    no_list = person.todo(
        "export", "--format", "ics", "--user", person.email, "--list", "Nope", "--out", "-",
        **_operator(person),
    )  # fmt: skip
    assert no_list.exit_code == 1
    assert "has no list named 'Nope'" in no_list.stderr
    assert person.todo("export", "--format", "ics", "--out", "-").exit_code == 2
    stranger.ok("login", stranger.server.url, "--email", stranger.email)
    stranger.ok("import-tasks", str(out))
    theirs = _tasks(stranger)
    assert theirs["Pack the bags"]["parent_id"] == theirs["Holiday in Lisbon"]["id"]


def test_a_terminal_shows_progress(person: Person) -> None:
    controller, terminal = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "todo", "import-tasks", str(THUNDERBIRD)],
            env={**os.environ, **{k: v for k, v in person.env().items() if v is not None}},
            stdout=subprocess.PIPE,
            stderr=terminal,
            text=True,
            timeout=60,
        )
    finally:
        os.close(terminal)
    shown = b""
    with suppress(OSError):
        while chunk := os.read(controller, 65536):
            shown += chunk
    os.close(controller)
    assert result.returncode == 0
    assert b"Importing" in shown
    assert len(_tasks(person)) == 3
