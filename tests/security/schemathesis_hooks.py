"""Schemathesis hooks for tests/security/test_schemathesis.py (loaded through SCHEMATHESIS_HOOKS).

Each adjusts a generated call where the document cannot say what the server rightly needs
from the state it holds; none hides an answer.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import schemathesis
from hypothesis import strategies as st
from schemathesis.hooks import HookContext

PASSWORD = "fuzz password"
# Operations that end the caller's sessions, account or password: each call is made as a
# new user, whose current password is known.
OWN_USER = {
    ("DELETE", "/api/auth/me"),
    ("POST", "/api/auth/logout-all"),
    ("PATCH", "/api/auth/me"),
}
LINKS = ("POST", "/api/{user_id}/lists/{list_id}/links")
# The document's own format for recurrence rules (RFC 5545 RECUR): a few valid ones.
RULES = (
    "FREQ=DAILY",
    "FREQ=DAILY;INTERVAL=2;COUNT=5",
    "FREQ=WEEKLY;BYDAY=MO,WE,FR",
    "RRULE:FREQ=WEEKLY",
    "FREQ=MONTHLY;BYMONTHDAY=1",
    "FREQ=YEARLY;UNTIL=20351231",
)
schemathesis.openapi.format("rrule", st.sampled_from(RULES))


def _new_user_token() -> str:
    response = httpx.post(
        f"{os.environ['TODO_FUZZ_BASE_URL']}/api/auth/signup",
        json={"email": f"fuzz-{uuid.uuid4().hex}@example.com", "password": PASSWORD},
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


@schemathesis.hook
def map_body(context: HookContext, body: Any) -> Any:
    # Changing one's password needs the current one, which the document cannot know.
    operation = context.operation
    if (
        operation is not None
        and (operation.method.upper(), operation.path) in OWN_USER
        and isinstance(body, dict)
        and isinstance(body.get("current_password"), str)
    ):
        body["current_password"] = PASSWORD
    # A link's expiry must lie in the future, which a schema cannot say of an instant:
    # a generated one is mostly past (refused with 422, tests/sharing checks that).
    if (
        operation is not None
        and (operation.method.upper(), operation.path) == LINKS
        and isinstance(body, dict)
        and isinstance(body.get("expires_at"), str)
    ):
        body["expires_at"] = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    return body


_shared: list[str] = []


# Not cached by Schemathesis (refresh_interval=None): the operations that end a session get a
# new user each time, the others share one.
@schemathesis.auth(refresh_interval=None)
class Bearer:
    def get(self, case: schemathesis.Case, context: Any) -> str:
        if (case.method.upper(), case.path) in OWN_USER:
            return _new_user_token()
        if not _shared:
            _shared.append(_new_user_token())
        return _shared[0]

    def set(self, case: schemathesis.Case, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
        # The user is new, so its password is known only now.
        case.body = map_body(HookContext(operation=case.operation), case.body)


@schemathesis.hook
def before_call(context: Any, case: schemathesis.Case, kwargs: dict[str, Any]) -> None:
    operation = (case.method.upper(), case.path)
    # The signed-in user's own data: any other id is a 403 (tests/security/test_bola.py).
    if case.path_parameters and "user_id" in case.path_parameters:
        case.path_parameters["user_id"] = "me"
    case.body = map_body(HookContext(operation=case.operation), case.body)
    # A key is for one request: reused with another body it is refused (422), as the
    # Idempotency-Key draft says, and a generator repeats its favourite strings.
    if case.headers:
        for name in list(case.headers):
            if name.lower() == "idempotency-key":
                case.headers[name] = uuid.uuid4().hex
    body = case.body
    # A token's expiry must lie ahead of the server's clock (at most a year), which the
    # document cannot know: a well-formed instant becomes one a month from now. Anything else
    # (a number, a malformed string) is sent as generated.
    if operation == ("POST", "/api/auth/tokens") and isinstance(body, dict):
        expires = body.get("expires_at")
        if isinstance(expires, str) and _is_instant(expires):
            body["expires_at"] = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    # A rule needs a due date on the task; the document cannot know the stored task's, so a
    # PUT that sets a rule brings one.
    if (
        operation == ("PUT", "/api/{user_id}/tasks/{task_id}")
        and isinstance(body, dict)
        and isinstance(body.get("rrule"), str)
        and not any(isinstance(body.get(name), str) for name in ("due_date", "due_at"))
    ):
        body["due_date"] = "2030-01-07"


def _is_instant(text: str) -> bool:
    try:
        return datetime.fromisoformat(text).tzinfo is not None
    except ValueError:
        return False


# 422s that depend on what the server holds, which a schema cannot say of a value; each is
# documented and tested on its own.
STATE_REFUSALS = (
    # A push endpoint must be on a push service's host (PUSH_SERVICE_HOSTS) and not on a
    # private address: a made-up URL is refused on purpose (SSRF).
    "push_endpoint_refused",
    # A webhook's URL must be http(s) on a public address (SSRF; tests/webhooks sends the
    # refused kinds one by one).
    "webhook_url_refused",
    # An assignee is the list's owner or a member (tests/comments/test_collab_api.py).
    "assignee_id: not a member of this list",
    # A parent is an open task of the same list, at most four levels deep
    # (tests/tasks/test_subtasks.py).
    "parent_id: ",
)


@schemathesis.hook
def filter_failure(
    context: HookContext, failure: Any, case: schemathesis.Case, response: Any
) -> bool:
    """Keep every failure but these, each a fault of the test rather than of the API."""
    operation = (case.method.upper(), case.path)
    status = getattr(response, "status_code", None)
    text = getattr(response, "text", "") or ""
    # JSON Schema's `email` format admits special-use domains (.test, .localhost, .invalid),
    # which can never receive mail; the server refuses them on purpose (email-validator).
    if status == 422 and "special-use or reserved name" in text:
        return False
    # The body is optional and documented as `TaskCompletion | null` (null or no body
    # toggles), yet Schemathesis 4.32.5 offers null or no body as invalid data here (its
    # report even calls one "positive test case") and reports their acceptance.
    if (
        operation == ("PATCH", "/api/{user_id}/tasks/{task_id}/complete")
        and type(failure).__name__ == "AcceptedNegativeData"
        and not isinstance(case.body, dict)
    ):
        return False
    if status == 422 and any(refusal in text for refusal in STATE_REFUSALS):
        return False
    # The body is iCalendar, a grammar JSON Schema cannot state: a string that is none is
    # refused (400 bad_ics), as tests/caldav/test_files.py checks case by case.
    if (
        operation == ("POST", "/api/{user_id}/lists/{list_id}/tasks.ics")
        and status == 400
        and '"bad_ics"' in text
    ):
        return False
    # A check that sends the same PATCH again after it changed the password finds the old
    # password wrong: the first call succeeded, as the document says.
    return not (
        operation == ("PATCH", "/api/auth/me") and status == 422 and "wrong_password" in text
    )
