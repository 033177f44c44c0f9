from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request, Response, status

from todo.accounts import service as accounts
from todo.accounts.deps import (
    LOGIN_ONLY,
    CurrentCaller,
    CurrentUser,
    PasswordsDep,
    TokensDep,
    domain_scopes,
    login_required,
)
from todo.accounts.models import AccessToken, AppPassword
from todo.accounts.schemas import (
    PASSWORD_MAX,
    AccessTokenCreate,
    AccessTokenCreated,
    AccessTokenRead,
    AppPasswordCreate,
    AppPasswordCreated,
    AppPasswordRead,
    AuthResponse,
    LoginRequest,
    SignupRequest,
    TokenResponse,
    UserRead,
    UserUpdate,
    UserUpdated,
)
from todo.core.deps import SessionDep
from todo.core.ids import RowId
from todo.core.ratelimit import AuthAttempt, auth_attempt, check_auth_attempt
from todo.core.schemas import NO_CONTROLS, problem_responses

router = APIRouter(prefix="/api/auth", tags=["accounts"])

LoginAttempt = Annotated[AuthAttempt, Depends(auth_attempt("login"))]
SignupAttempt = Annotated[AuthAttempt, Depends(auth_attempt("signup"))]


def _auth_response(result: accounts.Authenticated) -> AuthResponse:
    return AuthResponse(
        user=UserRead.model_validate(result.user),
        access_token=result.access_token,
        expires_in=result.expires_in,
    )


@router.post(
    "/signup",
    status_code=status.HTTP_201_CREATED,
    summary="Create an account",
    responses=problem_responses(409, 422, 429),
)
async def signup(
    session: SessionDep,
    passwords: PasswordsDep,
    tokens: TokensDep,
    attempt: SignupAttempt,
    body: SignupRequest,
) -> AuthResponse:
    await attempt.for_account(body.email)
    result = await accounts.signup(
        session,
        passwords=passwords,
        tokens=tokens,
        email=body.email,
        password=body.password.get_secret_value(),
        name=body.name,
        timezone=body.timezone,
    )
    return _auth_response(result)


@router.post("/login", summary="Log in", responses=problem_responses(401, 422, 429))
async def login(
    session: SessionDep,
    passwords: PasswordsDep,
    tokens: TokensDep,
    attempt: LoginAttempt,
    body: LoginRequest,
) -> AuthResponse:
    await attempt.for_account(body.email)
    result = await accounts.login(
        session,
        passwords=passwords,
        tokens=tokens,
        email=body.email,
        password=body.password.get_secret_value(),
    )
    return _auth_response(result)


@router.post(
    "/token",
    summary="Log in with the OAuth2 password flow (the Authorize button of /docs)",
    responses=problem_responses(401, 422, 429),
)
async def token(
    session: SessionDep,
    passwords: PasswordsDep,
    tokens: TokensDep,
    attempt: LoginAttempt,
    username: Annotated[str, Form(max_length=320, description="Your email address"), NO_CONTROLS],
    password: Annotated[str, Form(max_length=PASSWORD_MAX)],
) -> TokenResponse:
    await attempt.for_account(username)
    result = await accounts.login(
        session, passwords=passwords, tokens=tokens, email=username, password=password
    )
    return TokenResponse(access_token=result.access_token, expires_in=result.expires_in)


ACCOUNT = domain_scopes("account")


@router.get(
    "/me",
    summary="The signed-in user",
    dependencies=[ACCOUNT],
    responses=problem_responses(401, 403),
)
async def me(user: CurrentUser) -> UserRead:
    return UserRead.model_validate(user)


