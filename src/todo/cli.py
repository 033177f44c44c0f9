"""The `todo` command: serve the app, manage the schema and the accounts."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from todo.client.commands import register as register_people_commands
from todo.core.config import Settings, SettingsError, load_settings

app = typer.Typer(
    help="Todo: a self-hosted task manager. Settings come from the environment or .env.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Manage the database schema (Alembic migrations).", no_args_is_help=True)
user_app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
trash_app = typer.Typer(help="Look after the trash of deleted tasks.", no_args_is_help=True)
events_app = typer.Typer(
    help="The change history: activity and live streams.", no_args_is_help=True
)
OPERATOR_PANEL = "Operating a server (on its database)"
app.add_typer(db_app, name="db", rich_help_panel=OPERATOR_PANEL)
app.add_typer(user_app, name="user", rich_help_panel=OPERATOR_PANEL)
app.add_typer(trash_app, name="trash", rich_help_panel=OPERATOR_PANEL)
app.add_typer(events_app, name="events", rich_help_panel=OPERATOR_PANEL)
register_people_commands(app)

T = TypeVar("T")


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        _fail(str(error), code=2)


def _backed_up_tables() -> None:
    """Load the models of every table a backup holds (the app's routers do it for its own
    downloads; a bare command has loaded none of them)."""
    import todo.comments.models
    import todo.notifications.models
    import todo.sharing.models  # noqa: F401


def _fail(message: str, *, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _shown(settings: Settings) -> str:
    from sqlalchemy import make_url

    return make_url(settings.database.url).render_as_string(hide_password=True)


# SQLSTATE classes of the failures an operator fixes outside the program: connection (08),
# authorization (28), no such database (3D), resources (53), server shutting down (57).
_OPERATOR_SQLSTATES = ("08", "28", "3D", "53", "57")


def _refusal(error: Exception, *, is_sqlite: bool) -> str | None:
    """One line for a database failure the operator can fix; None for a bug (keep its trace)."""
    from sqlalchemy.exc import DatabaseError, DBAPIError, OperationalError

    if not isinstance(error, DBAPIError):
        return None
    cause = error.orig
    reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    missing_table = "no such table" in reason if is_sqlite else _sqlstate(cause) == "42P01"
    if missing_table:
        return f"{reason}: the database has no schema yet: run `todo db upgrade` first"
    if is_sqlite and type(error) in (OperationalError, DatabaseError):
        return reason
    if (_sqlstate(cause) or "").startswith(_OPERATOR_SQLSTATES):
        return reason
    return None


def _sqlstate(cause: BaseException | None) -> str | None:
    state = getattr(cause, "sqlstate", None)
    return state if isinstance(state, str) else None


@contextmanager
def _database_errors(settings: Settings) -> Iterator[None]:
    """Answer what an operator can fix (a wrong URL, a database that is down or missing,
    an unknown revision, a domain refusal) with one line and exit code 1, not a traceback."""
    from todo.core.errors import AppError

    try:
        yield
    except AppError as error:
        _fail(error.detail)
    except OSError as error:
        reason = str(error) or type(error).__name__
        _fail(f"cannot connect to the database {_shown(settings)}: {reason}")
    except Exception as error:
        # Alembic is imported only by the commands that migrate; loading it here for an
        # isinstance check would slow every other command down.
        alembic_errors = sys.modules.get("alembic.util.exc")
        if alembic_errors is not None and isinstance(error, alembic_errors.CommandError):
            _fail(str(error))
        refusal = _refusal(error, is_sqlite=settings.database.is_sqlite)
        if refusal is None:
            raise
        _fail(f"cannot use the database {_shown(settings)}: {refusal}")


def _ready(settings: Settings) -> None:
    """Bring the schema to the newest revision on SQLite, as `todo serve` does; elsewhere
    (migrations there are a release step) refuse to work on a missing or older schema."""
    from todo import migrations

    if settings.database.is_sqlite and migrations.sqlite_at_head(settings):
        return
    at = asyncio.run(migrations.revision(settings))
    if settings.database.is_sqlite and (at is None or migrations.is_known(settings, at)):
        migrations.upgrade(settings)
        return
    problem = migrations.schema_problem(settings, at)
    if problem is not None:
        _fail(problem)


def _run(make: Callable[[Settings], Coroutine[Any, Any, T]]) -> T:
    """Run a command's database work on a schema that is ready for it."""
    settings = _settings()
    with _database_errors(settings):
        _ready(settings)
        return asyncio.run(make(settings))


def _migrating(action: Callable[[Settings], T]) -> T:
    settings = _settings()
    with _database_errors(settings):
        return action(settings)


