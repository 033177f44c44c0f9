"""The account pages: log in, sign up, log out, and the account's own settings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import cache
from itertools import groupby
from typing import Annotated, Any

from fastapi import Query, Request
from pydantic import SecretStr, ValidationError
from starlette.responses import JSONResponse, RedirectResponse, Response

from todo.accounts import service as accounts
from todo.accounts.deps import PasswordsDep
from todo.accounts.schemas import (
    APP_PASSWORDS_PER_USER_MAX,
    SCOPES,
    TOKEN_NAME_MAX,
    TOKENS_PER_USER_MAX,
    AccessTokenCreate,
    AppPasswordCreate,
    LoginRequest,
    SignupRequest,
    UserUpdate,
    time_zones,
)
from todo.backup import service as backup
from todo.caldav import feeds
from todo.caldav.schemas import FEEDS_PER_USER_MAX
from todo.core.db import utcnow
from todo.core.deps import SessionDep
from todo.core.errors import Conflict, RateLimited, Unauthorized, Unprocessable
from todo.core.ratelimit import check_auth_attempt
from todo.core.security import Passwords
from todo.lists import access
from todo.lists import service as lists
from todo.web import notifications
from todo.web.common import LABELS, flash_and_redirect, redirect, web_router
from todo.web.deps import MaybeSignedIn, Me
from todo.web.forms import FieldErrors, app_field_errors, field_errors, read_form
from todo.web.render import render
from todo.web.security import (
    SESSION_COOKIE,
    VISITOR_COOKIE,
    delete_cookie,
    safe_next,
    session_token,
    set_cookie,
)

router = web_router()


LOGIN_NOTICES = {
    "signed_out": "You are logged out.",
    "everywhere": "You are logged out on every device.",
    "deleted": "Your account and all of its tasks were deleted.",
}


def _with_session(request: Request, target: str, token: str) -> RedirectResponse:
    response = redirect(target)
    max_age = int(accounts.WEB_SESSION_MAX.total_seconds())
    set_cookie(response, request, SESSION_COOKIE, token, max_age=max_age)
    delete_cookie(response, request, VISITOR_COOKIE)
    return response


def _signed_out(request: Request, notice: str) -> RedirectResponse:
    response = redirect(f"/login?notice={notice}")
    delete_cookie(response, request, SESSION_COOKIE)
    return response


def _too_many(request: Request, error: RateLimited, template: str, **context: Any) -> Response:
    return render(
        request,
        template,
        {"email": "", "values": {}, "notice": None, **context, "errors": {"form": error.detail}},
        status_code=error.status,
        headers=error.headers,
    )


@router.get("/login")
async def login_page(
    request: Request,
    signed_in: MaybeSignedIn,
    next: Annotated[str | None, Query(max_length=2000)] = None,
    notice: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    if signed_in is not None:
        return redirect(safe_next(next))
    return render(
        request,
        "accounts/login.html",
        {
            "next": safe_next(next),
            "email": "",
            "errors": {},
            "notice": LOGIN_NOTICES.get(notice or ""),
        },
    )


@router.post("/login")
async def login(request: Request, session: SessionDep, passwords: PasswordsDep) -> Response:
    form = await read_form(request)
    target = safe_next(form.get("next"))
    errors: FieldErrors
    status_code = 422
    try:
        body = LoginRequest.model_validate(
            {"email": form.get("email", ""), "password": form.get("password", "")}
        )
        await check_auth_attempt(request, "login", body.email)
        result = await accounts.web_login(
            session,
            passwords=passwords,
            email=body.email,
            password=body.password.get_secret_value(),
        )
    except ValidationError as error:
        errors = field_errors(error, LABELS)
    except Unauthorized as error:
        errors, status_code = {"form": error.detail}, 401
    except RateLimited as error:
        return _too_many(
            request, error, "accounts/login.html", next=target, email=form.get("email", "")
        )
    else:
        return _with_session(request, target, result.token)
    return render(
        request,
        "accounts/login.html",
        {"next": target, "email": form.get("email", ""), "errors": errors, "notice": None},
        status_code=status_code,
    )


@router.get("/signup")
async def signup_page(
    request: Request,
    signed_in: MaybeSignedIn,
    next: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:
    if signed_in is not None:
        return redirect(safe_next(next))
    return render(
        request,
        "accounts/signup.html",
        {"next": safe_next(next), "values": {}, "errors": {}},
    )


@router.post("/signup")
async def signup(request: Request, session: SessionDep, passwords: PasswordsDep) -> Response:
    form = await read_form(request)
    target = safe_next(form.get("next"))
    values = {"email": form.get("email", ""), "name": form.get("name", "")}
    errors: FieldErrors
    try:
        body = SignupRequest.model_validate({**values, "password": form.get("password", "")})
        await check_auth_attempt(request, "signup", body.email)
        result = await accounts.web_signup(
            session,
            passwords=passwords,
            email=body.email,
            password=body.password.get_secret_value(),
            name=body.name,
            timezone=_browser_zone(form.get("timezone", "")),
        )
    except ValidationError as error:
        errors = field_errors(error, LABELS)
    except Conflict as error:
        errors = {"email": error.detail}
    except RateLimited as error:
        return _too_many(request, error, "accounts/signup.html", next=target, values=values)
    else:
        return _with_session(request, target, result.token)
    return render(
        request,
        "accounts/signup.html",
        {"next": target, "values": values, "errors": errors},
        status_code=422,
    )


def _browser_zone(raw: str) -> str:
    """The time zone the browser reported at sign-up; anything unknown (or a browser
    without JavaScript) gets UTC rather than a refused sign-up."""
    try:
        zone = UserUpdate.model_validate({"timezone": raw.strip()}).timezone
    except ValidationError:
        return "UTC"
    return zone or "UTC"


@router.post("/logout")
async def logout(request: Request, session: SessionDep) -> Response:
    token = session_token(request)
    if token is not None:
        await accounts.end_web_session(session, token)
    return _signed_out(request, "signed_out")


# What the token form offers: a few lifetimes, each within TOKEN_LIFETIME_MAX.
TOKEN_EXPIRIES: dict[str, int | None] = {"7": 7, "30": 30, "90": 90, "365": 365, "never": None}
TOKEN_EXPIRY_LABELS = {
    "7": "In 7 days",
    "30": "In 30 days",
    "90": "In 90 days",
    "365": "In a year",
    "never": "Never",
}


@cache
def zone_groups() -> list[tuple[str, list[str]]]:
    """The time-zone picker's choices, grouped by the region each name starts with."""

    def region(zone: str) -> str:
        return zone.split("/", 1)[0] if "/" in zone else "Other"

    ordered = sorted(time_zones(), key=lambda zone: (region(zone) == "Other", region(zone), zone))
    return [(name, list(zones)) for name, zones in groupby(ordered, key=region)]


