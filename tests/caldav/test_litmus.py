"""Debian's `litmus` (the WebDAV test suite) against a live server, held to a baseline.

litmus is written for a file server: it makes plain collections anywhere and stores any
bytes. Ours is a CalDAV server holding VTODO lists, so what litmus cannot do here is
recorded in BASELINE with the reason; every other test must pass, and a baseline entry that
starts passing (or fails otherwise) fails this test until the baseline says so.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import pytest

from tests.caldav.conftest import DavAccount

pytestmark = pytest.mark.timeout(180)

LITMUS = shutil.which("litmus")
SUITES = "basic copymove props locks http"

# The file litmus uploads for its copy, move and property tests: a task, so that it is stored.
FOO = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Todo tests//litmus//EN\r\n"
    "BEGIN:VTODO\r\nUID:litmus-foo\r\nDTSTAMP:20261201T000000Z\r\n"
    "SUMMARY:This is a test file called foo\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
)

NOT_ICAL = "litmus PUTs plain text; a calendar holds iCalendar objects only (400)"
NO_NESTING = "collections do not nest inside a calendar (403, RFC 4791 5.3.1)"
SAME_UID = (
    "litmus uploads its one file (one UID) under a second name in the same calendar: "
    "refused as a UID conflict (409, RFC 4791 5.3.2.1 no-uid-conflict)"
)
NO_DEAD_PROPS = "objects keep no dead properties: PROPPATCH on a task is refused (403)"

# (suite, test number, test name) -> (outcome, why)
BASELINE: dict[tuple[str, int, str], tuple[str, str]] = {
    ("basic", 3, "put_get"): ("FAIL", NOT_ICAL),
    ("basic", 4, "put_get_utf8_segment"): ("FAIL", NOT_ICAL),
    ("basic", 6, "mkcol_over_plain"): ("SKIPPED", "needs put_get's plain resource"),
    ("basic", 7, "delete"): ("SKIPPED", "needs put_get's plain resource"),
    ("basic", 9, "delete_fragment"): ("FAIL", NO_NESTING),
    ("basic", 10, "mkcol"): ("FAIL", NO_NESTING),
    ("basic", 11, "mkcol_again"): ("SKIPPED", "needs mkcol"),
    ("basic", 12, "delete_coll"): ("SKIPPED", "needs mkcol"),
    ("copymove", 2, "copy_init"): ("FAIL", NO_NESTING),
    ("copymove", 3, "copy_simple"): ("SKIPPED", "COPY is not supported (405)"),
    ("copymove", 4, "copy_overwrite"): ("SKIPPED", "COPY is not supported (405)"),
    ("copymove", 5, "copy_nodestcoll"): ("SKIPPED", "COPY is not supported (405)"),
    ("copymove", 7, "copy_coll"): ("FAIL", NO_NESTING),
    ("copymove", 8, "copy_shallow"): ("FAIL", NO_NESTING),
    ("copymove", 9, "move"): ("FAIL", SAME_UID),
    ("copymove", 10, "move_coll"): ("FAIL", NO_NESTING),
    ("props", 6, "propset"): ("FAIL", NO_DEAD_PROPS),
    ("props", 7, "propget"): ("SKIPPED", "needs propset"),
    ("props", 9, "propmove"): ("SKIPPED", "needs propset"),
    ("props", 10, "propget"): ("SKIPPED", "needs propset"),
    ("props", 11, "propdeletes"): ("SKIPPED", "needs propset"),
    ("props", 12, "propget"): ("SKIPPED", "needs propset"),
    ("props", 13, "propreplace"): ("SKIPPED", "needs propset"),
    ("props", 14, "propget"): ("SKIPPED", "needs propset"),
    ("props", 15, "propnullns"): ("SKIPPED", "needs propset"),
    ("props", 16, "propget"): ("SKIPPED", "needs propset"),
    ("props", 17, "prophighunicode"): ("SKIPPED", "needs propset"),
    ("props", 18, "propget"): ("SKIPPED", "needs propset"),
    ("props", 19, "propremoveset"): ("SKIPPED", "needs propset"),
    ("props", 20, "propget"): ("SKIPPED", "needs propset"),
    ("props", 21, "propsetremove"): ("SKIPPED", "needs propset"),
    ("props", 22, "propget"): ("SKIPPED", "needs propset"),
    ("props", 23, "propvalnspace"): ("SKIPPED", "needs propset"),
    ("props", 25, "propinit"): ("FAIL", SAME_UID),
    ("props", 26, "propmanyns"): ("FAIL", "needs propinit's object"),
    ("props", 27, "propget"): ("SKIPPED", "needs propmanyns"),
    ("locks", 3, "precond"): ("SKIPPED", "no locking: the server is DAV class 1 and 3, not 2"),
}

_SUITE = re.compile(r"-> running `(\w+)'")
_STEP = re.compile(r"(?:(\d+)\. (\w+))?\.{2,} ?(pass|FAIL|SKIPPED)?")


def outcomes(output: str) -> dict[tuple[str, int, str], str]:
    """Each test's outcome from litmus's report (it prints a test's name again before its
    outcome, and puts the outcome of a test with warnings on a line of its own)."""
    found: dict[tuple[str, int, str], str] = {}
    suite = ""
    for line in output.splitlines():
        started = _SUITE.search(line)
        if started:
            suite = started.group(1)
            continue
        for step in _STEP.finditer(line):
            number, name, outcome = step.groups()
            if number is not None:
                current = (suite, int(number), name)
            if outcome is not None:
                found[current] = outcome
    return found


def test_report_parsing() -> None:
    report = (
        "-> running `basic':\n"
        " 0. init..................  0. init.................. pass\n"
        " 2. options............... WARNING: no class 2\n"
        "    ...................... pass (with 1 warning)\n"
        " 3. put_get............... FAIL (PUT failed: 400 Bad Request)\n"
        "-> running `locks':\n"
        " 3. precond............... SKIPPED\n"
    )
    assert outcomes(report) == {
        ("basic", 0, "init"): "pass",
        ("basic", 2, "options"): "pass",
        ("basic", 3, "put_get"): "FAIL",
        ("locks", 3, "precond"): "SKIPPED",
    }


@pytest.mark.skipif(LITMUS is None, reason="litmus is not installed (apt-get install litmus)")
async def test_litmus_against_the_baseline(
    live_url: str, dav_alice: DavAccount, tmp_path: Path
) -> None:
    assert LITMUS is not None
    htdocs = tmp_path / "htdocs"
    htdocs.mkdir()
    (htdocs / "foo").write_text(FOO)
    email, password = dav_alice.auth
    process = await asyncio.create_subprocess_exec(
        LITMUS,
        "--keep-going",
        f"{live_url}/dav/calendars/{dav_alice.account.id}/",
        email,
        password,
        env={"TESTS": SUITES, "HTDOCS": str(htdocs), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,  # its debug.log and child.log
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    raw, _ = await asyncio.wait_for(process.communicate(), timeout=150)
    output = raw.decode(errors="replace")
    found = outcomes(output)
    assert {suite for suite, _, _ in found} == set(SUITES.split()), output
    unexpected = {
        test: outcome
        for test, outcome in found.items()
        if outcome != BASELINE.get(test, ("pass", ""))[0]
    }
    assert not unexpected, f"outcomes off the baseline: {unexpected}\n{output}"
    missing = set(BASELINE) - set(found)
    assert not missing, f"baseline tests litmus did not report: {missing}\n{output}"
