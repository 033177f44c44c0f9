from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.security import OAuth2PasswordBearer

from todo.accounts import service as accounts
from todo.accounts.models import User
from todo.accounts.schemas import SCOPES
from todo.core.deps import READ_METHODS, SessionDep, write_aside
from todo.core.errors import Forbidden, Unauthorized
from todo.core.security import Passwords
from todo.core.tokens import TokenService

_bearer = OAuth2PasswordBearer(
    tokenUrl="/api/auth/token",
    auto_error=False,
    description="A log-in's token (full power) or a personal access token (`todo_pat_...`, "
    "limited to its scopes)",
)


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


@dataclass(frozen=True)
class Caller:
    """Who sent the request, and what they may do."""

    user: User
    scopes: frozenset[str] | None
    """A personal access token's scopes; None for a log-in (ours or Better Auth's), which
    may do everything."""

    @property
    def is_login(self) -> bool:
        return self.scopes is None


async def _caller(
    request: Request,
    session: SessionDep,
    tokens: TokensDep,
    token: Annotated[str | None, Depends(_bearer)],
) -> Caller:
    if not token:
        raise Unauthorized(
            "Authentication is required: send 'Authorization: Bearer <token>'.",
            code="not_authenticated",
        )
    if accounts.is_access_token(token):
        use = await accounts.resolve_access_token(session, token)
        if use.touch_due:
            token_id = use.token_id
            await write_aside(
                request, session, lambda writer: accounts.touch_access_token(writer, token_id)
            )
        return Caller(user=use.user, scopes=use.scopes)
    claims = await tokens.verify(token)
    return Caller(user=await accounts.resolve_token(session, claims), scopes=None)


CurrentCaller = Annotated[Caller, Depends(_caller)]


async def _current_user(caller: CurrentCaller) -> User:
    return caller.user


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


# Scopes. Every API route declares what a personal access token needs to call it, through
# one of the dependencies below (a whole router's, or one route's); tests/security/
# test_scopes.py fails for an API route that declares nothing and is not public.


@dataclass(frozen=True)
class ScopeRule:
    """The scopes a route needs, for reading methods (GET, HEAD) and for the others; None
    where only a log-in may call it, never a personal access token."""

    read: tuple[str, ...] | None
    write: tuple[str, ...] | None

    def needed(self, method: str) -> tuple[str, ...] | None:
        return self.read if method in READ_METHODS else self.write


_RULES: dict[Callable[..., Awaitable[None]], ScopeRule] = {}


def scope_rule(dependency: Callable[..., Any]) -> ScopeRule | None:
    """The rule a dependency enforces, if it is one of these (for the scope tests)."""
    return _RULES.get(dependency)


def login_required() -> Forbidden:
    return Forbidden(
        "Only a log-in with the account's password may do this, not a personal access token.",
        code="login_required",
        headers={
            "WWW-Authenticate": 'Bearer error="insufficient_scope", '
            'error_description="a log-in is required"'
        },
    )


def _insufficient_scope(needed: Sequence[str]) -> Forbidden:
    scope = " ".join(needed)
    return Forbidden(
        f"This token lacks the scope this needs: {', '.join(needed)}.",
        code="insufficient_scope",
        headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
    )


def _enforcing(rule: ScopeRule) -> Any:
    for scopes in (rule.read, rule.write):
        assert scopes is None or set(scopes) <= SCOPES.keys(), f"unknown scopes {scopes}"

    async def check(request: Request, caller: CurrentCaller) -> None:
        if caller.scopes is None:
            return
        needed = rule.needed(request.method)
        if needed is None:
            raise login_required()
        if not caller.scopes.issuperset(needed):
            raise _insufficient_scope(needed)

    _RULES[check] = rule
    return Depends(check)


@cache
def domain_scopes(domain: str) -> Any:
    """For a router over one domain: reading needs `<domain>:read`, changing `<domain>:write`."""
    return _enforcing(ScopeRule(read=(f"{domain}:read",), write=(f"{domain}:write",)))


@cache
def needs_scopes(*needed: str) -> Any:
    """For a route that needs these scopes whatever its method."""
    return _enforcing(ScopeRule(read=needed, write=needed))


LOGIN_ONLY: Any = _enforcing(ScopeRule(read=None, write=None))
"""For a route no personal access token may call (managing tokens, ending sessions)."""
