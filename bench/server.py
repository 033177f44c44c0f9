"""The server under test, started as production starts it, and its memory as /proc sees it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

import httpx

from bench.config import SEED_DIR
from bench.seed import Target


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


_TICK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat from field 3 (state) on, or None once the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name in parentheses may hold spaces: the fields follow its end.
    return stat[stat.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU the process has used so far (utime + stime, fields 14 and 15)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def descendants(pid: int) -> list[int]:
    """Every process below `pid`: workers, and anything they started."""
    found, frontier = [], [pid]
    while frontier:
        children = [child for parent in frontier for child in _children(parent)]
        found += children
        frontier = children
    return found


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None and int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def _is_worker(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return False
    # uvicorn's workers are multiprocessing "spawn" children; the resource tracker is not one.
    return b"multiprocessing.spawn" in command or b"spawn_main" in command


class Server:
    """`python -m todo serve --workers N` on a free port, with a peak-RSS sampler.

    `python` is the interpreter of the checkout to serve (another checkout's .venv for a
    comparison); the default is this one's.
    """

    def __init__(
        self, target: Target, *, workers: int, log: Path, python: str = sys.executable
    ) -> None:
        self.target, self.workers, self.log_path, self.python = target, workers, log, python
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.startup_s = 0.0
        self.peak_rss = 0
        self.phase_peak_rss = 0
        self._sampling = threading.Event()
        self._sampler: threading.Thread | None = None

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self, timeout: float = 60.0) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": self.target.url,
            "AUTH_SECRET": self.target.settings().auth_secret.get_secret_value(),  # type: ignore[union-attr]
            "APP_ENV": "production",
            "DATA_DIR": str(SEED_DIR),
            "PYTHONUNBUFFERED": "1",
        }
        # PYTHONPATH could put this checkout's code in front of another checkout's.
        for name in ("BETTER_AUTH_SECRET", "LOG_LEVEL", "PORT", "PYTHONPATH", "VIRTUAL_ENV"):
            env.pop(name, None)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        command = [self.python, "-m", "todo", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--workers", str(self.workers)]
        began = time.perf_counter()
        # Its own directory, so that no .env of a developer's checkout changes the settings.
        self.process = subprocess.Popen(
            command, cwd=SEED_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        with httpx.Client(timeout=1.0) as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the server exited at start-up; see {self.log_path}")
                try:
                    if client.get(f"{self.url}/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.perf_counter() - began > timeout:
                    raise RuntimeError(f"the server did not answer in {timeout} s")
                time.sleep(0.01)
        self.startup_s = time.perf_counter() - began
        self._wait_for_workers(began + timeout)
        self._sampling.set()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _wait_for_workers(self, deadline: float) -> None:
        # The first worker answers /health while the others may still be importing.
        while len(self.worker_pids()) < self.workers and time.perf_counter() < deadline:
            time.sleep(0.05)
        with httpx.Client(timeout=5.0) as client:
            for _ in range(4 * self.workers):
                client.get(f"{self.url}/health")

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        if self.workers == 1:
            return [self.process.pid]
        return [pid for pid in _children(self.process.pid) if _is_worker(pid)]

    def cpu_seconds(self) -> float:
        """CPU used so far by every process of the server: supervisor, workers, helpers.

        Read before and after a load and divided by the requests answered, it is the cost of
        a request, far steadier than req/s on a machine shared with other work. A process
        that exits in between takes its share with it; the servers here keep theirs.
        """
        assert self.process is not None
        pids = [self.process.pid, *descendants(self.process.pid)]
        return sum(cpu_seconds(pid) for pid in pids)

    def worker_rss(self) -> dict[int, int]:
        return {pid: _rss_bytes(pid) for pid in self.worker_pids()}

    def _sample(self) -> None:
        while self._sampling.is_set():
            total = sum(self.worker_rss().values())
            self.peak_rss = max(self.peak_rss, total)
            self.phase_peak_rss = max(self.phase_peak_rss, total)
            time.sleep(0.1)

    def new_phase(self) -> None:
        """Start a new peak for `phase_peak_rss` (the overall `peak_rss` keeps going)."""
        self.phase_peak_rss = sum(self.worker_rss().values())

    def stop(self) -> None:
        self._sampling.clear()
        if self._sampler is not None:
            self._sampler.join()
        if self.process is None or self.process.poll() is not None:
            return
        workers = self.worker_pids()
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for pid in workers:
            # Only the workers this server started, should the supervisor have left them.
            if pid != self.process.pid and Path(f"/proc/{pid}").exists():
                os.kill(pid, signal.SIGKILL)
