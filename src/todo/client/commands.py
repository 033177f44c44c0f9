"""The people's commands: log in to a Todo server and work with your tasks from a terminal.

They talk to a server over its HTTP API (never to a database), so they work the same on
this machine's server and on a remote one. Every failure is one `error:` line on stderr:
exit code 2 for what the command was given (an argument, a file, a missing log-in), 1 for
what the server refused or a server that cannot be reached.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, get_args

import typer

if TYPE_CHECKING:
    from todo.client.api import Api
    from todo.client.config import Login
    from todo.client.importers import Clock, Draft, Format, Parsed

PANEL = "Your tasks (on a server you log in to)"
PASSWORD_VARIABLE = "TODO_PASSWORD"  # noqa: S105 (the name of a variable)
LIST_LIMIT_DEFAULT = 200
VIEWS = ("today", "upcoming")
_ID = re.compile(r"[0-9]{1,16}")


def _choice(name: str, choices: Callable[[], tuple[str, ...]]) -> Any:
    """A parser that takes one of the API's own names, in any case. The names come from the
    API's schemas when a value is parsed: loading them for every `todo` command (`todo
    serve` included) would slow them all down."""

    def parse(text: str) -> str:
        known = choices()
        if text.lower() not in known:
            raise typer.BadParameter(f"{text!r} is not one of {', '.join(known)}")
        return text.lower()

    parse.__name__ = name
    return parse


def _priorities() -> tuple[str, ...]:
    from todo.tasks.schemas import PRIORITIES

    return PRIORITIES


def _sort_keys() -> tuple[str, ...]:
    from todo.tasks.schemas import SortKey

    return get_args(SortKey)


_PRIORITY = _choice("priority", _priorities)
_SORT = _choice("sort", _sort_keys)
_PRIORITY_HELP = "none, low, medium, high or urgent"
_SORT_HELP = "created, updated, title, due_date, priority, manual or completed"


class UsageProblem(Exception):
    """What the command was given is wrong (exit code 2)."""


def _fail(message: str, *, code: int) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def _answering() -> Iterator[None]:
    """Every expected failure as one line, never a traceback."""
    from todo.client.api import ClientError
    from todo.client.config import ConfigError
    from todo.client.importers import ImportFileError

    try:
        yield
    except (UsageProblem, ConfigError, ImportFileError) as error:
        _fail(str(error), code=2)
    except ClientError as error:
        _fail(str(error), code=1)


def _login() -> Login:
    from todo.client import config

    found = config.load()
    if found is None:
        raise UsageProblem("not logged in: run `todo login URL` (or set TODO_URL and TODO_TOKEN)")
    return found


@contextmanager
def _api() -> Iterator[Api]:
    from todo.client.api import Api

    with _answering():
        login = _login()
        with Api(login.url, login.token) as api:
            yield api


def _task_id(text: str) -> int:
    from todo.core.ids import ID_MAX

    if _ID.fullmatch(text) is None or not 1 <= int(text) <= ID_MAX:
        raise UsageProblem(f"{text!r} is not a task id (a whole number, see `todo ls`)")
    return int(text)


def _lists(api: Api) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api.json("GET", "/api/me/lists")
    return found


def _list_names(lists: list[dict[str, Any]]) -> dict[int, str]:
    return {entry["id"]: entry["name"] for entry in lists}


def _find_list(lists: list[dict[str, Any]], name: str) -> dict[str, Any]:
    wanted = " ".join(name.split()).casefold()
    for entry in lists:
        if entry["name"].casefold() == wanted or (entry.get("is_inbox") and wanted == "inbox"):
            return entry
    raise UsageProblem(f"no list named {name!r} (see `todo lists`)")


def _print_task(task: dict[str, Any], lists: dict[int, str], *, as_json: bool) -> None:
    from todo.client import render

    if as_json:
        render.print_json(task)
    else:
        render.console().print(render.one_line(task, lists), soft_wrap=True)


JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def login(
    url: Annotated[str, typer.Argument(help="The server, e.g. https://todo.example.com")],
    email: Annotated[
        str | None, typer.Option(help="Your email address (asked when left out).")
    ] = None,
) -> None:
    """Log in to a server and keep a personal access token for the other commands."""
    from todo.client import config
    from todo.client.api import Api, ApiError

    with _answering():
        try:
            base = config.normalize_url(url)
        except ValueError as error:
            raise UsageProblem(str(error)) from None
        if base.startswith("http://") and not _is_loopback(base):
            typer.echo(
                "warning: http:// sends your password and token unencrypted; use https://",
                err=True,
            )
        address = email or typer.prompt("Email")
        password = os.environ.get(PASSWORD_VARIABLE) or typer.prompt("Password", hide_input=True)
        with Api(base) as anonymous:
            session = anonymous.json(
                "POST", "/api/auth/login", json={"email": address, "password": password}
            )
        name = f"todo CLI on {socket.gethostname()}"[:100]
        with Api(base, session["access_token"]) as api:
            try:
                created = api.json(
                    "POST", "/api/auth/tokens", json={"name": name, "scopes": _all_scopes()}
                )
            except ApiError as error:
                if error.status not in (404, 405):
                    raise
                created = None
            if created is not None:
                _replace(api, base)
        if created is None:
            # A server without personal access tokens: its log-in token is all there is,
            # and it expires.
            hours = int(session.get("expires_in", 0)) // 3600
            typer.echo(
                f"warning: {base} has no personal access tokens; keeping the log-in token, "
                f"which expires in {hours} hour(s)",
                err=True,
            )
            saved = config.Login(
                url=base, token=session["access_token"], email=session["user"]["email"]
            )
        else:
            saved = config.Login(
                url=base,
                token=created["token"],
                token_id=int(created["id"]),
                email=session["user"]["email"],
            )
        path = config.save(saved)
    typer.echo(f"Logged in to {base} as {session['user']['email']} (login kept in {path})")


def _replace(api: Api, base: str) -> None:
    """Revoke the token an earlier `todo login` to this server kept, now that this log-in
    can: logging in again must not leave one more live token behind each time."""
    from todo.client import config
    from todo.client.api import ApiError

    try:
        earlier = config.read_file()
    except config.ConfigError:
        return
    if earlier is None or earlier.url != base or earlier.token_id is None:
        return
    try:
        api.call("DELETE", f"/api/auth/tokens/{earlier.token_id}")
    except ApiError as error:
        # Revoked already, or a token of another account (404 either way).
        if error.status != 404:
            raise


def _is_loopback(url: str) -> bool:
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


def _all_scopes() -> list[str]:
    # Every scope there is: the command line does what its owner does in the web app.
    from todo.accounts.schemas import SCOPES

    return list(SCOPES)


def _revoke(url: str, token_id: int, *, email: str, password: str) -> None:
    from todo.client.api import Api, ApiError

    with Api(url) as anonymous:
        session = anonymous.json(
            "POST", "/api/auth/login", json={"email": email, "password": password}
        )
    with Api(url, session["access_token"]) as api:
        try:
            api.call("DELETE", f"/api/auth/tokens/{token_id}")
        except ApiError as error:
            # Revoked already (on the account page, say): the goal is reached.
            if error.status != 404:
                raise


def logout(
    forget: Annotated[
        bool,
        typer.Option(
            "--forget",
            help="Only delete the login here; the token works until revoked on the account page.",
        ),
    ] = False,
) -> None:
    """Revoke the stored token on its server (asks for your password) and forget it here."""
    from todo.client import config
    from todo.client.api import ClientError

    with _answering():
        saved = config.read_file()
        if saved is None:
            typer.echo("Not logged in: nothing to do.")
            return
        if saved.token_id is not None and not forget:
            # A token may not revoke tokens, itself included (the server keeps that for a
            # log-in with the password): the revocation is made by a log-in of its own.
            password = os.environ.get(PASSWORD_VARIABLE) or None
            if password is None and not sys.stdin.isatty():
                raise UsageProblem(
                    f"revoking the token needs your password: set {PASSWORD_VARIABLE}, or "
                    "`todo logout --forget` deletes the login here only"
                )
            email = saved.email or typer.prompt("Email")
            if password is None:
                password = typer.prompt(
                    f"Password of {email} (to revoke the token)", hide_input=True
                )
            try:
                _revoke(saved.url, saved.token_id, email=email, password=password)
            except ClientError as error:
                raise ClientError(
                    f"{error}; the login here is kept (`todo logout --forget` deletes it "
                    "without revoking the token)"
                ) from None
        config.remove()
    if forget and saved.token_id is not None:
        typer.echo(
            f"Forgot the login to {saved.url}; its token still works until you revoke it on "
            "the account page"
        )
        return
    typer.echo(f"Logged out of {saved.url}")


def add(
    words: Annotated[
        list[str],
        typer.Argument(help='The task in quick-add words: "Pay rent every month on the 1st #home"'),
    ],
    list_name: Annotated[
        str | None, typer.Option("--list", help="The list, when the text names no +List.")
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option(help="A tag, when the text has no #tag (repeatable).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Add a task from one line of quick-add text (dates, #tags, !priority, +List)."""
    text = " ".join(words)
    with _api() as api:
        lists = _lists(api)
        body: dict[str, Any] = {"text": text}
        if list_name is not None:
            body["list_id"] = _find_list(lists, list_name)["id"]
        if tag:
            body["tags"] = tag
        # A retry of this very request (a dropped connection) must not add it twice.
        task = api.json(
            "POST",
            "/api/me/tasks/quick",
            json=body,
            headers={"Idempotency-Key": f"todo-cli-{uuid.uuid4()}"},
        )
        if task["list_id"] not in _list_names(lists):
            lists = _lists(api)  # the text named a list that did not exist yet
        _print_task(task, _list_names(lists), as_json=as_json)


def ls(
    view: Annotated[
        str | None,
        typer.Argument(help="today, upcoming, or a list's name (default: every list)."),
    ] = None,
    list_name: Annotated[
        str | None, typer.Option("--list", help="A list by name (even one called Today).")
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option(help="Only tasks with this tag (repeatable: all of them).")
    ] = None,
    priority: Annotated[
        list[str] | None,
        typer.Option(
            parser=_PRIORITY, help=f"Only this priority ({_PRIORITY_HELP}; repeatable: any)."
        ),
    ] = None,
    search: Annotated[str | None, typer.Option(help="Words in the title or notes.")] = None,
    done: Annotated[bool, typer.Option("--done", help="Completed tasks only.")] = False,
    every: Annotated[bool, typer.Option("--all", help="Open and completed tasks.")] = False,
    sort: Annotated[str | None, typer.Option(parser=_SORT, help=f"Sort by {_SORT_HELP}.")] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=100_000, help="Show at most this many tasks.")
    ] = LIST_LIMIT_DEFAULT,
    as_json: JsonOption = False,
) -> None:
    """List tasks: open ones by default, in a view or a list, filtered."""
    from todo.client import render

    with _api() as api:
        lists = _lists(api)
        params: dict[str, Any] = {"status": "all" if every else "completed" if done else "pending"}
        chosen = list_name
        if view is not None and view.lower() in VIEWS and list_name is None:
            params.update(_view(api, view.lower()))
        elif view is not None:
            if list_name is not None:
                raise UsageProblem("give a list either by name or with --list, not both")
            chosen = view
        if chosen is not None:
            params["list_id"] = _find_list(lists, chosen)["id"]
        if tag:
            params["tag"] = tag
        if priority:
            params["priority"] = priority
        if search:
            params["q"] = search
        if sort:
            params["sort"] = sort
        found = list(api.pages("/api/me/tasks", params, limit=limit + 1))
    shown = found[:limit]
    if as_json:
        render.print_json(shown)
        return
    out = render.console()
    if not shown:
        out.print("No tasks.")
        return
    out.print(render.tasks_table(shown, _list_names(lists), show_list="list_id" not in params))
    if len(found) > limit:
        typer.echo(f"(more tasks than {limit}: use --limit)", err=True)


def _view(api: Api, view: str) -> dict[str, Any]:
    """The parameters of the web app's views, in the account's time zone."""
    if view == "upcoming":
        # "week" is the next seven days from today in the account's zone, as Upcoming is.
        return {"due": "week", "sort": "due_date"}
    clock = _account_clock(api)
    today = clock.now.astimezone(clock.tz).date()
    return {"due_to": today.isoformat(), "sort": "due_date"}


def _account_clock(api: Api) -> Clock:
    from zoneinfo import ZoneInfo

    from todo.client.importers import Clock

    me = api.json("GET", "/api/auth/me")
    try:
        zone = ZoneInfo(me.get("timezone") or "UTC")
    except (ValueError, KeyError):
        zone = ZoneInfo("UTC")
    return Clock(now=datetime.now(UTC), tz=zone)


def _complete(ids: list[str], completed: bool, *, as_json: bool) -> None:
    from todo.client import render

    with _api() as api:
        numbers = [_task_id(text) for text in ids]
        lists = _list_names(_lists(api))
        answers = [
            api.json("PATCH", f"/api/me/tasks/{number}/complete", json={"completed": completed})
            for number in numbers
        ]
    if as_json:
        render.print_json(answers if len(answers) > 1 else answers[0])
        return
    for task in answers:
        render.console().print(render.one_line(task, lists), soft_wrap=True)


def done(
    ids: Annotated[list[str], typer.Argument(help="Task ids (see `todo ls`).")],
    as_json: JsonOption = False,
) -> None:
    """Complete tasks (a repeating task gets its next occurrence)."""
    _complete(ids, True, as_json=as_json)


def undone(
    ids: Annotated[list[str], typer.Argument(help="Task ids (see `todo ls --done`).")],
    as_json: JsonOption = False,
) -> None:
    """Reopen completed tasks."""
    _complete(ids, False, as_json=as_json)


def edit(
    task_id: Annotated[str, typer.Argument(metavar="ID", help="The task's id.")],
    title: Annotated[str | None, typer.Option(help="A new title.")] = None,
    notes: Annotated[str | None, typer.Option(help="New notes (the description).")] = None,
    due: Annotated[
        str | None,
        typer.Option(help='2026-12-24, 2026-12-24T17:30, words such as "next fri 5pm", or none.'),
    ] = None,
    priority: Annotated[
        str | None, typer.Option(parser=_PRIORITY, help=f"A new priority: {_PRIORITY_HELP}.")
    ] = None,
    list_name: Annotated[
        str | None, typer.Option("--list", help="Move to this list (Inbox for the Inbox).")
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option(help="Set the tags to these (repeatable).")
    ] = None,
    add_tag: Annotated[list[str] | None, typer.Option(help="Add a tag (repeatable).")] = None,
    remove_tag: Annotated[list[str] | None, typer.Option(help="Remove a tag (repeatable).")] = None,
    no_tags: Annotated[bool, typer.Option("--no-tags", help="Remove every tag.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Change a task's title, notes, due date, priority, list or tags."""
    changes = (title, notes, due, priority, list_name, tag, add_tag, remove_tag)
    if all(change is None for change in changes) and not no_tags:
        _fail("nothing to change: give --title, --due, --priority, ... (see --help)", code=2)
    with _api() as api:
        number = _task_id(task_id)
        current = api.call("GET", f"/api/me/tasks/{number}")
        task = current.json()
        lists = _lists(api)
        body: dict[str, Any] = {}
        if title is not None:
            body["title"] = title
        if notes is not None:
            body["description"] = notes
        if due is not None:
            body.update(_due(api, due))
        if priority is not None:
            body["priority"] = priority
        if list_name is not None:
            body["list_id"] = _find_list(lists, list_name)["id"]
        if tag is not None or add_tag or remove_tag or no_tags:
            body["tags"] = _new_tags(task["tags"], tag, add_tag, remove_tag, no_tags=no_tags)
        # The version read above: an edit made meanwhile elsewhere is not overwritten.
        updated = api.json(
            "PUT",
            f"/api/me/tasks/{number}",
            json=body,
            headers={"If-Match": current.headers.get("ETag", "*")},
        )
    _print_task(updated, _list_names(lists), as_json=as_json)


def _new_tags(
    tags: list[str],
    replace: list[str] | None,
    add: list[str] | None,
    remove: list[str] | None,
    *,
    no_tags: bool,
) -> list[str]:
    result = [] if no_tags else list(replace if replace is not None else tags)
    result += [name for name in add or [] if name.casefold() not in map(str.casefold, result)]
    dropped = {name.removeprefix("#").casefold() for name in remove or []}
    return [name for name in result if name.casefold() not in dropped]


def _due(api: Api, text: str) -> dict[str, Any]:
    """A due date from what a person types: ISO, quick-add words, or none."""
    text = text.strip()
    if text.lower() in ("", "none", "never"):
        return {"due_date": None, "due_at": None}
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        try:
            return {"due_date": date.fromisoformat(text).isoformat()}
        except ValueError as error:
            raise UsageProblem(f"--due: {text!r} is not a date: {error}") from None
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ].+", text):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError as error:
            raise UsageProblem(f"--due: {text!r} is not a time: {error}") from None
        # A time without an offset is this computer's wall time.
        return {"due_at": (moment if moment.tzinfo else moment.astimezone()).isoformat()}
    # The server reads words as its quick add does, in the account's time zone.
    found = api.json("GET", "/api/me/tasks/parse", params={"text": text})
    if found.get("title") or not (found.get("due_date") or found.get("due_at")):
        raise UsageProblem(f"--due: cannot read {text!r} as a date")
    if found.get("due_at"):
        return {"due_at": found["due_at"]}
    return {"due_date": found["due_date"], "due_at": None}


def rm(
    ids: Annotated[list[str], typer.Argument(help="Task ids (see `todo ls`).")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Delete tasks (asks first, unless --yes)."""
    from todo.client import render

    with _api() as api:
        numbers = [_task_id(text) for text in ids]
        found = [api.call("GET", f"/api/me/tasks/{number}") for number in numbers]
        for response in found:
            task = response.json()
            if not yes and not typer.confirm(
                f"Delete {task['id']} {render.clean(task['title'])!r}?"
            ):
                typer.echo(f"kept {task['id']}")
                continue
            api.call(
                "DELETE",
                f"/api/me/tasks/{task['id']}",
                headers={"If-Match": response.headers.get("ETag", "*")},
            )
            typer.echo(f"deleted {task['id']}")


def lists_command(as_json: JsonOption = False) -> None:
    """Your lists with their open tasks, the Inbox first."""
    from todo.client import render

    with _api() as api:
        found = _lists(api)
    if as_json:
        render.print_json(found)
        return
    render.console().print(render.lists_table(found))


def import_tasks(
    file: Annotated[Path, typer.Argument(help="The file to read.", show_default=False)],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="todoist (a project's CSV export), todotxt, csv "
            "(title,notes,due,priority,list,tags,done), todo (the web app's download) or ics "
            "(iCalendar tasks: Thunderbird, Apple Reminders, another CalDAV server). "
            "Default: from the file's name and first line.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be created; change nothing.")
    ] = False,
    skip_bad: Annotated[
        bool,
        typer.Option("--skip-bad", help="Import the good rows even when some are bad."),
    ] = False,
    list_name: Annotated[
        str | None, typer.Option("--list", help="The list of tasks that name none.")
    ] = None,
) -> None:
    """Import tasks from another program into your account on the server.

    Running it again over the same file within 24 hours adds nothing twice.
    """
    from todo.client import importers

    if (fmt or "").lower() == "ics" or (fmt is None and file.suffix.lower() == ".ics"):
        with _api() as api:
            _import_ics(api, file, dry_run=dry_run, list_name=list_name)
        return
    with _api() as api:
        text = importers.read_text(file)
        chosen = _format(fmt) if fmt is not None else importers.guess_format(file, text[:4096])
        parsed = importers.parse(text, chosen, name=file.name, clock=_account_clock(api))
        for note in parsed.notes:
            typer.echo(f"note: {note}", err=True)
        for problem in parsed.problems:
            typer.echo(f"error: {file.name} {problem}", err=True)
        if parsed.problems and not skip_bad:
            raise UsageProblem(
                f"nothing imported: {len(parsed.problems)} bad row(s) in {file.name}; fix "
                "them, or pass --skip-bad to import the others"
            )
        if not parsed.drafts:
            raise UsageProblem(f"no tasks to import in {file.name}")
        _import(api, parsed, file=file, dry_run=dry_run, default_list=list_name)


def _import_ics(api: Api, file: Path, *, dry_run: bool, list_name: str | None) -> None:
    """Send the file in parts the server takes (each task on its own there: a bad one is
    reported, one the account has already is skipped), parents before their subtasks."""
    from todo.caldav import icsfile
    from todo.caldav.schemas import ICS_MEDIA_TYPE, IMPORT_ITEMS_MAX, IMPORT_PART_BYTES
    from todo.core.errors import AppError

    try:
        body = file.read_bytes()
    except OSError as error:
        raise UsageProblem(f"cannot read {file}: {error.strerror or error}") from None
    try:
        objects = icsfile.parents_first(icsfile.split(body, limit=None))
    except AppError as error:
        raise UsageProblem(f"{file.name}: {error.detail}") from None
    lists = _lists(api)
    target = (
        _find_list(lists, list_name)
        if list_name is not None
        else next(entry for entry in lists if entry.get("is_inbox"))
    )
    problems = [each.problem for each in objects if each.problem is not None]
    good = [each for each in objects if each.problem is None]
    created = skipped = 0
    with _progress(len(good)) as advance:
        for run in icsfile.parts(good, items=IMPORT_ITEMS_MAX, size=IMPORT_PART_BYTES):
            report = api.json(
                "POST",
                f"/api/me/lists/{target['id']}/tasks.ics",
                content=icsfile.joined(run),
                params={"dry_run": "true"} if dry_run else None,
                headers={"Content-Type": ICS_MEDIA_TYPE},
            )
            created += report["created"]
            skipped += report["skipped"]
            for entry in report["errors"]:
                # The server counts the part's tasks from 1: name them as the file does.
                place = run[entry["index"] - 1].index if entry["index"] <= len(run) else 0
                problems.append(
                    icsfile.problem(place, entry["uid"], entry["code"], entry["reason"])
                )
            for _ in run:
                advance()
    for problem in sorted(problems, key=lambda each: each.index):
        uid = f" (UID {problem.uid})" if problem.uid else ""
        typer.echo(f"error: {file.name} task {problem.index}{uid}: {problem.reason}", err=True)
    into = f"into {target['name']}"
    if dry_run:
        summary = f"dry run: {created} task(s) would be imported {into}"
    else:
        summary = f"imported {created} task(s) from {file.name} {into}"
    if skipped:
        summary += f"; {skipped} were in the account already and were left as they are"
    if problems:
        summary += f"; {len(problems)} could not be imported"
    if dry_run:
        summary += "; nothing was changed"
    typer.echo(summary)
    if problems:
        raise typer.Exit(1)


def _format(text: str) -> Format:
    from todo.client.importers import FORMATS

    for known in FORMATS:
        if text.lower() == known:
            return known
    raise UsageProblem(f"--format must be one of {', '.join(FORMATS)}, not {text!r}")


def _import(
    api: Api, parsed: Parsed, *, file: Path, dry_run: bool, default_list: str | None
) -> None:
    from todo.client import render
    from todo.client.api import ApiError

    lists = _lists(api)
    known = {entry["name"].casefold(): entry["id"] for entry in lists}
    default_id = None
    if default_list is not None:
        default_id = _find_list(lists, default_list)["id"]
    wanted: dict[str, str] = {}
    for draft in parsed.drafts:
        if draft.list_name is not None and draft.list_name.casefold() not in known:
            wanted.setdefault(draft.list_name.casefold(), draft.list_name)
    if dry_run:
        _preview(parsed.drafts, wanted, known, lists, default_id)
        return
    for key, name in wanted.items():
        known[key] = _create_list(api, name)
    created = replayed = 0
    refused: list[str] = []
    with _progress(len(parsed.drafts)) as advance:
        for draft in parsed.drafts:
            list_id = default_id
            if draft.list_name is not None:
                list_id = known[draft.list_name.casefold()]
            try:
                response = api.call(
                    "POST",
                    "/api/me/tasks",
                    json=draft.body(list_id),
                    headers={"Idempotency-Key": draft.idempotency_key},
                )
            except ApiError as error:
                if error.code != "idempotency_key_reused":
                    raise ApiError(
                        error.status,
                        f"{file.name} {draft.where}: {error} (stopped: run the same command "
                        "again to go on, nothing is imported twice)",
                        error.code,
                    ) from None
                # Imported by an earlier run, and its list has changed since.
                refused.append(draft.where)
                replayed += 1
                advance()
                continue
            if response.headers.get("Idempotent-Replayed") == "true":
                replayed += 1
            else:
                created += 1
            advance()
    summary = f"imported {created} task(s) from {file.name}"
    if replayed:
        summary += f"; {replayed} were imported by an earlier run and were not added again"
    if wanted:
        summary += f"; new lists: {', '.join(render.clean(n) for n in wanted.values())}"
    typer.echo(summary)


def _create_list(api: Api, name: str) -> int:
    from todo.client.api import ApiError

    try:
        made = api.json("POST", "/api/me/lists", json={"name": name})
    except ApiError as error:
        if error.code != "list_name_taken":
            raise
        # Made meanwhile by someone else (another import, the web app): use that one.
        return int(_find_list(_lists(api), name)["id"])
    return int(made["id"])


@contextmanager
def _progress(total: int) -> Iterator[Any]:
    """A progress bar on a terminal; nothing at all when stderr is a file or a pipe."""
    if not sys.stderr.isatty():
        yield lambda: None
        return
    from rich.progress import Progress

    from todo.client import render

    with Progress(console=render.console(stderr=True), transient=True) as bar:
        job = bar.add_task("Importing", total=total)
        yield lambda: bar.advance(job)


def _preview(
    drafts: list[Draft],
    wanted: dict[str, str],
    known: dict[str, int],
    lists: list[dict[str, Any]],
    default_id: int | None,
) -> None:
    from todo.client import render

    names = _list_names(lists)
    inbox = next((entry["id"] for entry in lists if entry.get("is_inbox")), 0)
    rows = []
    for number, draft in enumerate(drafts, start=1):
        task = draft.body(None)
        task["id"] = number
        if draft.list_name is None:
            task["list_id"] = default_id or inbox
        elif draft.list_name.casefold() in known:
            task["list_id"] = known[draft.list_name.casefold()]
        else:
            task["list_id"] = -number
            names[-number] = f"{draft.list_name} (new)"
        rows.append(task)
    out = render.console()
    out.print(render.tasks_table(rows, names))
    new = ", ".join(render.clean(name) for name in wanted.values())
    typer.echo(
        f"dry run: {len(drafts)} task(s) would be imported"
        + (f", and these lists created: {new}" if new else "")
        + "; nothing was changed"
    )


def register(app: typer.Typer) -> None:
    for command, name in (
        (login, "login"),
        (logout, "logout"),
        (add, "add"),
        (ls, "ls"),
        (done, "done"),
        (undone, "undone"),
        (edit, "edit"),
        (rm, "rm"),
        (lists_command, "lists"),
        (import_tasks, "import-tasks"),
    ):
        app.command(name, rich_help_panel=PANEL)(command)