@router.patch(
    "/me",
    summary="Change name, time zone or password",
    description="A new password needs `current_password` and is limited like log-in. It ends "
    "every token and web session of the account, the caller's token included: the answer "
    "then carries the caller's next token in `access_token`. A personal access token "
    "(with `account:write`) may change the name and time zone, never the password.",
    dependencies=[ACCOUNT],
    responses=problem_responses(401, 403, 422, 429),
)
async def update_me(
    request: Request,
    session: SessionDep,
    passwords: PasswordsDep,
    tokens: TokensDep,
    caller: CurrentCaller,
    body: UserUpdate,
) -> UserUpdated:
    user = caller.user
    changes_password = body.current_password is not None or body.new_password is not None
    if changes_password and not caller.is_login:
        raise login_required()
    if changes_password:
        # Each guess of the current password counts against the same budget as a log-in.
        await check_auth_attempt(request, "login", user.email)
    updated = await accounts.update_profile(
        session,
        user,
        passwords=passwords,
        name=body.name,
        current_password=body.current_password.get_secret_value()
        if body.current_password
        else None,
        new_password=body.new_password.get_secret_value() if body.new_password else None,
        timezone=body.timezone,
    )
    answer = UserUpdated.model_validate(updated)
    if body.new_password is not None:
        fresh = accounts.issue_token(tokens, updated)
        answer.access_token, answer.expires_in = fresh.access_token, fresh.expires_in
    return answer


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete the account and every task it owns",
    dependencies=[LOGIN_ONLY],
    responses=problem_responses(401, 403),
)
async def delete_me(session: SessionDep, user: CurrentUser) -> Response:
    await accounts.delete_user(session, user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/logout-all",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Log out everywhere: every token issued so far stops working",
    description="Personal access tokens included: they are revoked.",
    dependencies=[LOGIN_ONLY],
    responses=problem_responses(401, 403),
)
async def logout_all(session: SessionDep, user: CurrentUser) -> Response:
    await accounts.logout_everywhere(session, user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _token_read(record: AccessToken) -> AccessTokenRead:
    return AccessTokenRead.model_validate(
        {
            "id": record.id,
            "name": record.name,
            "scopes": accounts.token_scopes(record),
            "created_at": record.created_at,
            "expires_at": record.expires_at,
            "last_used_at": record.last_used_at,
        }
    )


@router.post(
    "/tokens",
    status_code=status.HTTP_201_CREATED,
    summary="Create a personal access token",
    description="For scripts and other programs: send it as `Authorization: Bearer "
    "todo_pat_...`. It may do only what its scopes allow, and the secret is in this answer "
    "only. Only a log-in may create, list or revoke tokens.",
    dependencies=[LOGIN_ONLY],
    responses=problem_responses(401, 403, 409, 422),
)
async def create_token(
    session: SessionDep, user: CurrentUser, body: AccessTokenCreate
) -> AccessTokenCreated:
    created = await accounts.create_access_token(
        session, user.id, name=body.name, scopes=body.scopes, expires_at=body.expires_at
    )
    return AccessTokenCreated(**_token_read(created.record).model_dump(), token=created.token)


@router.get(
    "/tokens",
    summary="Your personal access tokens, newest first, without their secrets",
    dependencies=[LOGIN_ONLY],
    responses=problem_responses(401, 403),
)
async def list_tokens(session: SessionDep, user: CurrentUser) -> list[AccessTokenRead]:
    return [_token_read(record) for record in await accounts.list_access_tokens(session, user.id)]


@router.delete(
    "/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke a personal access token: it stops working at once",
    dependencies=[LOGIN_ONLY],
    responses=problem_responses(401, 403, 404, 422),
)
async def revoke_token(
    session: SessionDep,
    user: CurrentUser,
    token_id: Annotated[RowId, Path(description="The token's id")],
) -> Response:
    await accounts.revoke_access_token(session, user.id, token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _app_password_read(record: AppPassword) -> AppPasswordRead:
    return AppPasswordRead.model_validate(record)


@router.post(
    "/app-passwords",
    status_code=status.HTTP_201_CREATED,
    summary="Create an app password for a CalDAV client",
    description="For a device's task or calendar app: it signs in to `/dav/` with HTTP Basic, "
    "the account's email and this password. The password is in this answer only. Only a "
    "log-in may create, list or revoke app passwords.",
    dependencies=[LOGIN_ONLY],
    responses=problem_responses(401, 403, 409, 422),
)
async def create_app_password(
    session: SessionDep, user: CurrentUser, body: AppPasswordCreate
) -> AppPasswordCreated:
    created = await accounts.create_app_password(session, user.id, name=body.name)
    return AppPasswordCreated(
        **_app_password_read(created.record).model_dump(), password=created.password
    )


@router.get(
    "/app-passwords",
    summary="Your app passwords, newest first, without their secrets",
    dependencies=[LOGIN_ONLY],
    responses=problem_responses(401, 403),
)
async def list_app_passwords(session: SessionDep, user: CurrentUser) -> list[AppPasswordRead]:
    return [
        _app_password_read(record) for record in await accounts.list_app_passwords(session, user.id)
    ]


@router.delete(
    "/app-passwords/{password_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke an app password: it stops working at once",
    dependencies=[LOGIN_ONLY],
    responses=problem_responses(401, 403, 404, 422),
)
async def revoke_app_password(
    session: SessionDep,
    user: CurrentUser,
    password_id: Annotated[RowId, Path(description="The app password's id")],
) -> Response:
    await accounts.revoke_app_password(session, user.id, password_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
