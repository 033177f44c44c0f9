"""Hooks let a lower domain hand work to a higher one; a forgotten import must fail loudly."""

from __future__ import annotations

import subprocess
import sys

import pytest

from todo.core.hooks import Hook


async def test_a_hook_without_a_handler_refuses_to_run() -> None:
    hook: Hook[str] = Hook("nobody_listens")
    with pytest.raises(RuntimeError, match="nobody_listens"):
        await hook.run("x")


async def test_handlers_run_in_order_and_once_each() -> None:
    hook: Hook[list[str]] = Hook("ordered")
    seen: list[str] = []

    async def first(into: list[str]) -> None:
        into.append("first")

    async def second(into: list[str]) -> None:
        into.append("second")

    hook.connect(first)
    hook.connect(second)
    hook.connect(first)
    await hook.run(seen)
    assert seen == ["first", "second"]


def test_the_services_module_connects_every_account_hook() -> None:
    """What the CLI imports: accounts' hooks all have a handler there, in a fresh process."""
    probe = (
        "from todo.services import accounts\n"
        "hooks = [accounts.account_created, accounts.timezone_changed]\n"
        "print(all(hook._handlers for hook in hooks))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "True"
