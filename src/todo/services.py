"""Every domain's service, imported together so that each has connected its hooks
(core/hooks.py). Code outside the app that changes accounts (the CLI, scripts) imports the
services from here; the app imports every domain through its routes anyway."""

from __future__ import annotations

from todo.accounts import service as accounts
from todo.lists import service as lists
from todo.sharing import service as sharing
from todo.tags import service as tags
from todo.tasks import service as tasks

__all__ = ["accounts", "lists", "sharing", "tags", "tasks"]
