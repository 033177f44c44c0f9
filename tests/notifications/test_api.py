"""The notification settings and push subscription API: success, 401, someone else's, 422."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import Account, make_settings
from todo.notifications.push import EndpointRefused, check_endpoint

ENDPOINT = "https://fcm.googleapis.com/fcm/send/abc"
KEYS = {"p256dh": "BNc" + "A" * 84, "auth": "c2VjcmV0c2VjcmV0MTI"}


def _subscription(endpoint: str = ENDPOINT) -> dict[str, object]:
    return {"endpoint": endpoint, "expirationTime": None, "keys": KEYS}


async def test_settings_start_from_the_defaults_and_change(
    client: httpx.AsyncClient, alice: Account
) -> None:
    first = await client.get("/api/me/notification-settings", headers=alice.headers)
    assert first.status_code == 200
    body = first.json()
    assert body["email_reminders"] is False
    assert body["push_reminders"] is True
    assert body["digest_hour"] is None
    assert body["email_available"] is False  # the test settings have no SMTP_HOST
    assert len(body["vapid_public_key"]) == 87  # 65 bytes in base64url
    changed = await client.patch(
        f"/api/{alice.id}/notification-settings",
        json={"email_reminders": True, "digest_hour": 7},
        headers=alice.headers,
    )
    assert changed.status_code == 200
    assert changed.json()["email_reminders"] is True
    assert changed.json()["digest_hour"] == 7
    # null leaves a switch alone and turns the digest off.
    again = await client.patch(
        "/api/me/notification-settings",
        json={"email_reminders": None, "digest_hour": None},
        headers=alice.headers,
    )
    assert again.json()["email_reminders"] is True
    assert again.json()["digest_hour"] is None
    # A JSON number is a number, whichever way it is written.
    whole = await client.patch(
        "/api/me/notification-settings", json={"digest_hour": 16.0}, headers=alice.headers
    )
    assert whole.json()["digest_hour"] == 16
    # The same key for every reader: browsers subscribe with it.
    key = (await client.get("/api/me/notification-settings", headers=alice.headers)).json()
    assert key["vapid_public_key"] == body["vapid_public_key"]


@pytest.mark.parametrize(
    "body",
    [
        {"digest_hour": 24},
        {"digest_hour": -1},
        {"digest_hour": "7"},
        {"digest_hour": 7.5},
        {"digest_hour": True},
        {"email_reminders": "yes"},
        {"email_reminders": 1},
        {"sms_reminders": True},
    ],
)
async def test_settings_refuse_what_they_do_not_know(
    client: httpx.AsyncClient, alice: Account, body: dict[str, object]
) -> None:
    answer = await client.patch("/api/me/notification-settings", json=body, headers=alice.headers)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"


async def test_without_a_token_or_as_someone_else_nothing_is_shown(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    for method, path in [
        ("GET", "notification-settings"),
        ("PATCH", "notification-settings"),
        ("GET", "push-subscriptions"),
        ("POST", "push-subscriptions"),
        ("POST", "push-subscriptions/test"),
        ("DELETE", "push-subscriptions/1"),
    ]:
        anonymous = await client.request(method, f"/api/me/{path}", json={})
        assert anonymous.status_code == 401, (method, path)
        other = await client.request(
            method, f"/api/{bob.id}/{path}", json={}, headers=alice.headers
        )
        assert other.status_code == 403, (method, path)
        assert other.json()["code"] == "wrong_user"


async def test_a_browser_subscribes_once_and_unsubscribes(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    made = await client.post(
        "/api/me/push-subscriptions", json=_subscription(), headers=alice.headers
    )
    assert made.status_code == 201, made.text
    again = await client.post(
        "/api/me/push-subscriptions",
        json={**_subscription(), "keys": {**KEYS, "auth": "bmV3c2VjcmV0bmV3c2Vj"}},
        headers=alice.headers,
    )
    assert again.status_code == 200
    assert again.json()["id"] == made.json()["id"]
    listed = await client.get("/api/me/push-subscriptions", headers=alice.headers)
    assert [s["endpoint"] for s in listed.json()] == [ENDPOINT]
    assert "auth" not in listed.json()[0]

    # Bob's id space is not Alice's: her subscription is a 404 to him.
    subscription_id = made.json()["id"]
    foreign = await client.delete(
        f"/api/me/push-subscriptions/{subscription_id}", headers=bob.headers
    )
    assert foreign.status_code == 404
    assert foreign.json()["code"] == "push_subscription_not_found"
    gone = await client.delete(
        f"/api/me/push-subscriptions/{subscription_id}", headers=alice.headers
    )
    assert gone.status_code == 204
    missing = await client.delete(
        f"/api/me/push-subscriptions/{subscription_id}", headers=alice.headers
    )
    assert missing.status_code == 404
    bad_id = await client.delete("/api/me/push-subscriptions/abc", headers=alice.headers)
    assert bad_id.status_code == 404
    not_an_id = await client.delete("/api/me/push-subscriptions/test", headers=alice.headers)
    assert not_an_id.status_code == 405


async def test_a_test_notification_with_no_browser_sends_nothing(
    client: httpx.AsyncClient, alice: Account
) -> None:
    answer = await client.post("/api/me/push-subscriptions/test", headers=alice.headers)
    assert answer.status_code == 200
    assert answer.json() == {"sent": 0, "removed": 0}


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://fcm.googleapis.com/fcm/send/abc",
        "https://push.example.com/v1/abc",
        "https://fcm.googleapis.com.example.com/x",
        "https://127.0.0.1/push",
        "https://10.1.2.3/push",
        "https://[::1]/push",
        "https://[::ffff:127.0.0.1]/push",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost:8443/push",
        "https://router.local/push",
    ],
)
async def test_private_and_plain_http_endpoints_are_refused(
    client: httpx.AsyncClient, alice: Account, endpoint: str
) -> None:
    answer = await client.post(
        "/api/me/push-subscriptions", json=_subscription(endpoint), headers=alice.headers
    )
    assert answer.status_code == 422
    assert answer.json()["code"] == "push_endpoint_refused"
    assert answer.json()["errors"][0]["field"] == "endpoint"


@pytest.mark.parametrize(
    "body",
    [
        {"endpoint": ENDPOINT},
        {"endpoint": ENDPOINT, "keys": {"p256dh": "not base64!", "auth": "x"}},
        {"endpoint": ENDPOINT, "keys": {**KEYS, "extra": "x"}},
        {"endpoint": "ftp://fcm.googleapis.com/", "keys": KEYS},
        {"endpoint": "https://" + "a" * 2000, "keys": KEYS},
        {"endpoint": ENDPOINT, "keys": KEYS, "unknown": 1},
        {"endpoint": "https://\u00f5G]\u00ce/x", "keys": KEYS},
        {"endpoint": "https://[::1/x", "keys": KEYS},
    ],
)
async def test_malformed_subscriptions_are_refused(
    client: httpx.AsyncClient, alice: Account, body: dict[str, object]
) -> None:
    answer = await client.post("/api/me/push-subscriptions", json=body, headers=alice.headers)
    assert answer.status_code == 422, answer.text


async def test_the_endpoint_check_lets_the_push_services_through(tmp_path: Path) -> None:
    default = make_settings("sqlite:///x.db", tmp_path)
    check_endpoint("https://fcm.googleapis.com/fcm/send/abc", default)
    check_endpoint("https://updates.push.services.mozilla.com/wpush/v2/x", default)
    check_endpoint("https://web.push.apple.com/QGx", default)
    anywhere = make_settings("sqlite:///x.db", tmp_path, push_service_hosts="*")
    check_endpoint("https://8.8.8.8/push", anywhere)
    for private in (
        "http://8.8.8.8/push",
        "https://192.168.1.1/push",
        "https://127.0.0.1/push",
        "https://[::1]/push",
        "https://[::ffff:10.0.0.1]/push",
        "https://169.254.169.254/latest",
        "https://100.64.0.1/push",
        "https://localhost/push",
        "https://printer.local/push",
    ):
        with pytest.raises(EndpointRefused):
            check_endpoint(private, anywhere)
    local = make_settings(
        "sqlite:///x.db",
        tmp_path,
        push_service_hosts="127.0.0.1",
        push_allow_private_endpoints=True,
    )
    check_endpoint("http://127.0.0.1:8080/push", local)
    with pytest.raises(EndpointRefused):
        check_endpoint("http://127.0.0.2:8080/push", local)


async def test_a_name_that_resolves_to_a_private_address_is_refused_when_sending() -> None:
    """The check at subscription time sees only the name; the resolver the sender connects
    through sees the addresses, so a name pointed at 127.0.0.1 later is refused too."""
    from todo.notifications.push import _public_resolver

    resolver = _public_resolver()
    try:
        with pytest.raises(OSError, match="no public address"):
            await resolver.resolve("localhost", 443)
    finally:
        await resolver.close()
