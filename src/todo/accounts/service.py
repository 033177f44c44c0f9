"""Accounts: sign-up, log-in, token resolution and profile changes."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from todo.accounts.models import AccessToken, AppPassword, DeletedAccount, User, WebSession
from todo.accounts.schemas import (
    APP_PASSWORDS_PER_USER_MAX,
    EMAIL_MAX,
    NAME_MAX,
    SCOPES,
    TOKENS_PER_USER_MAX,
)
from todo.core.db import end_reads, utcnow
from todo.core.errors import Conflict, NotFound, Unauthorized, Unprocessable
from todo.core.hooks import Hook
from todo.core.ids import ID_MAX
from todo.core.security import Passwords
from todo.core.tokens import TokenClaims, TokenService

# Run inside the writer's transaction; handlers never commit.
account_created: Hook[AsyncSession, str] = Hook("account_created")
"""A new account (its user id): lists gives it an Inbox."""
timezone_changed: Hook[AsyncSession, str, ZoneInfo] = Hook("timezone_changed")
"""An account's new time zone: tasks re-derives the day of every timed due date."""


@dataclass(frozen=True)
class Authenticated:
    user: User
    access_token: str
    expires_in: int


def issue_token(tokens: TokenService, user: User) -> Authenticated:
    token, expires_in = tokens.issue(user.id, session_version=user.session_version)
    return Authenticated(user=user, access_token=token, expires_in=expires_in)


async def get_user(session: AsyncSession, user_id: str) -> User | None:
    return await session.get(User, user_id)


async def names(session: AsyncSession, user_ids: Collection[str]) -> dict[str, str]:
    """The names of these accounts, by id (accounts that are gone are left out)."""
    if not user_ids:
        return {}
    result = await session.exec(select(User.id, User.name).where(col(User.id).in_(user_ids)))
    return dict(result.all())


async def find_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.exec(select(User).where(User.email == email.strip().lower()))
    return result.one_or_none()


async def create_user(
    session: AsyncSession,
    passwords: Passwords,
    *,
    email: str,
    password: str | None,
    name: str = "",
    timezone: str = "UTC",
    user_id: str | None = None,
) -> User:
    """Create an account; commits. An address already in use is a Conflict."""
    user = await _add_user(
        session, passwords, email=email, password=password, name=name, timezone=timezone
    )
    if user_id is not None:
        user.id = user_id
    await _insert_with_inbox_or_conflict(session, user)
    await session.commit()
    return user


async def _add_user(
    session: AsyncSession,
    passwords: Passwords,
    *,
    email: str,
    password: str | None,
    name: str,
    timezone: str,
) -> User:
    """A new account, not yet written; a Conflict when the address is already in use."""
    email = email.strip().lower()
    if await find_by_email(session, email) is not None:
        raise _email_taken()
    # Hashed outside the transaction; an account created meanwhile is caught on insert.
    await end_reads(session)
    return User(
        email=email,
        name=name,
        timezone=timezone,
        password_hash=await passwords.hash(password) if password is not None else None,
    )


def _email_taken() -> Conflict:
    return Conflict("An account with this email address already exists.", code="email_taken")


async def _insert_with_inbox_or_conflict(session: AsyncSession, user: User) -> None:
    if not await _insert_with_inbox(session, user):
        raise _email_taken()


async def _insert_with_inbox(session: AsyncSession, user: User) -> bool:
    """Write a new user and their Inbox without committing; False (and the transaction
    rolled back) when the email is taken by an account created meanwhile."""
    session.add(user)
    try:
        await session.flush()
        await account_created.run(session, user.id)
    except IntegrityError:
        await session.rollback()
        return False
    return True


async def signup(
    session: AsyncSession,
    *,
    passwords: Passwords,
    tokens: TokenService,
    email: str,
    password: str,
    name: str,
    timezone: str = "UTC",
) -> Authenticated:
    user = await create_user(
        session, passwords, email=email, password=password, name=name, timezone=timezone
    )
    return issue_token(tokens, user)


async def _check_credentials(
    session: AsyncSession, passwords: Passwords, *, email: str, password: str
) -> User:
    """The account these credentials open. A rehash is staged on the session, not committed."""
    user = await find_by_email(session, email)
    await end_reads(session)
    valid, new_hash = await passwords.verify(password, user.password_hash if user else None)
    if user is None or not valid:
        raise Unauthorized(
            "The email address or the password is wrong.", code="invalid_credentials"
        )
    if new_hash is not None:
        user.password_hash = new_hash
        session.add(user)
    return user


