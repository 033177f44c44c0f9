"""Accounts: sign-up, log-in, token resolution and profile changes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from todo.accounts.models import User
from todo.core.db import utcnow
from todo.core.errors import Conflict, NotFound, Unauthorized, Unprocessable
from todo.core.security import Passwords
from todo.core.tokens import TokenClaims, TokenService


@dataclass(frozen=True)
class Authenticated:
    user: User
    access_token: str
    expires_in: int


def _issue(tokens: TokenService, user: User) -> Authenticated:
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
    user_id: str | None = None,
) -> User:
    """Create an account; commits. An address already in use is a Conflict."""
    email = email.strip().lower()
    if await find_by_email(session, email) is not None:
        raise Conflict("An account with this email address already exists.", code="email_taken")
    user = User(
        email=email,
        name=name,
        password_hash=await passwords.hash(password) if password is not None else None,
    )
    if user_id is not None:
        user.id = user_id
    session.add(user)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict(
            "An account with this email address already exists.", code="email_taken"
        ) from None
    return user


async def signup(
    session: AsyncSession,
    *,
    passwords: Passwords,
    tokens: TokenService,
    email: str,
    password: str,
    name: str,
) -> Authenticated:
    user = await create_user(session, passwords, email=email, password=password, name=name)
    return _issue(tokens, user)


async def login(
    session: AsyncSession,
    *,
    passwords: Passwords,
    tokens: TokenService,
    email: str,
    password: str,
) -> Authenticated:
    user = await find_by_email(session, email)
    valid, new_hash = await passwords.verify(password, user.password_hash if user else None)
    if user is None or not valid:
        raise Unauthorized(
            "The email address or the password is wrong.", code="invalid_credentials"
        )
    if new_hash is not None:
        user.password_hash = new_hash
        session.add(user)
        await session.commit()
    return _issue(tokens, user)


async def resolve_token(session: AsyncSession, claims: TokenClaims) -> User:
    """The user a verified token speaks for, or Unauthorized when it no longer may."""
    user = await session.get(User, claims.user_id)
    if user is None:
        if claims.session_version is not None or not claims.email:
            raise Unauthorized("The account of this token no longer exists.", code="user_gone")
        # A user signed in by the Better Auth front end, seen here for the first time.
        user = User(id=claims.user_id, email=claims.email.strip().lower(), name=claims.name or "")
        session.add(user)
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            raise Unauthorized(
                "The email address of this token belongs to another account.",
                code="email_conflict",
            ) from None
        return user
    if claims.session_version is not None:
        if claims.session_version != user.session_version:
            raise Unauthorized("This token was revoked by a log-out.", code="token_revoked")
    elif user.tokens_valid_after is not None and (
        claims.issued_at is None or claims.issued_at < user.tokens_valid_after
    ):
        raise Unauthorized("This token was revoked by a log-out.", code="token_revoked")
    return user


async def update_profile(
    session: AsyncSession,
    user: User,
    *,
    passwords: Passwords,
    name: str | None = None,
    current_password: str | None = None,
    new_password: str | None = None,
) -> User:
    if new_password is not None:
        valid, _ = await passwords.verify(current_password or "", user.password_hash)
        if current_password is None or not valid:
            raise Unprocessable(
                "The current password is wrong.",
                code="wrong_password",
                errors=[{"field": "current_password", "reason": "does not match"}],
            )
        user.password_hash = await passwords.hash(new_password)
    if name is not None:
        user.name = name
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
    await session.commit()


async def delete_user(session: AsyncSession, user_id: str) -> None:
    """Delete an account; its tasks go with it through ON DELETE CASCADE."""
    result = await session.exec(delete(User).where(col(User.id) == user_id))
    if result.rowcount == 0:
        raise NotFound("No such user.", code="user_not_found")
    await session.commit()


async def list_users(session: AsyncSession) -> Sequence[User]:
    result = await session.exec(select(User).order_by(func.lower(User.email)))
    return result.all()
