"""The account page's Notifications section, the browser's push subscription, and the
service worker that shows pushed reminders with no tab of ours open."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from starlette.responses import FileResponse, JSONResponse, Response

from todo.core.config import Settings
from todo.core.db import Database
from todo.core.deps import SessionDep
from todo.core.ids import parse_int
from todo.notifications import email, push
from todo.notifications import service as notifications
from todo.notifications.schemas import (
    DIGEST_HOURS,
    NotificationSettingsUpdate,
    PushSubscriptionCreate,
    PushSubscriptionDelete,
)
from todo.web.common import flash_and_redirect, web_router
from todo.web.deps import Me
from todo.web.forms import read_form

router = web_router()

SERVICE_WORKER = Path(__file__).parent / "static" / "sw.js"
HOURS = [(str(hour), f"{hour:02d}:00") for hour in range(DIGEST_HOURS[0], DIGEST_HOURS[1] + 1)]


async def _keys(request: Request) -> push.Vapid:
    db: Database = request.app.state.db
    settings: Settings = request.app.state.settings
    cache: dict[str, Any] = request.app.state.keys
    return await push.vapid(db, settings, cache)


async def section(request: Request, session: SessionDep, user_id: str) -> dict[str, Any]:
    """What the account page shows in its Notifications section, read in the request's
    session (a second one per request would halve what the connection pool serves)."""
    settings: Settings = request.app.state.settings
    chosen = await notifications.preferences(session, user_id)
    browsers = await notifications.subscriptions(session, user_id)
    return {
        "email_reminders": chosen.email_reminders,
        "push_reminders": chosen.push_reminders,
        "digest_hour": "" if chosen.digest_hour is None else str(chosen.digest_hour),
        "email_available": email.available(settings),
        "vapid_public_key": (await _keys(request)).public_key,
        "browsers": len(browsers),
        "hours": HOURS,
    }


@router.get("/sw.js")
async def service_worker() -> Response:
    # Served from the site's root so that its scope covers every page of the app.
    return FileResponse(
        SERVICE_WORKER,
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache"},
    )


@router.post("/account/notifications")
async def save_notifications(request: Request, session: SessionDep, me: Me) -> Response:
    form = await read_form(request)
    hour = form.get("digest_hour", "")
    typed: dict[str, Any] = {
        "email_reminders": form.get("email_reminders") == "on",
        "push_reminders": form.get("push_reminders") == "on",
        # A number from the form's list of hours ("" for none); the model refuses the rest.
        "digest_hour": None if hour == "" else parse_int(hour) if len(hour) <= 2 else hour,
    }
    try:
        body = NotificationSettingsUpdate.model_validate(typed)
    except ValidationError:
        from todo.web.accounts import account_page

        return await account_page(
            request,
            session,
            me,
            errors={"digest_hour": "Choose an hour of the day, or no digest."},
            status_code=422,
        )
    await notifications.update_preferences(session, me.user.id, body)
    return await flash_and_redirect(
        session, me, "Your notification settings were saved.", "/account"
    )


@router.post("/account/push-subscriptions")
async def subscribe_browser(
    request: Request, session: SessionDep, me: Me, body: PushSubscriptionCreate
) -> Response:
    """Called by the account page's script with what the browser's PushManager gave."""
    settings: Settings = request.app.state.settings
    found, created = await notifications.subscribe(session, settings, me.user.id, body)
    return JSONResponse({"id": found.id, "created": created})


@router.post("/account/push-subscriptions/delete")
async def unsubscribe_browser(
    session: SessionDep, me: Me, body: PushSubscriptionDelete
) -> Response:
    await notifications.unsubscribe_endpoint(session, me.user.id, body.endpoint)
    return Response(status_code=204)


@router.post("/account/push-test")
async def send_test_notification(request: Request, session: SessionDep, me: Me) -> Response:
    settings: Settings = request.app.state.settings
    user_id = me.user.id
    sent, _removed = await notifications.send_test(session, settings, await _keys(request), user_id)
    if sent:
        message = f"A test notification went to {sent} browser{'s' if sent != 1 else ''}."
    else:
        message = "No browser gets notifications yet: turn them on in this browser first."
    return await flash_and_redirect(session, me, message, "/account")
