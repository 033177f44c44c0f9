from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response, status

from todo.accounts.deps import PathUser, domain_scopes
from todo.core.config import Settings
from todo.core.db import Database
from todo.core.deps import SessionDep
from todo.core.ids import RowId
from todo.core.schemas import problem_responses
from todo.notifications import push
from todo.notifications import service as notifications
from todo.notifications.schemas import (
    NotificationSettingsRead,
    NotificationSettingsUpdate,
    PushSubscriptionCreate,
    PushSubscriptionRead,
    TestNotificationResult,
)

# How reminders reach the account is the account's own setting: its scopes apply.
settings_router = APIRouter(
    prefix="/api/{user_id}/notification-settings",
    tags=["notifications"],
    dependencies=[domain_scopes("account")],
)
push_router = APIRouter(
    prefix="/api/{user_id}/push-subscriptions",
    tags=["notifications"],
    dependencies=[domain_scopes("account")],
)


async def _settings(request: Request) -> Settings:
    found: Settings = request.app.state.settings
    return found


async def _vapid(request: Request) -> push.Vapid:
    db: Database = request.app.state.db
    cache: dict[str, Any] = request.app.state.keys
    return await push.vapid(db, request.app.state.settings, cache)


SettingsDep = Annotated[Settings, Depends(_settings)]
VapidDep = Annotated[push.Vapid, Depends(_vapid)]


@settings_router.get(
    "",
    summary="Your reminder channels and daily digest",
    description="Reminders go by Web Push to every subscribed browser and, when the server "
    "can send email, by email; `vapid_public_key` is what a browser subscribes with.",
    responses=problem_responses(401, 403),
)
async def get_notification_settings(
    session: SessionDep, settings: SettingsDep, keys: VapidDep, user: PathUser
) -> NotificationSettingsRead:
    return await notifications.describe(session, settings, keys, user.id)


@settings_router.patch(
    "",
    summary="Turn reminder channels on or off, choose the digest hour",
    responses=problem_responses(401, 403, 422),
)
async def update_notification_settings(
    session: SessionDep,
    settings: SettingsDep,
    keys: VapidDep,
    user: PathUser,
    body: NotificationSettingsUpdate,
) -> NotificationSettingsRead:
    user_id = user.id
    await notifications.update_preferences(session, user_id, body)
    return await notifications.describe(session, settings, keys, user_id)


@push_router.get(
    "", summary="Your browsers subscribed to Web Push", responses=problem_responses(401, 403)
)
async def list_push_subscriptions(
    session: SessionDep, user: PathUser
) -> list[PushSubscriptionRead]:
    found = await notifications.subscriptions(session, user.id)
    return [PushSubscriptionRead.model_validate(item) for item in found]


@push_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Subscribe a browser to Web Push",
    description="Send what `PushSubscription.toJSON()` gives. 201 for a new browser; the same "
    "endpoint again updates its keys (200). Only https endpoints on public addresses are "
    "accepted (422 `push_endpoint_refused`).",
    responses={
        200: {"description": "Already subscribed: keys updated", "model": PushSubscriptionRead},
        **problem_responses(401, 403, 422),
    },
)
async def create_push_subscription(
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    user: PathUser,
    body: PushSubscriptionCreate,
) -> PushSubscriptionRead:
    found, created = await notifications.subscribe(session, settings, user.id, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return PushSubscriptionRead.model_validate(found)


@push_router.post(
    "/test",
    summary="Send a test notification to every subscribed browser",
    responses=problem_responses(401, 403),
)
async def test_push(
    session: SessionDep, settings: SettingsDep, keys: VapidDep, user: PathUser
) -> TestNotificationResult:
    sent, removed = await notifications.send_test(session, settings, keys, user.id)
    return TestNotificationResult(sent=sent, removed=removed)


@push_router.delete(
    # Digits only, so that /test is never read as an id.
    "/{subscription_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Unsubscribe a browser",
    responses=problem_responses(401, 403, 404, 422),
)
async def delete_push_subscription(
    session: SessionDep,
    user: PathUser,
    subscription_id: Annotated[RowId, Path(description="The subscription's id")],
) -> Response:
    await notifications.unsubscribe(session, user.id, subscription_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


router = APIRouter()
router.include_router(settings_router)
router.include_router(push_router)