FEED_COMPONENTS = {"VEVENT": "Events, for calendar apps", "VTODO": "Tasks, for Thunderbird"}


async def feeds_context(session: SessionDep, me: Me) -> dict[str, Any]:
    """The Calendar feeds section: the feeds, and the lists a new one may show."""
    readable = [
        *await lists.list_lists(session, me.user.id),
        *await access.shared_lists(session, me.scope),
    ]
    names = {each.id: each.name for each in readable}
    return {
        "feeds": [
            {"record": feed, "list_name": names.get(feed.list_id) if feed.list_id else None}
            for feed in await feeds.list_feeds(session, me.user.id)
        ],
        "feed_lists": readable,
        "feeds_max": FEEDS_PER_USER_MAX,
        "feed_components": FEED_COMPONENTS,
    }


async def account_page(
    request: Request,
    session: SessionDep,
    me: Me,
    *,
    errors: FieldErrors | None = None,
    values: dict[str, str] | None = None,
    chosen_scopes: Sequence[str] = (),
    new_token: accounts.NewAccessToken | None = None,
    new_app_password: accounts.NewAppPassword | None = None,
    new_feed: dict[str, str] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    tokens = await accounts.list_access_tokens(session, me.user.id)
    return render(
        request,
        "accounts/account.html",
        {
            "user": me.user,
            "flash": me.flash,
            "notifications": await notifications.section(request, session, me.user.id),
            "errors": errors or {},
            "values": {
                "name": me.user.name,
                "timezone": me.user.timezone,
                "confirm_email": "",
                "token_name": "",
                "app_password_name": "",
                "expires": "30",
                "feed_name": "",
                "feed_list": "",
                "feed_component": "VEVENT",
                **(values or {}),
            },
            "tokens": [
                {
                    "record": record,
                    "scopes": accounts.token_scopes(record),
                    "expired": record.expires_at is not None and record.expires_at <= utcnow(),
                }
                for record in tokens
            ],
            "new_token": new_token,
            "scopes": SCOPES,
            "chosen_scopes": set(chosen_scopes),
            "expiries": [(value, TOKEN_EXPIRY_LABELS[value]) for value in TOKEN_EXPIRY_LABELS],
            "tokens_max": TOKENS_PER_USER_MAX,
            "token_name_max": TOKEN_NAME_MAX,
            "app_passwords": await accounts.list_app_passwords(session, me.user.id),
            "new_app_password": new_app_password,
            "app_passwords_max": APP_PASSWORDS_PER_USER_MAX,
            "caldav_address": f"{str(request.base_url).rstrip('/')}/dav/",
            "zone_groups": zone_groups(),
            "new_feed": new_feed,
            **await feeds_context(session, me),
        },
        status_code=status_code,
        headers=headers,
    )


@router.get("/account")
async def show_account(request: Request, session: SessionDep, me: Me) -> Response:
    return await account_page(request, session, me)


@router.get("/account/export")
async def download_my_data(session: SessionDep, me: Me) -> Response:
    """The same document as GET /api/auth/me/export and `todo export --user`."""
    document = await backup.export_user(session, me.user.id)
    return JSONResponse(
        document,
        headers={"Content-Disposition": 'attachment; filename="todo-export.json"'},
    )


async def _save_profile_field(
    request: Request,
    session: SessionDep,
    passwords: Passwords,
    me: Me,
    field: str,
    saved: str,
) -> Response:
    """One field of the account page's own small forms: saved, or shown again with why."""
    typed = (await read_form(request)).get(field, "")
    try:
        body = UserUpdate.model_validate({field: typed})
    except ValidationError as error:
        return await account_page(
            request,
            session,
            me,
            errors=field_errors(error, LABELS),
            values={field: typed},
            status_code=422,
        )
    await accounts.update_profile(
        session, me.user, passwords=passwords, **{field: getattr(body, field)}
    )
    return await flash_and_redirect(session, me, saved, "/account")


@router.post("/account/name")
async def change_name(
    request: Request, session: SessionDep, passwords: PasswordsDep, me: Me
) -> Response:
    return await _save_profile_field(
        request, session, passwords, me, "name", "Your name was saved."
    )


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


@router.post("/account/timezone")
async def change_timezone(
    request: Request, session: SessionDep, passwords: PasswordsDep, me: Me
) -> Response:
    return await _save_profile_field(
        request, session, passwords, me, "timezone", "Your time zone was saved."
    )


@router.post("/account/password")
async def change_password(
    request: Request, session: SessionDep, passwords: PasswordsDep, me: Me
) -> Response:
    form = await read_form(request)
    errors: FieldErrors
    try:
        body = UserUpdate.model_validate(
            {
                "current_password": form.get("current_password", ""),
                "new_password": form.get("new_password", ""),
            }
        )
        await check_auth_attempt(request, "login", me.user.email)
        await accounts.update_profile(
            session,
            me.user,
            passwords=passwords,
            current_password=_secret(body.current_password),
            new_password=_secret(body.new_password),
            keep_web_session=me.session_id,
        )
    except ValidationError as error:
        errors = field_errors(error, LABELS)
    except Unprocessable as error:
        errors = app_field_errors(error, "current_password")
    except RateLimited as error:
        return await account_page(
            request,
            session,
            me,
            errors={"current_password": error.detail},
            status_code=error.status,
            headers=error.headers,
        )
    else:
        return await flash_and_redirect(session, me, "Your password was changed.", "/account")
    return await account_page(request, session, me, errors=errors, status_code=422)


@router.post("/account/logout-everywhere")
async def logout_everywhere(request: Request, session: SessionDep, me: Me) -> Response:
    await accounts.logout_everywhere(session, me.user)
    return _signed_out(request, "everywhere")


@router.post("/account/delete")
async def delete_account(request: Request, session: SessionDep, me: Me) -> Response:
    form = await read_form(request)
    typed = form.get("confirm_email", "")
    if typed.strip().lower() != me.user.email:
        return await account_page(
            request,
            session,
            me,
            errors={"confirm_email": f"Type {me.user.email} to confirm."},
            values={"confirm_email": typed},
            status_code=422,
        )
    await accounts.delete_user(session, me.user.id)
    return _signed_out(request, "deleted")


@router.post("/account/tokens")
async def create_token(request: Request, session: SessionDep, me: Me) -> Response:
    """A new personal access token, shown on the page this once: the answer is the page
    itself, not a redirect, so the secret is never stored for a later page to show."""
    form = await read_form(request)
    chosen = [value for value in (await request.form()).getlist("scopes") if isinstance(value, str)]
    name = form.get("token_name", "")
    expires = form.get("expires", "")
    values = {"token_name": name, "expires": expires}
    errors: FieldErrors = {}
    if expires not in TOKEN_EXPIRIES:
        errors["expires"] = "Choose when the token expires."
    days = TOKEN_EXPIRIES.get(expires)
    try:
        body = AccessTokenCreate.model_validate(
            {
                "name": name,
                "scopes": chosen,
                "expires_at": utcnow() + timedelta(days=days) if days is not None else None,
            }
        )
    except ValidationError as error:
        for field, sentence in field_errors(error, LABELS).items():
            if field == "scopes":
                errors["scopes"] = "Choose at least one of the scopes listed."
            else:
                errors["token_name" if field == "name" else "form"] = sentence
    if errors:
        return await account_page(
            request,
            session,
            me,
            errors=errors,
            values=values,
            chosen_scopes=chosen,
            status_code=422,
        )
    try:
        created = await accounts.create_access_token(
            session, me.user.id, name=body.name, scopes=body.scopes, expires_at=body.expires_at
        )
    except Conflict as error:
        return await account_page(
            request,
            session,
            me,
            errors={"form": error.detail},
            values=values,
            chosen_scopes=chosen,
            status_code=422,
        )
    return await account_page(request, session, me, new_token=created)


@router.post("/account/tokens/{token_id:int}/delete")
async def revoke_token(session: SessionDep, me: Me, token_id: int) -> Response:
    await accounts.revoke_access_token(session, me.user.id, token_id)
    return await flash_and_redirect(
        session, me, "The token was revoked: it no longer works.", "/account"
    )


@router.post("/account/app-passwords")
async def create_app_password(request: Request, session: SessionDep, me: Me) -> Response:
    """A new app password for a CalDAV client, shown on the page this once (the answer is
    the page, as for tokens, so the password is never kept for a later page)."""
    name = (await read_form(request)).get("app_password_name", "")
    values = {"app_password_name": name}
    try:
        body = AppPasswordCreate.model_validate({"name": name})
        created = await accounts.create_app_password(session, me.user.id, name=body.name)
    except ValidationError as error:
        # The one field there is: whatever pydantic says of it.
        errors = {"app_password_name": next(iter(field_errors(error, LABELS).values()))}
    except Conflict as error:
        errors = {"app_password_name": error.detail}
    else:
        return await account_page(request, session, me, new_app_password=created)
    return await account_page(request, session, me, errors=errors, values=values, status_code=422)


@router.post("/account/app-passwords/{password_id:int}/delete")
async def revoke_app_password(session: SessionDep, me: Me, password_id: int) -> Response:
    await accounts.revoke_app_password(session, me.user.id, password_id)
    return await flash_and_redirect(
        session, me, "The app password was revoked: it no longer works.", "/account"
    )