# Not uvloop: its libuv accepts one connection per turn of the event loop, so under load new
# connections wait in the kernel's queue for seconds (make bench, one worker, 256
# connections: /health 8-16 s, the load's connections taken in one by one). asyncio's own
# loop accepts every waiting connection at once, and costs no more CPU per request here.
SERVER_LOOP = "asyncio"
# Seconds requests still running at shutdown get to finish.
SHUTDOWN_GRACE_SECONDS = 5


@app.command(rich_help_panel=OPERATOR_PANEL)
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", envvar="PORT")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
    migrate: Annotated[
        bool | None,
        typer.Option(
            help="Apply pending migrations first. Default: yes on the embedded SQLite "
            "database, no elsewhere (run `todo db upgrade` as a release step)."
        ),
    ] = None,
) -> None:
    """Serve the API and the web app."""
    import uvicorn

    from todo import migrations

    settings = _settings()
    # By default only the embedded SQLite database is migrated, and its common case, a file
    # already at the newest revision, is read directly rather than through Alembic.
    if migrate or (
        migrate is None and settings.database.is_sqlite and not migrations.sqlite_at_head(settings)
    ):
        with _database_errors(settings):
            migrations.upgrade(settings)
    uvicorn.run(
        "todo.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=None if reload else workers,
        reload=reload,
        log_level=settings.log_level,
        proxy_headers=True,
        loop=SERVER_LOOP,
        # Event streams never end by themselves: at shutdown they are cut after this long
        # (the clients reconnect and resume) instead of holding the process up for ever.
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )


@app.command(rich_help_panel=OPERATOR_PANEL)
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, max=100, help="Jobs run at once (default: JOBS_CONCURRENCY)."),
    ] = None,
) -> None:
    """Run the background jobs (reminders, digests, expiry) until SIGINT or SIGTERM.

    On PostgreSQL run as many as you like, on any machine; an app process started while
    one runs leaves the jobs to it (JOBS_IN_PROCESS=auto). On SQLite one process at a
    time runs them: `todo serve` does unless JOBS_IN_PROCESS=never."""
    from todo import worker as jobs

    settings = _settings()
    with _database_errors(settings):
        _ready(settings)
        asyncio.run(jobs.run(settings, concurrency=concurrency or settings.jobs_concurrency))


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from todo import migrations

    _migrating(lambda settings: migrations.upgrade(settings, revision))


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument()] = "-1") -> None:
    """Revert migrations down to REVISION (default: one step)."""
    from todo import migrations

    _migrating(lambda settings: migrations.downgrade(settings, revision))


@db_app.command("current")
def db_current() -> None:
    """Show the revision the database is at."""
    from todo import migrations

    typer.echo(_migrating(migrations.current) or "(empty database: no revision applied)")


@db_app.command("check")
def db_check() -> None:
    """Fail when the models and the migrations disagree."""
    from todo import migrations

    # Differences come as Alembic's CommandError: one line and exit code 1.
    _migrating(migrations.check)
    typer.echo("ok: the models and the migrations agree")


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Argument(help="The account's email address.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    password: Annotated[
        str,
        typer.Option(
            prompt=True, hide_input=True, confirmation_prompt=True, help="At least 8 characters."
        ),
    ] = "",
) -> None:
    """Create an account."""
    from pydantic import ValidationError

    from todo.accounts.schemas import SignupRequest
    from todo.services import accounts

    try:
        body = SignupRequest.model_validate({"email": email, "password": password, "name": name})
    except ValidationError as error:
        first = error.errors()[0]
        _fail(f"{first['loc'][0]}: {str(first['msg']).removeprefix('Value error, ')}", code=2)

    async def create(settings: Settings) -> str:
        from todo.core.db import Database
        from todo.core.security import Passwords

        db = Database(settings)
        try:
            async with db.session(write=True) as session:
                user = await accounts.create_user(
                    session,
                    Passwords(settings),
                    email=body.email,
                    password=body.password.get_secret_value(),
                    name=body.name,
                )
                return user.id
        finally:
            await db.dispose()

    typer.echo(_run(create))


@user_app.command("list")
def user_list() -> None:
    """List accounts: id, email, name."""
    from todo.core.db import Database
    from todo.services import accounts

    async def rows(settings: Settings) -> list[str]:
        db = Database(settings)
        try:
            async with db.session(write=False) as session:
                users = await accounts.list_users(session)
                return [f"{u.id}\t{u.email}\t{u.name}" for u in users]
        finally:
            await db.dispose()

    for row in _run(rows):
        typer.echo(row)