async def login(
    session: AsyncSession,
    *,
    passwords: Passwords,
    tokens: TokenService,
    email: str,
    password: str,
) -> Authenticated:
    user = await _check_credentials(session, passwords, email=email, password=password)
    await session.commit()
    return issue_token(tokens, user)


async def resolve_token(session: AsyncSession, claims: TokenClaims) -> User:
    """The user a verified token speaks for, or Unauthorized when it no longer may."""
    user = await session.get(User, claims.user_id)
    if user is None:
        return await _first_sight(session, claims)
    if claims.session_version is not None:
        if claims.session_version != user.session_version:
            raise Unauthorized("This token was revoked by a log-out.", code="token_revoked")
        return user
    if user.tokens_valid_after is not None and (
        claims.issued_at is None or claims.issued_at < _whole_second(user.tokens_valid_after)
    ):
        raise Unauthorized("This token was revoked by a log-out.", code="token_revoked")
    return await _follow_profile(session, user, claims)


def _whole_second(instant: datetime) -> datetime:
    # Tokens issued elsewhere carry `iat` in whole seconds: one issued in the second of a
    # cut-off may be from after it, and is given the benefit of the doubt.
    return instant.replace(microsecond=0)


async def _first_sight(session: AsyncSession, claims: TokenClaims) -> User:
    """A user signed in by the Better Auth front end, seen here for the first time."""
    if claims.session_version is not None or not claims.email:
        raise _user_gone()
    if await session.get(DeletedAccount, claims.user_id) is not None:
        raise _user_gone()
    email, name = _token_profile(claims, User(email="", name=""))
    user = User(id=claims.user_id, email=email, name=name)
    if not await _insert_with_inbox(session, user):
        raise _email_conflict() from None
    await session.commit()
    return user


async def _follow_profile(session: AsyncSession, user: User, claims: TokenClaims) -> User:
    """Take a changed name or email from a token issued after our copy was last changed;
    an older token still in use must not turn the change back."""
    email, name = _token_profile(claims, user)
    if (email, name) == (user.email, user.name):
        return user
    if claims.issued_at is None or claims.issued_at < _whole_second(user.updated_at):
        return user
    # Never earlier than the token's own issue time, so that tokens from before it (even
    # from a clock a little behind ours) cannot turn the change back.
    user.email, user.name, user.updated_at = email, name, max(utcnow(), claims.issued_at)
    session.add(user)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise _email_conflict() from None
    return user


def _token_profile(claims: TokenClaims, user: User) -> tuple[str, str]:
    """The email and name a token gives, within our limits; the user's own where it has none.
    Better Auth limits neither, and an address too long to store cannot be ours to keep."""
    email = claims.email.strip().lower() if claims.email else user.email
    if len(email) > EMAIL_MAX:
        raise Unauthorized(
            f"The token's email address is longer than {EMAIL_MAX} characters.",
            code="invalid_token",
        )
    name = " ".join(claims.name.split())[:NAME_MAX] if claims.name is not None else user.name
    return email, name


def _user_gone() -> Unauthorized:
    return Unauthorized("The account of this token no longer exists.", code="user_gone")


def _email_conflict() -> Unauthorized:
    return Unauthorized(
        "The email address of this token belongs to another account.", code="email_conflict"
    )


