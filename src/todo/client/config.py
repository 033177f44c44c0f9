"""Where the client finds its server and token: the environment, else the config file."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import typer

APP_NAME = "todo"
URL_VARIABLE = "TODO_URL"
TOKEN_VARIABLE = "TODO_TOKEN"  # noqa: S105 (the name of a variable)


@dataclass(frozen=True)
class Login:
    url: str
    token: str
    # The personal access token's id, to revoke it at log-out; None for a token the
    # environment gave, which is not ours to revoke.
    token_id: int | None = None
    email: str | None = None


class ConfigError(Exception):
    """The config file cannot be read or written; the message says which and why."""


def config_path() -> Path:
    # click's get_app_dir follows XDG_CONFIG_HOME on Linux (~/.config/todo by default) and
    # each platform's own place elsewhere.
    return Path(typer.get_app_dir(APP_NAME)) / "config.json"


def load() -> Login | None:
    """The login to use: TODO_URL and TODO_TOKEN win over the file (for scripts)."""
    url = os.environ.get(URL_VARIABLE) or None
    token = os.environ.get(TOKEN_VARIABLE) or None
    if url is not None:
        try:
            url = normalize_url(url)
        except ValueError as error:
            raise ConfigError(f"{URL_VARIABLE}: {error}") from None
    if url and token:
        return Login(url=url, token=token)
    saved = read_file()
    if saved is None:
        return None
    if token:
        return Login(url=url or saved.url, token=token)
    if url and url != saved.url:
        # The stored token belongs to another server: never send it elsewhere.
        return None
    return saved


def read_file() -> Login | None:
    path = config_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}; run `todo login URL` again") from None
    try:
        return Login(
            url=str(raw["url"]),
            token=str(raw["token"]),
            token_id=int(raw["token_id"]) if raw.get("token_id") is not None else None,
            email=str(raw["email"]) if raw.get("email") is not None else None,
        )
    except (KeyError, TypeError, ValueError):
        raise ConfigError(f"{path} is not a login of this program; run `todo login URL`") from None


def save(login: Login) -> Path:
    """Write the file readable by its owner only, and never half-written."""
    path = config_path()
    partial = path.with_name(f".{path.name}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial.unlink(missing_ok=True)
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(asdict(login), file, indent=1)
            file.write("\n")
        partial.replace(path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise ConfigError(f"cannot write {path}: {error.strerror or error}") from None
    return path


def remove() -> bool:
    path = config_path()
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as error:
        raise ConfigError(f"cannot delete {path}: {error.strerror or error}") from None
    return True


def normalize_url(url: str) -> str:
    """The server's base address as the client stores it: no trailing slash, no path
    beyond the one given (a server behind a prefix keeps its prefix)."""
    url = url.strip()
    if "://" not in url:
        raise ValueError(f"{url!r} is not a server address: give one like https://todo.example.com")
    scheme, rest = url.split("://", 1)
    if scheme.lower() not in ("http", "https") or not rest.strip("/"):
        raise ValueError(f"{url!r} is not an http:// or https:// address")
    return f"{scheme.lower()}://{rest.rstrip('/')}"
