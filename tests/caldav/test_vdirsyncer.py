"""vdirsyncer syncing a live server's list with a local folder of .ics files, both ways.

vdirsyncer lives in its own locked environment (tests/interop/vdirsyncer), run through uv,
so that nothing it brings reaches our own.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.caldav.conftest import DavAccount

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
UV = ROOT / ".bootstrap" / "bin" / "uv"
PROJECT = ROOT / "tests" / "interop" / "vdirsyncer"
# vdirsyncer's debug log names each HTTP request it sends on a line of its own.
_REQUEST = re.compile(r"^debug: ([A-Z]+) http://\S+$", re.MULTILINE)
_ACTIONS = ("Copying", "Updating", "Deleting")


def config(folder: Path, status: Path, url: str, who: DavAccount) -> str:
    email, password = who.auth
    return f"""[general]
status_path = "{status}/"

[pair tasks]
a = "tasks_local"
b = "tasks_remote"
collections = null

[storage tasks_local]
type = "filesystem"
path = "{folder}/"
fileext = ".ics"

[storage tasks_remote]
type = "caldav"
url = "{url}"
username = "{email}"
password = "{password}"
item_types = ["VTODO"]
"""


class Vdirsyncer:
    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path

    async def __call__(self, *args: str) -> str:
        env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
        process = await asyncio.create_subprocess_exec(
            str(UV),
            "run",
            "--quiet",
            "--locked",
            "--project",
            str(PROJECT),
            "vdirsyncer",
            "-v",
            "debug",
            "-c",
            str(self.config_path),
            *args,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        raw, _ = await asyncio.wait_for(process.communicate(), timeout=240)
        output = raw.decode(errors="replace")
        assert process.returncode == 0, output
        return output

    async def sync(self) -> str:
        output = await self("sync")
        assert "error:" not in output.lower(), output
        return output


def actions(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(_ACTIONS)]


def requests(output: str) -> list[str]:
    return _REQUEST.findall(output)


async def titles(client: httpx.AsyncClient, who: DavAccount) -> dict[str, dict[str, Any]]:
    answer = await client.get("/api/me/tasks?limit=100", headers=who.account.headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    rows = body["items"] if isinstance(body, dict) else body
    return {row["title"]: row for row in rows}


def local_todo(uid: str, summary: str) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Todo tests//vdirsyncer//EN\r\n"
        f"BEGIN:VTODO\r\nUID:{uid}\r\nDTSTAMP:20261206T120000Z\r\nSUMMARY:{summary}\r\n"
        "X-LOCAL-ONLY:kept\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    )


@pytest.mark.skipif(not UV.exists(), reason="uv is not bootstrapped (make .venv/.synced)")
async def test_vdirsyncer_both_ways_with_a_local_folder(
    client: httpx.AsyncClient, live_url: str, dav_alice: DavAccount, tmp_path: Path
) -> None:
    me = dav_alice.account
    lists = (await client.get("/api/me/lists", headers=me.headers)).json()
    inbox = next(each for each in lists if each["is_inbox"])
    url = f"{live_url}/dav/calendars/{me.id}/{inbox['id']}/"
    folder, status = tmp_path / "local", tmp_path / "status"
    folder.mkdir()
    status.mkdir()
    (tmp_path / "config").write_text(config(folder, status, url, dav_alice))
    vdirsyncer = Vdirsyncer(tmp_path / "config")
    milk = await client.post("/api/me/tasks", json={"title": "Buy milk"}, headers=me.headers)
    assert milk.status_code == 201, milk.text
    bread = await client.post("/api/me/tasks", json={"title": "Buy bread"}, headers=me.headers)
    assert bread.status_code == 201

    await vdirsyncer("discover")
    first = await vdirsyncer.sync()
    files = {path.name: path.read_text() for path in folder.iterdir()}
    assert len(files) == 2, first
    assert sum("SUMMARY:Buy milk" in text for text in files.values()) == 1
    milk_file = next(folder / name for name, text in files.items() if "Buy milk" in text)
    bread_file = next(folder / name for name, text in files.items() if "Buy bread" in text)

    # Nothing changed: one listing of the etags, nothing fetched, nothing written.
    idle = await vdirsyncer.sync()
    assert actions(idle) == [], idle
    assert requests(idle) == ["REPORT"], idle

    # Local edit, local addition, local deletion.
    milk_file.write_text(milk_file.read_text().replace("SUMMARY:Buy milk", "SUMMARY:Buy oat milk"))
    (folder / "local-made.ics").write_text(local_todo("local-made", "Call the plumber"))
    bread_file.unlink()
    pushed = await vdirsyncer.sync()
    assert len(actions(pushed)) == 3, pushed
    on_server = await titles(client, dav_alice)
    assert set(on_server) == {"Buy oat milk", "Call the plumber"}, pushed
    assert on_server["Buy oat milk"]["id"] == milk.json()["id"]
    # vdirsyncer names the object after its UID; what we do not map is kept.
    made = await client.get(url.replace(live_url, "") + "local-made.ics", auth=dav_alice.auth)
    assert made.status_code == 200, pushed
    assert "X-LOCAL-ONLY:kept" in made.text

    # Server edit, server deletion: the folder follows.
    plumber = on_server["Call the plumber"]["id"]
    renamed = await client.put(
        f"/api/me/tasks/{plumber}", json={"title": "Call the plumber at 9"}, headers=me.headers
    )
    assert renamed.status_code == 200, renamed.text
    gone = await client.delete(f"/api/me/tasks/{milk.json()['id']}", headers=me.headers)
    assert gone.status_code in (200, 204), gone.text
    pulled = await vdirsyncer.sync()
    assert len(actions(pulled)) == 2, pulled
    remaining = [path.read_text() for path in folder.iterdir()]
    assert len(remaining) == 1, pulled
    assert "SUMMARY:Call the plumber at 9" in remaining[0]
    assert "X-LOCAL-ONLY:kept" in remaining[0]

    settled = await vdirsyncer.sync()
    assert actions(settled) == [], settled
    assert requests(settled) == ["REPORT"], settled