async def update_profile(
    session: AsyncSession,
    user: User,
    *,
    passwords: Passwords,
    name: str | None = None,
    current_password: str | None = None,
    new_password: str | None = None,
    timezone: str | None = None,
    keep_web_session: str | None = None,
) -> User:
    """Change what is given. A new password ends every token and web session of the account
    (whoever changed it may be the one who stole the old one), except `keep_web_session`."""
    if new_password is not None:
        await end_reads(session)
        valid, _ = await passwords.verify(current_password or "", user.password_hash)
        if current_password is None or not valid:
            raise Unprocessable(
                "The current password is wrong.",
                code="wrong_password",
                errors=[{"field": "current_password", "reason": "does not match"}],
            )
        checked = user.password_hash
        new_hash = await passwords.hash(new_password)
        # The hash was checked outside any transaction: another change of the same current
        # password may have won meanwhile. Only a change that still finds the hash it checked
        # may replace it, or both would be acknowledged and one of them silently lost.
        changed = await session.exec(
            update(User)
            .where(col(User.id) == user.id, col(User.password_hash) == checked)
            .values(
                password_hash=new_hash,
                session_version=User.session_version + 1,
                tokens_valid_after=utcnow(),
            )
        )
        if changed.rowcount == 0:
            raise Unprocessable(
                "The current password is wrong.",
                code="wrong_password",
                errors=[{"field": "current_password", "reason": "does not match"}],
            )
        await session.refresh(user)
        await _end_web_sessions(session, user.id, keep=keep_web_session)
    if name is not None:
        user.name = name
    if timezone is not None and timezone != user.timezone:
        user.timezone = timezone
        await timezone_changed.run(session, user.id, ZoneInfo(timezone))
    user.updated_at = utcnow()
    session.add(user)
    await session.commit()
    return user


async def set_password(
    session: AsyncSession,
    passwords: Passwords,
    *,
    email: str,
    new_password: str,
    revoke_access_tokens: bool = False,
) -> User:
    """An operator sets an account's password (one restored from a download has none).
    Like a change by the owner, it ends every log-in token and web session of the account;
    personal access tokens too when asked (an account broken into), as log-out-everywhere
    does."""
    # Hashed before the first statement: the transaction (SQLite's write lock) stays short.
    new_hash = await passwords.hash(new_password)
    user = await find_by_email(session, email)
    if user is None:
        raise NotFound(f"No account has the email address {email}.", code="user_not_found")
    await session.exec(
        update(User)
        .where(col(User.id) == user.id)
        .values(
            password_hash=new_hash,
            session_version=User.session_version + 1,
            tokens_valid_after=utcnow(),
            updated_at=utcnow(),
        )
    )
    await _end_web_sessions(session, user.id)
    if revoke_access_tokens:
        await session.exec(delete(AccessToken).where(col(AccessToken.user_id) == user.id))
    await session.exec(delete(AppPassword).where(col(AppPassword.user_id) == user.id))
    await session.commit()
    await session.refresh(user)
    return user


async def logout_everywhere(session: AsyncSession, user: User) -> None:
    """End every token, web session, personal access token and app password of the
    account: someone who fears a stolen log-in fears what it may have created too."""
    await session.exec(
        update(User)
        .where(col(User.id) == user.id)
        .values(session_version=User.session_version + 1, tokens_valid_after=utcnow())
    )
    await _end_web_sessions(session, user.id)
    await session.exec(delete(AccessToken).where(col(AccessToken.user_id) == user.id))
    await session.exec(delete(AppPassword).where(col(AppPassword.user_id) == user.id))
    await session.commit()


async def _end_web_sessions(
    session: AsyncSession, user_id: str, *, keep: str | None = None
) -> None:
    statement = delete(WebSession).where(col(WebSession.user_id) == user_id)
    if keep is not None:
        statement = statement.where(col(WebSession.id) != keep)
    await session.exec(statement)


async def delete_user(session: AsyncSession, user_id: str) -> None:
    """Delete an account; its tasks go with it through ON DELETE CASCADE."""
    result = await session.exec(delete(User).where(col(User.id) == user_id))
    if result.rowcount == 0:
        raise NotFound("No such user.", code="user_not_found")
    await session.merge(DeletedAccount(user_id=user_id))
    await session.commit()


async def list_users(session: AsyncSession) -> Sequence[User]:
    result = await session.exec(select(User).order_by(func.lower(User.email)))
    return result.all()


# Web sessions: the browser app's log-ins, kept server-side so that logging out ends them.

WEB_SESSION_IDLE = timedelta(days=30)
WEB_SESSION_MAX = timedelta(days=90)
# Renewing on every request would turn every page view into a write.
_WEB_SESSION_RENEW_STEP = timedelta(days=1)
_WEB_TOKEN_MAX_LENGTH = 128


@dataclass(frozen=True)
class WebLogin:
    user: User
    token: str
    """For the cookie only: the database keeps its digest."""


@dataclass(frozen=True)
class ActiveWebSession:
    user: User
    session_id: str
    flash: str | None
    renew_due: bool


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _renewed_expiry(created_at: datetime, now: datetime) -> datetime:
    return min(now + WEB_SESSION_IDLE, created_at + WEB_SESSION_MAX)