@user_app.command("delete")
def user_delete(
    email: Annotated[str, typer.Argument(help="The account's email address.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete an account and every task it owns."""
    from todo.core.db import Database
    from todo.services import accounts

    if not yes:
        typer.confirm(f"Delete {email} and all of its tasks?", abort=True)

    async def remove(settings: Settings) -> bool:
        db = Database(settings)
        try:
            async with db.session(write=True) as session:
                user = await accounts.find_by_email(session, email)
                if user is None:
                    return False
                await accounts.delete_user(session, user.id)
                return True
        finally:
            await db.dispose()

    if not _run(remove):
        _fail(f"no account with the email address {email}")
    typer.echo(f"deleted {email}")


@trash_app.command("purge")
def trash_purge() -> None:
    """Delete for good every task that has been in the trash for more than 30 days (run it
    daily, from cron or a job queue; the tasks are out of their owners' sight already)."""
    from todo.core.db import Database, utcnow
    from todo.tasks.schemas import TRASH_DAYS
    from todo.upkeep import purge_trash

    async def purge(settings: Settings) -> int:
        db = Database(settings)
        try:
            return await purge_trash(db, utcnow())
        finally:
            await db.dispose()

    typer.echo(f"purged {_run(purge)} task(s) deleted more than {TRASH_DAYS} days ago")


@user_app.command("set-password")
def user_set_password(
    email: Annotated[str, typer.Argument(help="The account's email address.")],
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from the first line of stdin."),
    ] = False,
    revoke_tokens: Annotated[
        bool,
        typer.Option(
            "--revoke-tokens",
            help="Revoke its personal access tokens too (they survive a password change).",
        ),
    ] = False,
) -> None:
    """Set an account's password (asked twice); ends its log-ins and web sessions."""
    from pydantic import TypeAdapter, ValidationError

    from todo.accounts import service as accounts
    from todo.accounts.schemas import NewPassword

    if password_stdin:
        # One line, as `docker login --password-stdin` reads it: the newline is not part of it.
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        checked = TypeAdapter(NewPassword).validate_python(password)
    except ValidationError as error:
        _fail(f"password: {str(error.errors()[0]['msg']).removeprefix('Value error, ')}", code=2)

    async def change(settings: Settings) -> None:
        from todo.core.db import Database
        from todo.core.security import Passwords

        db = Database(settings)
        try:
            async with db.session(write=True) as session:
                await accounts.set_password(
                    session,
                    Passwords(settings),
                    email=email,
                    new_password=checked.get_secret_value(),
                    revoke_access_tokens=revoke_tokens,
                )
        finally:
            await db.dispose()

    _run(change)
    ended = (
        "log-ins, sessions and personal access tokens" if revoke_tokens else "log-ins and sessions"
    )
    typer.echo(f"set the password of {email}; its earlier {ended} are ended")


@app.command("export", rich_help_panel=OPERATOR_PANEL)
def export(
    out: Annotated[
        Path, typer.Option("--out", help="File to write; `-` writes to standard output.")
    ],
    user: Annotated[
        str | None, typer.Option("--user", help="Only this account (email address).")
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="json (a backup) or ics (the account's tasks as iCalendar VTODOs, for "
            "calendar and task apps; needs --user).",
        ),
    ] = "json",
    list_name: Annotated[
        str | None, typer.Option("--list", help="With --format ics: only this list.")
    ] = None,
) -> None:
    """Back up every account (or one) with all its data as JSON, password hashes included;
    or write one account's tasks as an .ics file."""
    if fmt.lower() == "ics":
        _export_ics(out, user, list_name)
        return
    if fmt.lower() != "json":
        _fail(f"--format must be json or ics, not {fmt!r}", code=2)
    if list_name is not None:
        _fail("--list goes with --format ics", code=2)
    from todo.backup import service as backup

    _backed_up_tables()
    from todo.core.db import Database
    from todo.services import accounts

    async def dump(settings: Settings) -> dict[str, Any] | None:
        db = Database(settings)
        try:
            async with db.session(write=False) as session:
                if user is None:
                    return await backup.export_all(session)
                found = await accounts.find_by_email(session, user)
                if found is None:
                    return None
                return await backup.export_user(session, found.id, include_password_hash=True)
        finally:
            await db.dispose()

    document = _run(dump)
    if document is None:
        _fail(f"no account with the email address {user}")
    text = json.dumps(document, indent=1, ensure_ascii=False) + "\n"
    if str(out) == "-":
        typer.echo(text, nl=False)
        return
    # The file holds password hashes: readable by the owner only, and never half-written.
    partial = out.with_name(f".{out.name}.partial")
    try:
        partial.touch(mode=0o600)
        partial.write_text(text, encoding="utf-8")
        partial.replace(out)
    except OSError as error:
        partial.unlink(missing_ok=True)
        _fail(f"cannot write {out}: {error.strerror or error}")
    users = len(document["users"])
    tasks = sum(len(entry["tasks"]) for entry in document["users"])
    typer.echo(f"exported {users} account(s) and {tasks} task(s) to {out}", err=True)


def _export_ics(out: Path, user: str | None, list_name: str | None) -> None:
    if user is None:
        _fail("--format ics writes one account's tasks: give --user EMAIL", code=2)
    from todo.caldav import files
    from todo.core.db import Database
    from todo.lists import access
    from todo.services import accounts, lists, tasks

    async def dump(settings: Settings) -> bytes | str:
        db = Database(settings)
        try:
            async with db.session(write=False) as session:
                found = await accounts.find_by_email(session, user)
                if found is None:
                    return f"no account with the email address {user}"
                scope = await access.scope_of(session, found.id)
                list_id = None
                if list_name is not None:
                    wanted = " ".join(list_name.split()).casefold()
                    named = [
                        each
                        for each in await lists.list_lists(session, found.id)
                        if each.name.casefold() == wanted or (each.is_inbox and wanted == "inbox")
                    ]
                    if not named or named[0].id is None:
                        return f"{user} has no list named {list_name!r}"
                    list_id = named[0].id
                clock = tasks.Clock.of(found.timezone)
                return await files.export(session, scope, list_id=list_id, clock_=clock)
        finally:
            await db.dispose()

    written = _run(dump)
    if isinstance(written, str):
        _fail(written)
    if str(out) == "-":
        sys.stdout.buffer.write(written)
        return
    partial = out.with_name(f".{out.name}.partial")
    try:
        partial.write_bytes(written)
        partial.replace(out)
    except OSError as error:
        partial.unlink(missing_ok=True)
        _fail(f"cannot write {out}: {error.strerror or error}")
    count = written.count(b"BEGIN:VTODO")
    typer.echo(f"exported {count} task(s) of {user} to {out}", err=True)


@app.command("import", rich_help_panel=OPERATOR_PANEL)
def import_(
    file: Annotated[Path, typer.Argument(help="A file written by `todo export`.")],
) -> None:
    """Restore a backup into an empty database (the schema is created when missing)."""
    from todo import migrations
    from todo.backup import service as backup

    _backed_up_tables()
    from todo.core.db import Database

    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except OSError as error:
        _fail(f"cannot read {file}: {error.strerror or error}", code=2)
    except UnicodeDecodeError:
        _fail(f"{file} is not a backup: it is not UTF-8 text", code=2)
    except json.JSONDecodeError as error:
        _fail(f"{file} is not a backup: it is not JSON ({error})", code=2)
    # Checked whole before the database is touched: a bad file changes nothing.
    try:
        checked = backup.parse(document)
    except backup.InvalidBackup as error:
        for problem in error.errors or []:
            typer.echo(f"error: {problem['field']}: {problem['reason']}", err=True)
        raise typer.Exit(2) from None

    async def load(settings: Settings) -> backup.Restored:
        db = Database(settings)
        try:
            async with db.session(write=True) as session:
                return await backup.restore(session, checked)
        finally:
            await db.dispose()

    settings = _settings()
    with _database_errors(settings):
        # On every backend: a restore begins with an empty database, schema included.
        migrations.upgrade(settings)
        restored = asyncio.run(load(settings))
    typer.echo(f"imported {restored.users} account(s) and {restored.tasks} task(s) from {file}")
    # A "download my data" file has no password hashes: say how those accounts can log in.
    locked = [row["email"] for row in checked.rows["users"] if not row.get("password_hash")]
    if locked:
        shown = ", ".join(locked[:5]) + (f" and {len(locked) - 5} more" if len(locked) > 5 else "")
        typer.echo(
            f"note: {len(locked)} account(s) have no password ({shown}): give one with "
            "`todo user set-password EMAIL`, or log in through Better Auth",
            err=True,
        )


@events_app.command("prune")
def events_prune() -> None:
    """Delete the events older than EVENTS_RETENTION_DAYS (run it daily, from cron or a job
    queue); a live stream resuming from before the cut is told to reload."""
    from todo.core.db import Database, utcnow
    from todo.upkeep import prune_history

    async def prune(settings: Settings) -> int:
        db = Database(settings)
        try:
            return await prune_history(db, utcnow(), days=settings.events_retention_days)
        finally:
            await db.dispose()

    typer.echo(f"deleted {_run(prune)} event(s)")


def _not_alembic_setup(record: logging.LogRecord) -> bool:
    # Said on every connection, before any step: noise above the one line of a failure.
    return not record.getMessage().startswith(("Context impl", "Will assume"))


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # Every request the people's commands make would be a line of noise above their output.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.migration").addFilter(_not_alembic_setup)
    app()
