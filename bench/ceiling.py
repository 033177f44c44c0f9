"""The stack's own ceiling: a bare FastAPI endpoint under the same uvicorn, no database.

The floor measures the SQL of an endpoint without the service; this measures the service's
frame without the SQL: one GET that returns a fixed task-shaped JSON object through FastAPI's
response model, served by `uvicorn --workers N` with the access log on and proxy headers
read, as `todo serve` runs it. No endpoint of the app can beat it, so ceiling / floor bounds
the service / floor ratio that any code of ours could reach on this machine.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import BaseModel

from bench.config import ROOT
from bench.server import free_port
from todo.cli import SERVER_LOOP

PATH = "/ceiling"


class _Task(BaseModel):
    id: int
    title: str
    description: str
    completed: bool
    priority: str
    list_id: int
    tags: list[str]
    due_date: str | None
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


_TASK = _Task(
    id=123456,
    title="Pay invoice before Friday",
    description="",
    completed=False,
    priority="none",
    list_id=42,
    tags=["home"],
    due_date=None,
    due_at=None,
    created_at=datetime(2026, 11, 23, 12, 0, tzinfo=UTC),
    updated_at=datetime(2026, 11, 23, 12, 0, tzinfo=UTC),
    version=1,
)

app = FastAPI()


@app.get(PATH, response_model=_Task)
async def ceiling() -> _Task:
    return _TASK


class CeilingServer:
    def __init__(self, *, workers: int, log: Path) -> None:
        self.workers, self.log_path = workers, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> CeilingServer:
        command = [sys.executable, "-m", "uvicorn", "bench.ceiling:app", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--workers", str(self.workers), "--proxy-headers"]
        command += ["--loop", SERVER_LOOP]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT.parent, stdout=log, stderr=subprocess.STDOUT
            )
        began = time.monotonic()
        with httpx.Client(timeout=1.0) as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the ceiling server exited; see {self.log_path}")
                try:
                    if client.get(self.url + PATH).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() - began > 60:
                    raise RuntimeError("the ceiling server did not answer in 60 s")
                time.sleep(0.05)
            # Every worker up before the measurement starts.
            time.sleep(1.0)
            for _ in range(4 * self.workers):
                client.get(self.url + PATH)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