async def _open_web_session(session: AsyncSession, user_id: str, now: datetime) -> str:
    # Sessions left to expire would otherwise pile up for people who never log out.
    await session.exec(
        delete(WebSession).where(
            col(WebSession.user_id) == user_id, col(WebSession.expires_at) <= now
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            id=_digest(token), user_id=user_id, created_at=now, expires_at=now + WEB_SESSION_IDLE
        )
    )
    return token


async def web_login(
    session: AsyncSession,
    *,
    passwords: Passwords,
    email: str,
    password: str,
    now: datetime | None = None,
) -> WebLogin:
    user = await _check_credentials(session, passwords, email=email, password=password)
    token = await _open_web_session(session, user.id, now or utcnow())
    await session.commit()
    return WebLogin(user=user, token=token)


async def web_signup(
    session: AsyncSession,
    *,
    passwords: Passwords,
    email: str,
    password: str,
    name: str,
    timezone: str = "UTC",
) -> WebLogin:
    """The account, its Inbox, its time zone and its first web session, in one transaction."""
    user = await _add_user(
        session, passwords, email=email, password=password, name=name, timezone=timezone
    )
    await _insert_with_inbox_or_conflict(session, user)
    token = await _open_web_session(session, user.id, utcnow())
    await session.commit()
    return WebLogin(user=user, token=token)


async def resolve_web_session(
    session: AsyncSession, token: str, *, now: datetime | None = None
) -> ActiveWebSession | None:
    """The session a cookie's token opens, or None when it is unknown, ended or expired."""
    if not token or len(token) > _WEB_TOKEN_MAX_LENGTH:
        return None
    now = now or utcnow()
    result = await session.exec(
        select(WebSession, User)
        .join(User, col(User.id) == col(WebSession.user_id))
        .where(col(WebSession.id) == _digest(token), col(WebSession.expires_at) > now)
    )
    row = result.one_or_none()
    if row is None:
        return None
    record, user = row
    renewed = _renewed_expiry(record.created_at, now)
    return ActiveWebSession(
        user=user,
        session_id=record.id,
        flash=record.flash,
        renew_due=renewed - record.expires_at >= _WEB_SESSION_RENEW_STEP,
    )


async def renew_web_session(
    session: AsyncSession, session_id: str, *, now: datetime | None = None
) -> None:
    """Push the expiry of a session in use forward, up to its cap."""
    record = await session.get(WebSession, session_id)
    if record is None:
        return
    renewed = _renewed_expiry(record.created_at, now or utcnow())
    if renewed > record.expires_at:
        record.expires_at = renewed
        session.add(record)
        await session.commit()


async def end_web_session(session: AsyncSession, token: str) -> None:
    await session.exec(delete(WebSession).where(col(WebSession.id) == _digest(token)))
    await session.commit()


async def set_flash(session: AsyncSession, session_id: str, flash: str | None) -> None:
    await session.exec(
        update(WebSession).where(col(WebSession.id) == session_id).values(flash=flash)
    )
    await session.commit()


# Personal access tokens: opaque secrets for other programs, limited to scopes. A password
# change leaves them working (as GitHub does: scripts keep running); "log out everywhere",
# deleting the token or the account ends them.

ACCESS_TOKEN_PREFIX = "todo_pat_"  # noqa: S105 (how a token starts, not a secret)
# The prefix and 32 random bytes in URL-safe base64, nothing else: anything other is refused
# before the database is asked.
_ACCESS_TOKEN = re.compile(r"todo_pat_[A-Za-z0-9_-]{43}")
# How stale `last_used_at` may be: a token in use is written down once a minute, not on
# every request.
LAST_USED_STEP = timedelta(minutes=1)


@dataclass(frozen=True)
class NewAccessToken:
    record: AccessToken
    token: str
    """The secret, for its creator's answer only: the database keeps its digest."""


@dataclass(frozen=True)
class AccessTokenUse:
    user: User
    token_id: int
    scopes: frozenset[str]
    touch_due: bool


def token_scopes(record: AccessToken) -> list[str]:
    return record.scopes.split()


def _token_not_found(token_id: int) -> NotFound:
    return NotFound(f"Token {token_id} was not found.", code="token_not_found")


