"""Settings: one object, read from the environment or `.env`, validated before anything starts."""

from __future__ import annotations

import ipaddress
import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from uuid import uuid4

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from todo.core.ids import parse_int

log = logging.getLogger("todo")

MIN_SECRET_LENGTH = 32

_SSL_MODES = {
    "disable": False,
    "allow": "allow",
    "prefer": "prefer",
    "require": "require",
    "verify-ca": "verify-ca",
    "verify-full": "verify-full",
}


@dataclass(frozen=True)
class DatabaseTarget:
    """A database URL that SQLAlchemy's async drivers accept, plus driver arguments."""

    url: str
    connect_args: dict[str, Any] = field(default_factory=dict)
    dropped_params: tuple[str, ...] = ()

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        path = self.url.split("///", 1)[1] if "///" in self.url else ""
        path = path.split("?", 1)[0]
        if not path or path == ":memory:":
            return None
        return Path(path)


def _unique_statement_name() -> str:
    # PgBouncer in transaction mode hands one server connection to many clients;
    # a unique name keeps prepared statements of different clients from colliding.
    return f"__asyncpg_{uuid4().hex}__"


def normalize_database_url(raw: str) -> DatabaseTarget:
    """Turn the URLs people paste from Neon, Heroku or libpq into what asyncpg accepts."""
    url = raw.strip()
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(
            "must be a URL such as postgresql://user@host/db or sqlite:///./data/todo.db"
        )
    scheme = scheme.lower()
    if scheme in {"sqlite", "sqlite+aiosqlite", "sqlite+pysqlite"}:
        return DatabaseTarget(url=f"sqlite+aiosqlite://{rest}")
    if scheme not in {"postgres", "postgresql", "postgresql+asyncpg", "postgresql+psycopg2"}:
        raise ValueError(f"unsupported database scheme {scheme!r}; use postgresql:// or sqlite://")

    parts = urlsplit(f"postgresql+asyncpg://{rest}")
    if not parts.hostname and "host=" not in parts.query:
        raise ValueError("a PostgreSQL URL needs a host")
    connect_args: dict[str, Any] = {}
    kept: list[tuple[str, str]] = []
    dropped: list[str] = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        name = key.lower()
        if name == "sslmode":
            if value not in _SSL_MODES:
                raise ValueError(f"sslmode={value!r} is not a libpq ssl mode")
            connect_args["ssl"] = _SSL_MODES[value]
        elif name == "connect_timeout":
            connect_args["timeout"] = float(value)
        elif name == "application_name":
            connect_args.setdefault("server_settings", {})["application_name"] = value
        elif name == "prepared_statement_cache_size":
            kept.append((key, value))
        else:
            # channel_binding, gssencmode, options and the other libpq-only parameters
            # would reach asyncpg.connect() as unknown keyword arguments and crash it.
            dropped.append(key)
    host = parts.hostname or ""
    if "-pooler" in host:
        # Neon's pooler is PgBouncer in transaction mode: server-side prepared statements
        # do not survive between transactions, so asyncpg must not cache them.
        connect_args["statement_cache_size"] = 0
        connect_args["prepared_statement_name_func"] = _unique_statement_name
        kept = [(k, v) for k, v in kept if k.lower() != "prepared_statement_cache_size"]
        kept.append(("prepared_statement_cache_size", "0"))
    normalized = urlunsplit(parts._replace(query=urlencode(kept)))
    return DatabaseTarget(url=normalized, connect_args=connect_args, dropped_params=tuple(dropped))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        # `DATABASE_URL=` in a .env file (or an empty variable) means unset: the default.
        env_ignore_empty=True,
    )

    app_env: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite+aiosqlite:///./data/todo.db"
    data_dir: Path = Path("./data")
    # Read as two settings, so that an error names the variable that holds the bad value;
    # load_settings() keeps Better Auth's own order: BETTER_AUTH_SECRET wins when both are set.
    auth_secret: SecretStr | None = Field(default=None, validation_alias="AUTH_SECRET")
    better_auth_secret: SecretStr | None = Field(
        default=None, validation_alias="BETTER_AUTH_SECRET"
    )
    access_token_ttl: timedelta = timedelta(days=1)
    auth_jwks_url: str | None = None
    # How long a fetched key set is used before it is fetched again (seconds).
    auth_jwks_cache_ttl: timedelta = Field(
        default=timedelta(minutes=10), ge=timedelta(0), le=timedelta(days=1)
    )
    auth_issuer: str | None = None
    auth_audience: str | None = None
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default=["http://localhost:3000"],
        validation_alias=AliasChoices("CORS_ORIGINS", "FRONTEND_URL"),
    )
    db_pool_size: int = Field(default=5, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=500)
    # How long a request waits in line for a connection before 503 database_unavailable:
    # long enough for a burst of 256 connections on one worker to be served in turn.
    db_pool_timeout: float = Field(default=20.0, gt=0, le=120)
    # Requests of one process waiting in line for a database connection (core/pool.py);
    # one more is refused at once with 503 server_busy.
    db_queue_limit: int = Field(default=512, ge=0, le=100_000)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    argon2_time_cost: int = Field(default=3, ge=1, le=20)
    argon2_memory_cost: int = Field(default=65536, ge=1024, le=4 * 1024 * 1024)
    argon2_parallelism: int = Field(default=4, ge=1, le=16)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # Shared counters for several app processes; memory (per process) when unset.
    redis_url: SecretStr | None = None
    redis_key_prefix: str = Field(default="todo:", max_length=100)
    # Log-in and sign-up attempts allowed per window, per email address and per client address.
    auth_rate_window: int = Field(default=900, ge=1, le=86400)
    auth_rate_per_account: int = Field(default=10, ge=1)
    auth_rate_per_address: int = Field(default=100, ge=1)
    # Background jobs (reminders, digests, expiry): `auto` runs them inside `todo serve` on
    # SQLite, and on PostgreSQL unless a `todo worker` process is alive when it starts.
    jobs_in_process: Literal["auto", "always", "never"] = "auto"
    jobs_concurrency: int = Field(default=4, ge=1, le=100)
    # Outgoing email; unset SMTP_HOST means no email is sent (the channel stays off).
    smtp_host: str | None = None
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = Field(default="todo@localhost", max_length=320)
    smtp_tls: Literal["none", "starttls", "tls"] = "starttls"
    smtp_timeout: float = Field(default=10.0, gt=0, le=120)
    # Web Push: the key pair is generated on first start and kept in the database unless
    # given here (a PEM or the raw base64url private key); push services want a contact.
    vapid_private_key: SecretStr | None = None
    vapid_subject: str = Field(default="mailto:todo@localhost", max_length=320)
    # Push endpoints come from browsers, so they are untrusted (SSRF): only the hosts of
    # the browsers' push services are used ("*.example.com" for a domain, "*" for any), and
    # private and loopback addresses only when the operator allows them (tests do).
    push_service_hosts: Annotated[list[str], NoDecode] = Field(
        default=[
            "fcm.googleapis.com",
            "*.push.services.mozilla.com",
            "*.notify.windows.com",
            "*.push.apple.com",
        ]
    )
    push_allow_private_endpoints: bool = False

    @field_validator("push_service_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [host.strip().lower() for host in value.split(",") if host.strip()]
        return value

    # Webhook targets come from users, so they are untrusted (SSRF): loopback, private,
    # link-local and other non-public addresses are refused unless listed here (host names
    # or addresses, and CIDR ranges such as 10.0.0.0/8).
    webhook_allow_private: Annotated[list[str], NoDecode] = Field(default=[])
    # Seconds before the first retry of a failed delivery; each next wait is 4 times longer.
    webhook_retry_base: float = Field(default=10.0, gt=0, le=3600)
    webhook_timeout: float = Field(default=10.0, gt=0, le=60)

    @field_validator("webhook_allow_private", mode="before")
    @classmethod
    def _split_private(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [entry.strip().lower() for entry in value.split(",") if entry.strip()]
        for entry in value:
            if "/" in entry:
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    raise ValueError(f"{entry!r} is not a CIDR range") from None
        return value

    # Events (activity, live streams) older than this many days may be pruned.
    events_retention_days: int = Field(default=30, ge=1, le=3650)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("access_token_ttl", "auth_jwks_cache_ttl", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> Any:
        # Environment variables are strings; a bare number means seconds.
        if isinstance(value, str):
            seconds = parse_int(value.strip())
            if seconds is not None:
                return seconds
        return value

    @field_validator("access_token_ttl")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value.total_seconds() < 60:
            raise ValueError("must be at least 60 seconds")
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not value.get_secret_value().startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a URL such as redis://127.0.0.1:6379/0")
        return value

    @field_validator("vapid_subject")
    @classmethod
    def _check_vapid_subject(cls, value: str) -> str:
        if not value.startswith(("mailto:", "https://")):
            raise ValueError("must be a mailto: or https:// URL that push services can contact")
        return value

    @property
    def smtp_port_or_default(self) -> int:
        if self.smtp_port is not None:
            return self.smtp_port
        return {"none": 25, "starttls": 587, "tls": 465}[self.smtp_tls]

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        normalize_database_url(value)
        return value

    @field_validator("auth_secret", "better_auth_secret")
    @classmethod
    def _check_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(f"must be at least {MIN_SECRET_LENGTH} characters long")
        return value

    @property
    def database(self) -> DatabaseTarget:
        return normalize_database_url(self.database_url)

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"


class SettingsError(Exception):
    """A setting is missing or wrong; the message is one line naming the variable."""


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    name = str(first["loc"][0]).upper() if first["loc"] else "settings"
    reason = str(first["msg"]).removeprefix("Value error, ")
    return f"{name}: {reason}"


def load_settings(**overrides: Any) -> Settings:
    """Read and validate settings, then settle the auth secret; raise SettingsError."""
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None
    if settings.better_auth_secret is not None:
        settings.auth_secret = settings.better_auth_secret
    if settings.auth_secret is None:
        if settings.is_production:
            raise SettingsError(
                "AUTH_SECRET: required when APP_ENV=production (at least 32 characters)"
            )
        settings.auth_secret = SecretStr(_development_secret(settings.data_dir))
    return settings


def _development_secret(data_dir: Path) -> str:
    """A secret generated once per data folder, so development tokens survive restarts."""
    path = data_dir / "auth_secret"
    try:
        existing = path.read_text().strip()
    except FileNotFoundError:
        existing = ""
    if len(existing) >= MIN_SECRET_LENGTH:
        return existing
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(secret + "\n")
    log.warning("AUTH_SECRET is not set: generated one in %s (set AUTH_SECRET in production)", path)
    return secret
