from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response, status

from todo.accounts import service as accounts
from todo.accounts.deps import CurrentUser, PasswordsDep, TokensDep
from todo.accounts.schemas import (
    PASSWORD_MAX,
    AuthResponse,
    LoginRequest,
    SignupRequest,
    TokenResponse,
    UserRead,
    UserUpdate,
    UserUpdated,
)
from todo.core.deps import SessionDep
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


@router.get("/me", summary="The signed-in user", responses=problem_responses(401))
async def me(user: CurrentUser) -> UserRead:
    return UserRead.model_validate(user)


@router.patch(
    "/me",
    summary="Change name, time zone or password",
    description="A new password needs `current_password` and is limited like log-in. It ends "
    "every token and web session of the account, the caller's token included: the answer "
    "then carries the caller's next token in `access_token`.",
    responses=problem_responses(401, 422, 429),
)
async def update_me(
    request: Request,
    session: SessionDep,
    passwords: PasswordsDep,
    tokens: TokensDep,
    user: CurrentUser,
    body: UserUpdate,
) -> UserUpdated:
    changes_password = body.current_password is not None or body.new_password is not None
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
    responses=problem_responses(401),
)
async def delete_me(session: SessionDep, user: CurrentUser) -> Response:
    await accounts.delete_user(session, user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/logout-all",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Log out everywhere: every token issued so far stops working",
    responses=problem_responses(401),
)
async def logout_all(session: SessionDep, user: CurrentUser) -> Response:
    await accounts.logout_everywhere(session, user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
