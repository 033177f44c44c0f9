"""A real HTTP server on the test app (event streams need one: the ASGI test transport
gathers a whole answer before handing it over) and a reader of its event streams."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from httpx_sse import aconnect_sse

from tests.reliability.live import free_port

DELIVERY_SECONDS = 1.0


@pytest.fixture
async def live_url(app: FastAPI, client: httpx.AsyncClient) -> AsyncIterator[str]:
    """The test app served over real HTTP (its lifespan is the session's, already running)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            lifespan="off",
            log_level="warning",
            timeout_graceful_shutdown=2,
        )
    )
    serving = asyncio.create_task(server.serve())
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as probe:
        for _ in range(200):
            with contextlib.suppress(httpx.TransportError):
                if (await probe.get(f"{url}/health")).status_code == 200:
                    break
            await asyncio.sleep(0.05)
    yield url
    server.should_exit = True
    await serving


@dataclass
class Received:
    # The newest event id of the stream's position (the whole of the SSE id when the
    # stream reads only its user's own events), and that position (Last-Event-ID).
    id: int
    event: str
    data: dict[str, Any]
    at: float
    position: str = ""


@dataclass
class Listener:
    """One event stream, read in the background into `received`."""

    url: str
    headers: dict[str, str]
    received: list[Received] = field(default_factory=list)
    status: int | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    async def _read(self) -> None:
        async with (
            httpx.AsyncClient(timeout=httpx.Timeout(5, read=60)) as http,
            aconnect_sse(http, "GET", self.url, headers=self.headers) as source,
        ):
            self.status = source.response.status_code
            if self.status != 200:
                self.ready.set()
                return
            async for message in source.aiter_sse():
                if message.retry is not None and not message.data:
                    self.ready.set()  # the "live" comment: listening from here on
                    continue
                if not message.data:
                    # A keep-alive comment after an event: httpx-sse hands it over as a
                    # message bearing the last id.
                    continue
                self.received.append(
                    Received(
                        int(message.id.partition(",")[0]),
                        message.event,
                        json.loads(message.data),
                        time.monotonic(),
                        message.id,
                    )
                )
                self._arrived.set()

    async def __aenter__(self) -> Listener:
        self._task = asyncio.create_task(self._read())
        await asyncio.wait_for(self.ready.wait(), 10)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def ended(self, within: float = 5) -> None:
        """Wait for the server to end the stream."""
        assert self._task is not None
        await asyncio.wait_for(asyncio.shield(self._task), within)

    async def until(self, count: int, within: float = 5) -> list[Received]:
        """The first `count` events, waiting for them at most `within` seconds."""
        deadline = time.monotonic() + within
        while len(self.received) < count:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{len(self.received)} of {count} events came: {self.received}"
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)
        return self.received[:count]


def stream(base_url: str, token: str, **headers: str) -> Listener:
    return Listener(f"{base_url}/api/me/events", {"Authorization": f"Bearer {token}", **headers})
