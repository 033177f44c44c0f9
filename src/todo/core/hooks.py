"""Hooks: how a lower domain lets a higher one do its part inside the same transaction.

Layers point one way (core -> accounts -> lists, tags -> tasks -> ...), yet some changes to
an account need work above it: a new account gets an Inbox (lists), a new time zone re-times
the due dates (tasks). The lower domain runs a hook at that point; the higher domain connects
its handler when its service module is imported. Handlers never commit: the caller does, once.
A hook with no handler refuses to run, so a caller that forgot to import the higher domain
fails loudly instead of silently skipping its part.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, ParamSpec

P = ParamSpec("P")


class Hook(Generic[P]):
    def __init__(self, name: str) -> None:
        self.name = name
        self._handlers: list[Callable[P, Awaitable[None]]] = []

    def connect(self, handler: Callable[P, Awaitable[None]]) -> Callable[P, Awaitable[None]]:
        """Use as a decorator; connecting the same handler twice keeps one."""
        if handler not in self._handlers:
            self._handlers.append(handler)
        return handler

    async def run(self, *args: P.args, **kwargs: P.kwargs) -> None:
        if not self._handlers:
            raise RuntimeError(
                f"hook {self.name!r} has no handler: import the domain that handles it"
            )
        for handler in self._handlers:
            await handler(*args, **kwargs)
