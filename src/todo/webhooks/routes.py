from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from todo.accounts.deps import PathUser, domain_scopes
from todo.core.config import Settings
from todo.core.deps import SessionDep
from todo.core.ids import RowId
from todo.core.schemas import problem_responses
from todo.webhooks import service as webhooks
from todo.webhooks.schemas import (
    DELIVERIES_PAGE_DEFAULT,
    DELIVERIES_PAGE_MAX,
    DeliveryRead,
    SecretRotated,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)

router = APIRouter(
    prefix="/api/{user_id}/webhooks", tags=["webhooks"], dependencies=[domain_scopes("webhooks")]
)


async def _settings(request: Request) -> Settings:
    found: Settings = request.app.state.settings
    return found


SettingsDep = Annotated[Settings, Depends(_settings)]
WebhookId = Annotated[RowId, Path(description="The webhook's id")]
DeliveryId = Annotated[RowId, Path(description="The delivery's id")]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Add a webhook",
    description="Changes of the events named are POSTed to `url`, signed as Standard Webhooks "
    "specifies (`webhook-id`, `webhook-timestamp`, `webhook-signature`). The answer holds the "
    "signing secret, shown this once. URLs on loopback, private or other non-public addresses "
    "are refused (422 `webhook_url_refused`); 409 `too_many_webhooks` past 20.",
    responses=problem_responses(401, 403, 409, 422),
)
async def create_webhook(
    session: SessionDep, settings: SettingsDep, user: PathUser, body: WebhookCreate
) -> WebhookCreated:
    found = await webhooks.create(session, settings, user.id, body)
    return WebhookCreated.model_validate(found)


@router.get("", summary="Your webhooks (without secrets)", responses=problem_responses(401, 403))
async def list_webhooks(session: SessionDep, user: PathUser) -> list[WebhookRead]:
    return [WebhookRead.model_validate(each) for each in await webhooks.webhooks(session, user.id)]


@router.get("/{webhook_id}", summary="One webhook", responses=problem_responses(401, 403, 404, 422))
async def get_webhook(session: SessionDep, user: PathUser, webhook_id: WebhookId) -> WebhookRead:
    return WebhookRead.model_validate(await webhooks.get(session, user.id, webhook_id))


@router.patch(
    "/{webhook_id}",
    summary="Change a webhook's URL or events, or turn it off or back on",
    description="`enabled: true` turns a disabled webhook back on: what it missed meanwhile "
    "(the events still kept) is sent then.",
    responses=problem_responses(401, 403, 404, 422),
)
async def update_webhook(
    session: SessionDep,
    settings: SettingsDep,
    user: PathUser,
    webhook_id: WebhookId,
    body: WebhookUpdate,
) -> WebhookRead:
    found = await webhooks.change(session, settings, user.id, webhook_id, body)
    return WebhookRead.model_validate(found)


@router.delete(
    "/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a webhook and its delivery log",
    responses=problem_responses(401, 403, 404, 422),
)
async def delete_webhook(session: SessionDep, user: PathUser, webhook_id: WebhookId) -> Response:
    await webhooks.remove(session, user.id, webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{webhook_id}/rotate-secret",
    summary="Replace the signing secret",
    description="The new secret is in this answer only; deliveries are signed with it at once.",
    responses=problem_responses(401, 403, 404, 422),
)
async def rotate_webhook_secret(
    session: SessionDep, user: PathUser, webhook_id: WebhookId
) -> SecretRotated:
    secret = await webhooks.rotate_secret(session, user.id, webhook_id)
    return SecretRotated(id=webhook_id, secret=secret)


@router.get(
    "/{webhook_id}/deliveries",
    summary="The webhook's delivery log, newest first",
    description='Keyset-paged: follow `Link: <...>; rel="next"` (or pass `before`).',
    responses=problem_responses(401, 403, 404, 422),
)
async def list_deliveries(
    request: Request,
    response: Response,
    session: SessionDep,
    user: PathUser,
    webhook_id: WebhookId,
    before: Annotated[
        RowId | None, Query(description="A delivery id from the previous page: older ones")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=DELIVERIES_PAGE_MAX)] = DELIVERIES_PAGE_DEFAULT,
) -> list[DeliveryRead]:
    page = await webhooks.deliveries(session, user.id, webhook_id, before=before, limit=limit)
    if page.next_before is not None:
        url = request.url.include_query_params(before=page.next_before)
        response.headers["Link"] = f'<{url}>; rel="next"'
    return [DeliveryRead.model_validate(each) for each in page.items]


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/retry",
    summary="Send a delivery again",
    description="One more attempt, within seconds; 409 `webhook_disabled` while the webhook "
    "is off, 409 `delivery_pending` while the delivery waits for an attempt anyway.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def retry_delivery(
    session: SessionDep, user: PathUser, webhook_id: WebhookId, delivery_id: DeliveryId
) -> DeliveryRead:
    found = await webhooks.retry(session, user.id, webhook_id, delivery_id)
    return DeliveryRead.model_validate(found)


@router.post(
    "/{webhook_id}/test",
    summary="Send a `ping` to the webhook now",
    description="One attempt, made while you wait (at most WEBHOOK_TIMEOUT): the answer is "
    "the delivery with its status code or error. It does not count against the webhook.",
    responses=problem_responses(401, 403, 404, 422),
)
async def test_webhook(
    session: SessionDep, settings: SettingsDep, user: PathUser, webhook_id: WebhookId
) -> DeliveryRead:
    found = await webhooks.test(session, settings, user.id, webhook_id)
    return DeliveryRead.model_validate(found)
