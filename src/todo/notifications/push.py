"""Web Push: the server's VAPID key, and sending an encrypted message to one subscription.

The endpoint of a subscription comes from a browser, so it is untrusted: unless the
operator allows it (PUSH_ALLOW_PRIVATE_ENDPOINTS), only https to public addresses is used,
and the check is made on the addresses the connection actually uses (a resolver that drops
private ones), so a name that resolves to 127.0.0.1 at send time is refused as well.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import logging
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from todo.core.config import Settings
from todo.core.db import Database
from todo.notifications.models import PushSubscription, VapidKey

if TYPE_CHECKING:
    import aiohttp
    from py_vapid import Vapid02

log = logging.getLogger("todo.push")

SEND_TIMEOUT_S = 10.0
# How long a push service keeps a message for a device that is offline.
MESSAGE_TTL_S = 12 * 3600

Outcome = Literal["sent", "gone", "refused"]


class PushFailed(Exception):
    """The push service did not take the message, but may later: try again."""


class EndpointRefused(ValueError):
    """The endpoint is not one we send to (scheme, or a private address)."""


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _listed(host: str, patterns: list[str]) -> bool:
    return any(
        pattern == "*"
        or host == pattern
        or (pattern.startswith("*.") and host.endswith(pattern[1:]))
        for pattern in patterns
    )


def check_endpoint(endpoint: str, settings: Settings) -> None:
    """Refuse what can be refused without a DNS lookup; the resolver does the rest."""
    try:
        parts = urlsplit(endpoint)
        host = (parts.hostname or "").lower()
    except ValueError:
        raise EndpointRefused("is not a valid URL") from None
    if not host:
        raise EndpointRefused("has no host")
    if not _listed(host, settings.push_service_hosts):
        raise EndpointRefused(f"{host} is not a push service this server sends to")
    if settings.push_allow_private_endpoints:
        return
    if parts.scheme != "https":
        raise EndpointRefused("must be an https URL")
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        raise EndpointRefused("must not be a local host name")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        return
    if not _public(str(literal)):
        raise EndpointRefused("must not be a private or loopback address")


@dataclass
class Vapid:
    key: Vapid02
    public_key: str  # base64url of the uncompressed P-256 point: the applicationServerKey


def _from_key(key: Vapid02) -> Vapid:
    from cryptography.hazmat.primitives import serialization

    raw = key.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return Vapid(key=key, public_key=base64.urlsafe_b64encode(raw).decode().rstrip("="))


async def vapid(db: Database, settings: Settings, cache: dict[str, Any]) -> Vapid:
    """The server's key pair: from the settings, else the database, else made and stored
    there. Every process reads the same row: subscriptions are bound to its public key.
    `cache` keeps it for the life of the process (an app's or a worker's)."""
    found = cache.get("vapid")
    if isinstance(found, Vapid):
        return found
    # One loader at a time: parallel first requests would each hold a pooled connection
    # while opening another.
    lock: asyncio.Lock = cache.setdefault("vapid_lock", asyncio.Lock())
    async with lock:
        found = cache.get("vapid")
        if isinstance(found, Vapid):
            return found
        keys = await _load_vapid(db, settings)
        cache["vapid"] = keys
        return keys


async def warm(db: Database, settings: Settings, cache: dict[str, Any]) -> None:
    """Load (or make) the key when a process starts, before requests need it."""
    try:
        await vapid(db, settings, cache)
    except Exception as error:  # no schema yet, database down: the first use tries again
        log.warning("the Web Push key is not loaded yet: %s", error)


async def _load_vapid(db: Database, settings: Settings) -> Vapid:
    from py_vapid import Vapid02

    if settings.vapid_private_key is not None:
        given = settings.vapid_private_key.get_secret_value().strip()
        if given.startswith("-----BEGIN"):
            return _from_key(Vapid02.from_pem(given.encode()))
        return _from_key(Vapid02.from_string(given))
    async with db.session(write=False) as session:
        stored = (await session.exec(select(VapidKey).where(VapidKey.id == 1))).one_or_none()
    if stored is None:
        made = Vapid02()
        made.generate_keys()
        try:
            async with db.session(write=True) as session:
                session.add(VapidKey(id=1, private_key_pem=made.private_pem().decode()))
                await session.commit()
        except IntegrityError:
            pass  # another process stored one first: use that one, as every process must
        else:
            log.info("generated the Web Push (VAPID) key pair and stored it in the database")
            return _from_key(made)
        async with db.session(write=False) as session:
            stored = (await session.exec(select(VapidKey).where(VapidKey.id == 1))).one()
    return _from_key(Vapid02.from_pem(stored.private_key_pem.encode()))


def _public_resolver() -> aiohttp.abc.AbstractResolver:
    import aiohttp

    class PublicOnly(aiohttp.abc.AbstractResolver):
        def __init__(self) -> None:
            self._inner = aiohttp.ThreadedResolver()

        async def resolve(
            self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
        ) -> list[aiohttp.abc.ResolveResult]:
            found = await self._inner.resolve(host, port, family)
            kept = [entry for entry in found if _public(entry["host"])]
            if not kept:
                raise OSError(f"{host} resolves to no public address")
            return kept

        async def close(self) -> None:
            await self._inner.close()

    return PublicOnly()


def http_session(settings: Settings) -> aiohttp.ClientSession:
    import aiohttp

    connector = aiohttp.TCPConnector(
        resolver=None if settings.push_allow_private_endpoints else _public_resolver(),
        limit=20,
    )
    return aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=SEND_TIMEOUT_S)
    )


async def send(
    http: aiohttp.ClientSession,
    settings: Settings,
    keys: Vapid,
    subscription: PushSubscription,
    payload: dict[str, Any],
) -> Outcome:
    """Encrypt `payload` for the subscription and hand it to its push service.

    "gone" when the service says the subscription no longer exists (404, 410): the caller
    deletes it. Raises PushFailed for what may pass (5xx, 429, the network), and
    EndpointRefused for an endpoint we do not send to.
    """
    import aiohttp
    from pywebpush import WebPushException, webpush_async

    check_endpoint(subscription.endpoint, settings)
    info: dict[str, Any] = {
        "endpoint": subscription.endpoint,
        "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
    }
    try:
        await webpush_async(
            subscription_info=info,
            data=json.dumps(payload, separators=(",", ":")),
            vapid_private_key=keys.key,
            # A fresh dict each time: the library writes `aud` and `exp` into it.
            vapid_claims={"sub": settings.vapid_subject},
            ttl=MESSAGE_TTL_S,
            timeout=SEND_TIMEOUT_S,
            aiohttp_session=http,
        )
    except WebPushException as error:
        status = error.status_code
        if status in (404, 410):
            return "gone"
        if status is not None and 400 <= status < 500 and status != 429:
            # The service refuses this message for good (a bad key, too large): retrying
            # cannot help, and the subscription may still work for others.
            log.warning("push service refused a message with %s: %s", status, error)
            return "refused"
        raise PushFailed(str(error)) from error
    except (aiohttp.ClientError, OSError, TimeoutError) as error:
        raise PushFailed(f"{type(error).__name__}: {error}") from error
    return "sent"
