"""The account's webhooks in the web app: add one (its signing secret shown once), see each
one's state and delivery log, turn it off or on, test it, retry a failed delivery, delete
it. The same service functions as the API's routes, so the same SSRF policy and caps."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from pydantic import ValidationError
from starlette.responses import Response

from todo.core.config import Settings
from todo.core.deps import SessionDep
from todo.core.errors import Conflict, Unprocessable
from todo.core.ids import RowId
from todo.web.common import flash_and_redirect, web_router
from todo.web.deps import Me
from todo.web.forms import FieldErrors, field_errors, read_form
from todo.web.render import render
from todo.webhooks import service as webhooks
from todo.webhooks.models import Webhook
from todo.webhooks.schemas import (
    ATTEMPTS_MAX,
    DELIVERIES_KEPT_DAYS,
    DELIVERIES_PAGE_DEFAULT,
    EVENT_TYPES,
    URL_MAX,
    WEBHOOKS_PER_USER_MAX,
    WebhookCreate,
    WebhookUpdate,
)

router = web_router()

LABELS = {"url": "URL", "events": "Events"}
# The documented event types, grouped by what they are about, as the form lists them.
EVENT_CHOICES = [
    (kind, [f"{kind}.{action}" for action in actions]) for kind, actions in EVENT_TYPES.items()
]
KIND_NAMES = {
    "task": "Tasks",
    "list": "Lists",
    "tag": "Tags",
    "member": "List members",
    "comment": "Comments",
}


def _settings(request: Request) -> Settings:
    found: Settings = request.app.state.settings
    return found


def _page(webhook_id: int) -> str:
    return f"/account/webhooks/{webhook_id}"


async def _list_page(
    request: Request,
    session: SessionDep,
    me: Me,
    *,
    errors: FieldErrors | None = None,
    values: dict[str, Any] | None = None,
    created: Webhook | None = None,
    status_code: int = 200,
) -> Response:
    found = await webhooks.webhooks(session, me.user.id)
    return render(
        request,
        "webhooks/list.html",
        {
            "flash": me.flash,
            "webhooks": found,
            "latest": await webhooks.latest_deliveries(session, me.user.id),
            "created": created,
            "errors": errors or {},
            "values": {"url": "", "mode": "all", "events": [], **(values or {})},
            "event_choices": EVENT_CHOICES,
            "kind_names": KIND_NAMES,
            "url_max": URL_MAX,
            "webhooks_max": WEBHOOKS_PER_USER_MAX,
        },
        status_code=status_code,
    )


@router.get("/account/webhooks")
async def show_webhooks(request: Request, session: SessionDep, me: Me) -> Response:
    return await _list_page(request, session, me)


@router.post("/account/webhooks")
async def create_webhook(request: Request, session: SessionDep, me: Me) -> Response:
    """A new webhook; the answer is the page itself (no redirect), so that its signing
    secret is shown this once and kept for no later page."""
    form = await read_form(request)
    chosen = [v for v in (await request.form()).getlist("events") if isinstance(v, str)]
    url, mode = form.get("url", ""), form.get("mode", "")
    values = {"url": url, "mode": mode, "events": chosen}
    errors: FieldErrors = {}
    if mode not in ("all", "chosen"):
        errors["events"] = "Choose all events, or the events listed."
    elif mode == "chosen" and not chosen:
        errors["events"] = "Choose at least one event, or all events."
    try:
        body = WebhookCreate.model_validate(
            {"url": url.strip(), "events": ["*"] if mode == "all" else chosen}
        )
    except ValidationError as error:
        for field, sentence in field_errors(error, LABELS).items():
            errors.setdefault("url" if field == "url" else "events", sentence)
    if not errors:
        try:
            made = await webhooks.create(session, _settings(request), me.user.id, body)
        except Unprocessable as error:
            errors["url"] = _refusal(error)
        except Conflict as error:
            errors["form"] = error.detail
        else:
            return await _list_page(request, session, me, created=made)
    return await _list_page(request, session, me, errors=errors, values=values, status_code=422)


def _refusal(error: Unprocessable) -> str:
    """Why the service refused the URL, as a sentence."""
    reasons = [str(entry["reason"]) for entry in error.errors or [] if entry.get("reason")]
    if not reasons:
        return error.detail
    return f"This address is refused: {reasons[0]}."


async def _detail_page(
    request: Request,
    session: SessionDep,
    me: Me,
    webhook_id: int,
    *,
    before: int | None = None,
    new_secret: str | None = None,
) -> Response:
    webhook = await webhooks.get(session, me.user.id, webhook_id)
    page = await webhooks.deliveries(
        session, me.user.id, webhook_id, before=before, limit=DELIVERIES_PAGE_DEFAULT
    )
    return render(
        request,
        "webhooks/detail.html",
        {
            "flash": me.flash,
            "webhook": webhook,
            "new_secret": new_secret,
            "deliveries": page.items,
            "next_before": page.next_before,
            "older": before is not None,
            "attempts_max": ATTEMPTS_MAX,
            "retry_hours": webhooks.retry_span(_settings(request)).total_seconds() / 3600,
            "kept_days": DELIVERIES_KEPT_DAYS,
        },
    )


@router.get("/account/webhooks/{webhook_id:int}")
async def show_webhook(
    request: Request,
    session: SessionDep,
    me: Me,
    webhook_id: int,
    before: Annotated[RowId | None, Query()] = None,
) -> Response:
    return await _detail_page(request, session, me, webhook_id, before=before)


@router.post("/account/webhooks/{webhook_id:int}/rotate-secret")
async def rotate_secret(request: Request, session: SessionDep, me: Me, webhook_id: int) -> Response:
    """A new signing secret, in effect at once; the answer is the page, which shows it once."""
    secret = await webhooks.rotate_secret(session, me.user.id, webhook_id)
    return await _detail_page(request, session, me, webhook_id, new_secret=secret)


@router.post("/account/webhooks/{webhook_id:int}/enabled")
async def switch_webhook(
    request: Request, session: SessionDep, me: Me, webhook_id: int
) -> Response:
    typed = (await read_form(request)).get("enabled", "")
    if typed not in ("true", "false"):
        raise Unprocessable(
            "The form is not valid: enabled must be true or false.",
            errors=[{"field": "enabled", "in": "body", "reason": "must be true or false"}],
        )
    on = typed == "true"
    await webhooks.change(
        session, _settings(request), me.user.id, webhook_id, WebhookUpdate(enabled=on)
    )
    said = (
        "The webhook is on: what it missed meanwhile is sent now."
        if on
        else "The webhook is off: nothing is sent to it until you turn it on."
    )
    return await flash_and_redirect(session, me, said, _page(webhook_id))


@router.post("/account/webhooks/{webhook_id:int}/test")
async def test_webhook(request: Request, session: SessionDep, me: Me, webhook_id: int) -> Response:
    sent = await webhooks.test(session, _settings(request), me.user.id, webhook_id)
    said = (
        f"The test ping was delivered: the receiver answered {sent.status_code}."
        if sent.status == "succeeded"
        else f"The test ping failed: {sent.error or 'no answer'}."
    )
    return await flash_and_redirect(session, me, said, _page(webhook_id))


@router.post("/account/webhooks/{webhook_id:int}/deliveries/{delivery_id:int}/retry")
async def retry_delivery(
    session: SessionDep, me: Me, webhook_id: int, delivery_id: int
) -> Response:
    try:
        await webhooks.retry(session, me.user.id, webhook_id, delivery_id)
    except Conflict as error:
        # The API's sentence names its PATCH; the page's has a button for it.
        off = error.code == "webhook_disabled"
        said = "This webhook is off: turn it on first." if off else error.detail
    else:
        said = "The delivery is sent again within seconds."
    return await flash_and_redirect(session, me, said, _page(webhook_id))


@router.post("/account/webhooks/{webhook_id:int}/delete")
async def delete_webhook(session: SessionDep, me: Me, webhook_id: int) -> Response:
    await webhooks.remove(session, me.user.id, webhook_id)
    return await flash_and_redirect(
        session, me, "The webhook and its delivery log were deleted.", "/account/webhooks"
    )
