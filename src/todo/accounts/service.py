"""Accounts: sign-up, log-in, token resolution and profile changes."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from todo.accounts.models import DeletedAccount, User, WebSession
from todo.accounts.schemas import EMAIL_MAX, NAME_MAX
from todo.core.db import end_reads, utcnow
from todo.core.errors import Conflict, NotFound, Unauthorized, Unprocessable
from todo.core.hooks import Hook
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


async def logout_everywhere(session: AsyncSession, user: User) -> None:
    await session.exec(
        update(User)
        .where(col(User.id) == user.id)
        .values(session_version=User.session_version + 1, tokens_valid_after=utcnow())
    )
    await _end_web_sessions(session, user.id)
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


async def users_by_id(session: AsyncSession, user_ids: Sequence[str]) -> dict[str, User]:
    if not user_ids:
        return {}
    result = await session.exec(select(User).where(col(User.id).in_(sorted(set(user_ids)))))
    return {user.id: user for user in result.all()}
