from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import AliasChoices

from todo.core.config import Settings, SettingsError, load_settings, normalize_database_url

SECRET = "s" * 40


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        ("postgres://u:p@host/db", "postgresql+asyncpg://u:p@host/db"),
        ("postgresql://u:p@host:5433/db", "postgresql+asyncpg://u:p@host:5433/db"),
        ("postgresql+asyncpg://u@host/db", "postgresql+asyncpg://u@host/db"),
        ("postgresql+psycopg2://u@host/db", "postgresql+asyncpg://u@host/db"),
        ("sqlite:///./data/todo.db", "sqlite+aiosqlite:///./data/todo.db"),
        ("sqlite+aiosqlite:////abs/todo.db", "sqlite+aiosqlite:////abs/todo.db"),
    ],
)
def test_scheme_rewrites(raw: str, url: str) -> None:
    assert normalize_database_url(raw).url == url


def test_neon_url_with_sslmode_and_channel_binding() -> None:
    target = normalize_database_url(
        "postgresql://alex:pw@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb"
        "?sslmode=require&channel_binding=require"
    )
    assert target.url == (
        "postgresql+asyncpg://alex:pw@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb"
    )
    assert target.connect_args == {"ssl": "require"}
    assert target.dropped_params == ("channel_binding",)


def test_neon_pooler_host_disables_statement_cache() -> None:
    target = normalize_database_url(
        "postgres://alex:pw@ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech/neondb?sslmode=require"
    )
    assert target.connect_args["statement_cache_size"] == 0
    assert target.connect_args["ssl"] == "require"
    assert "prepared_statement_cache_size=0" in target.url
    name_func = target.connect_args["prepared_statement_name_func"]
    assert name_func() != name_func()


@pytest.mark.parametrize(
    ("query", "args"),
    [
        ("sslmode=disable", {"ssl": False}),
        ("sslmode=verify-full", {"ssl": "verify-full"}),
        ("connect_timeout=7", {"timeout": 7.0}),
        ("application_name=todo", {"server_settings": {"application_name": "todo"}}),
        ("options=-c%20search_path%3Dx&gssencmode=disable&target_session_attrs=any", {}),
    ],
)
def test_libpq_parameters(query: str, args: dict[str, object]) -> None:
    target = normalize_database_url(f"postgresql://u@h/db?{query}")
    assert target.connect_args == args
    assert "?" not in target.url


@pytest.mark.parametrize(
    "raw",
    ["mysql://u@h/db", "nonsense", "postgresql://u@h/db?sslmode=sometimes", "postgresql:///db"],
)
def test_bad_urls_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        normalize_database_url(raw)


def test_aliases_and_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BETTER_AUTH_SECRET", SECRET)
    monkeypatch.setenv("FRONTEND_URL", "https://app.example.com/, https://b.example.com")
    monkeypatch.setenv("ACCESS_TOKEN_TTL", "3600")
    settings = load_settings(data_dir=tmp_path)
    assert settings.auth_secret is not None
    assert settings.auth_secret.get_secret_value() == SECRET
    assert settings.cors_origins == ["https://app.example.com", "https://b.example.com"]
    assert settings.access_token_ttl.total_seconds() == 3600
    assert settings.db_pool_size == 5
    assert settings.db_max_overflow == 10
    assert settings.database_url == "sqlite+aiosqlite:///./data/todo.db"


def test_development_secret_is_generated_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("AUTH_SECRET", raising=False)
    monkeypatch.delenv("BETTER_AUTH_SECRET", raising=False)
    first = load_settings(data_dir=tmp_path)
    second = load_settings(data_dir=tmp_path)
    assert first.auth_secret is not None
    assert second.auth_secret is not None
    assert len(first.auth_secret.get_secret_value()) >= 32
    assert first.auth_secret.get_secret_value() == second.auth_secret.get_secret_value()
    assert (tmp_path / "auth_secret").stat().st_mode & 0o077 == 0


def test_production_refuses_to_start_without_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("AUTH_SECRET", raising=False)
    monkeypatch.delenv("BETTER_AUTH_SECRET", raising=False)
    with pytest.raises(SettingsError, match=r"^AUTH_SECRET: required"):
        load_settings(app_env="production", data_dir=tmp_path)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AUTH_SECRET": "short"}, "AUTH_SECRET: must be at least 32 characters long"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL: unsupported database scheme"),
        ({"DB_POOL_SIZE": "lots"}, "DB_POOL_SIZE:"),
        ({"APP_ENV": "staging"}, "APP_ENV:"),
    ],
)
def test_bad_setting_stops_start_with_one_line(
    env: dict[str, str], message: str, tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "todo", "db", "current"],
        env={"PATH": "/usr/bin:/bin", "AUTH_SECRET": SECRET, "DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {message}")
    assert "Traceback" not in result.stderr


def _variables() -> list[str]:
    names = []
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names += [str(choice) for choice in alias.choices]
        else:
            names.append(name.upper())
    return names


def test_empty_variables_mean_the_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`DATABASE_URL=` and the like, common in .env files, mean unset rather than a value."""
    monkeypatch.chdir(tmp_path)
    for name in _variables():
        monkeypatch.delenv(name, raising=False)
    defaults = load_settings()
    for name in _variables():
        monkeypatch.setenv(name, "")
    assert load_settings().model_dump() == defaults.model_dump()
    (tmp_path / ".env").write_text("".join(f"{name}=\n" for name in _variables()))
    for name in _variables():
        monkeypatch.delenv(name)
    assert load_settings().model_dump() == defaults.model_dump()


def test_a_token_lifetime_in_other_digits_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # "٣٦٠٠" is 3600 to str.isdigit() and int(); a setting is read in ASCII digits only.
    monkeypatch.setenv("ACCESS_TOKEN_TTL", "٣٦٠٠")
    with pytest.raises(SettingsError, match="ACCESS_TOKEN_TTL"):
        load_settings(data_dir=tmp_path)