async def create_access_token(
    session: AsyncSession,
    user_id: str,
    *,
    name: str,
    scopes: Sequence[str],
    expires_at: datetime | None = None,
) -> NewAccessToken:
    """A new token with these scopes (checked by AccessTokenCreate); commits."""
    # Parallel creations for one user take turns, so that each counts the tokens the
    # others made and the cap holds.
    await take_turn(session, user_id)
    held = await session.exec(
        select(func.count()).select_from(AccessToken).where(col(AccessToken.user_id) == user_id)
    )
    if held.one() >= TOKENS_PER_USER_MAX:
        raise Conflict(
            f"An account can have at most {TOKENS_PER_USER_MAX} personal access tokens: "
            "revoke one first.",
            code="too_many_tokens",
        )
    token = ACCESS_TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = AccessToken(
        user_id=user_id,
        name=name,
        digest=_digest(token),
        scopes=" ".join(scope for scope in SCOPES if scope in scopes),
        expires_at=expires_at,
    )
    session.add(record)
    await session.commit()
    return NewAccessToken(record=record, token=token)


async def list_access_tokens(session: AsyncSession, user_id: str) -> Sequence[AccessToken]:
    """The user's tokens, newest first, expired ones included until they are revoked."""
    result = await session.exec(
        select(AccessToken)
        .where(col(AccessToken.user_id) == user_id)
        .order_by(col(AccessToken.created_at).desc(), col(AccessToken.id).desc())
    )
    return result.all()


async def revoke_access_token(session: AsyncSession, user_id: str, token_id: int) -> None:
    if not 1 <= token_id <= ID_MAX:
        # A page's address can carry any digits; BIGINT ends before them.
        raise _token_not_found(token_id)
    result = await session.exec(
        delete(AccessToken).where(
            col(AccessToken.user_id) == user_id, col(AccessToken.id) == token_id
        )
    )
    if result.rowcount == 0:
        raise _token_not_found(token_id)
    await session.commit()


def is_access_token(token: str) -> bool:
    """Whether a bearer token is meant as a personal access token (rather than a JWT)."""
    return token.startswith(ACCESS_TOKEN_PREFIX)


async def resolve_access_token(
    session: AsyncSession, token: str, *, now: datetime | None = None
) -> AccessTokenUse:
    """The user and scopes a personal access token opens, or Unauthorized."""
    if _ACCESS_TOKEN.fullmatch(token) is None:
        raise Unauthorized("The token is invalid.", code="invalid_token")
    result = await session.exec(
        select(AccessToken, User)
        .join(User, col(User.id) == col(AccessToken.user_id))
        .where(col(AccessToken.digest) == _digest(token))
    )
    row = result.one_or_none()
    if row is None:
        raise Unauthorized(
            "The token is not known: it was revoked, or never issued.", code="invalid_token"
        )
    record, user = row
    now = now or utcnow()
    if record.expires_at is not None and record.expires_at <= now:
        raise Unauthorized("The token has expired.", code="token_expired")
    assert record.id is not None
    return AccessTokenUse(
        user=user,
        token_id=record.id,
        scopes=frozenset(token_scopes(record)),
        touch_due=record.last_used_at is None or now - record.last_used_at >= LAST_USED_STEP,
    )


async def touch_access_token(
    session: AsyncSession, token_id: int, *, now: datetime | None = None
) -> None:
    """Write down that a token was used; a parallel request that did so already wins."""
    now = now or utcnow()
    await session.exec(
        update(AccessToken)
        .where(
            col(AccessToken.id) == token_id,
            col(AccessToken.last_used_at).is_(None)
            | (col(AccessToken.last_used_at) <= now - LAST_USED_STEP),
        )
        .values(last_used_at=now)
    )
    await session.commit()


async def users_by_id(session: AsyncSession, user_ids: Sequence[str]) -> dict[str, User]:
    if not user_ids:
        return {}
    result = await session.exec(select(User).where(col(User.id).in_(sorted(set(user_ids)))))
    return {user.id: user for user in result.all()}


async def take_turn(session: AsyncSession, user_id: str) -> None:
    """Hold the user's row until the commit (key share: the user's other writes go on), so
    that parallel creations of something counted per user (tokens, app passwords,
    webhooks) take turns and a cap holds. SQLite's writers take turns anyway."""
    await session.exec(
        select(col(User.id)).where(col(User.id) == user_id).with_for_update(key_share=True)
    )


