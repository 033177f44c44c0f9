from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import OAuth2PasswordBearer

from todo.accounts import service as accounts
from todo.accounts.models import User
from todo.core.deps import SessionDep
from todo.core.errors import Forbidden, Unauthorized
from todo.core.security import Passwords
from todo.core.tokens import TokenService

_bearer = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


# Async although they do not wait: FastAPI runs a plain `def` dependency in its thread
# pool, a thread hop on every request for a mere attribute read.
async def _tokens(request: Request) -> TokenService:
    tokens: TokenService = request.app.state.tokens
    return tokens


async def _passwords(request: Request) -> Passwords:
    passwords: Passwords = request.app.state.passwords
    return passwords


TokensDep = Annotated[TokenService, Depends(_tokens)]
PasswordsDep = Annotated[Passwords, Depends(_passwords)]


async def _current_user(
    session: SessionDep, tokens: TokensDep, token: Annotated[str | None, Depends(_bearer)]
) -> User:
    if not token:
        raise Unauthorized(
            "Authentication is required: send 'Authorization: Bearer <token>'.",
            code="not_authenticated",
        )
    claims = await tokens.verify(token)
    return await accounts.resolve_token(session, claims)


CurrentUser = Annotated[User, Depends(_current_user)]


async def _path_user(
    user: CurrentUser,
    user_id: Annotated[
        str,
        Path(
            max_length=64,
            description="The signed-in user's id, or `me`",
            examples=["me"],
        ),
    ],
) -> User:
    if user_id not in ("me", user.id):
        raise Forbidden("The path names another user than the token's.", code="wrong_user")
    return user


PathUser = Annotated[User, Depends(_path_user)]