# App passwords: typed into a phone's settings now and then, so lower-case letters and digits
# in groups (160 random bits), and no prefix a client might choke on.
_APP_PASSWORD_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"  # noqa: S105 (not a secret)
_APP_PASSWORD_GROUPS = 8
_APP_PASSWORD_GROUP = 4
APP_PASSWORD_PREFIX = "todo-app-"  # noqa: S105 (how one starts, not a secret)
_APP_PASSWORD = re.compile(
    re.escape(APP_PASSWORD_PREFIX)
    + "-".join([f"[a-z0-9]{{{_APP_PASSWORD_GROUP}}}"] * _APP_PASSWORD_GROUPS)
)


@dataclass(frozen=True)
class NewAppPassword:
    record: AppPassword
    password: str
    """For its creator's answer only: the database keeps its digest."""


@dataclass(frozen=True)
class AppPasswordUse:
    user: User
    password_id: int
    touch_due: bool


def _app_password_not_found(password_id: int) -> NotFound:
    return NotFound(f"App password {password_id} was not found.", code="app_password_not_found")


def _new_app_password() -> str:
    groups = (
        "".join(secrets.choice(_APP_PASSWORD_ALPHABET) for _ in range(_APP_PASSWORD_GROUP))
        for _ in range(_APP_PASSWORD_GROUPS)
    )
    return APP_PASSWORD_PREFIX + "-".join(groups)


async def create_app_password(session: AsyncSession, user_id: str, *, name: str) -> NewAppPassword:
    """A new app password; commits. Parallel creations take turns on the user row, so the
    cap holds."""
    await take_turn(session, user_id)
    held = await session.exec(
        select(func.count()).select_from(AppPassword).where(col(AppPassword.user_id) == user_id)
    )
    if held.one() >= APP_PASSWORDS_PER_USER_MAX:
        raise Conflict(
            f"An account can have at most {APP_PASSWORDS_PER_USER_MAX} app passwords: "
            "revoke one first.",
            code="too_many_app_passwords",
        )
    password = _new_app_password()
    record = AppPassword(user_id=user_id, name=name, digest=_digest(password))
    session.add(record)
    await session.commit()
    return NewAppPassword(record=record, password=password)


async def list_app_passwords(session: AsyncSession, user_id: str) -> Sequence[AppPassword]:
    result = await session.exec(
        select(AppPassword)
        .where(col(AppPassword.user_id) == user_id)
        .order_by(col(AppPassword.created_at).desc(), col(AppPassword.id).desc())
    )
    return result.all()


async def revoke_app_password(session: AsyncSession, user_id: str, password_id: int) -> None:
    if not 1 <= password_id <= ID_MAX:
        raise _app_password_not_found(password_id)
    result = await session.exec(
        delete(AppPassword).where(
            col(AppPassword.user_id) == user_id, col(AppPassword.id) == password_id
        )
    )
    if result.rowcount == 0:
        raise _app_password_not_found(password_id)
    await session.commit()


async def resolve_app_password(
    session: AsyncSession, email: str, password: str, *, now: datetime | None = None
) -> AppPasswordUse | None:
    """The account an email and app password open, or None (whatever was wrong: the caller
    says no more than that). One indexed query, no slow hash: the secret is random."""
    candidate = password.strip().lower()
    if _APP_PASSWORD.fullmatch(candidate) is None or len(email) > EMAIL_MAX:
        return None
    row = (
        await session.exec(
            select(AppPassword, User)
            .join(User, col(User.id) == col(AppPassword.user_id))
            .where(
                col(User.email) == email.strip().lower(),
                col(AppPassword.digest) == _digest(candidate),
            )
        )
    ).one_or_none()
    if row is None:
        return None
    record, user = row
    now = now or utcnow()
    assert record.id is not None
    return AppPasswordUse(
        user=user,
        password_id=record.id,
        touch_due=record.last_used_at is None or now - record.last_used_at >= LAST_USED_STEP,
    )


async def touch_app_password(
    session: AsyncSession, password_id: int, *, now: datetime | None = None
) -> None:
    now = now or utcnow()
    await session.exec(
        update(AppPassword)
        .where(
            col(AppPassword.id) == password_id,
            col(AppPassword.last_used_at).is_(None)
            | (col(AppPassword.last_used_at) <= now - LAST_USED_STEP),
        )
        .values(last_used_at=now)
    )
    await session.commit()
