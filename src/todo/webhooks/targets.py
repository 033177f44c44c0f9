"""Where a webhook may point (SSRF): a user names the URL, the server connects to it.

Refused: schemes other than http and https, credentials in the URL, and hosts that resolve
to an address that is not public (loopback, private, link-local, multicast, reserved,
unspecified; IPv4-mapped IPv6 is judged as its IPv4 address). A host is resolved by the
system's resolver, so the other spellings of an address (2130706433, 0x7f.1, 0177.0.0.1)
resolve to what they mean and are judged by that. The check is made when the webhook is
saved, and again at each delivery by the resolver of the HTTP client, which connects only
to the addresses it checked (a name that resolves elsewhere since, DNS rebinding, is
refused). WEBHOOK_ALLOW_PRIVATE lists the hosts and ranges an operator allows anyway.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import aiohttp

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(ValueError):
    """The URL is not one a webhook may be sent to; the message says why."""


def _address(text: str) -> Address:
    found = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped
    return found


class Policy:
    """The operator's exceptions (WEBHOOK_ALLOW_PRIVATE): host names, addresses, ranges."""

    def __init__(self, allowed: list[str]) -> None:
        self.hosts = {entry.strip("[]") for entry in allowed if "/" not in entry}
        self.networks = [
            ipaddress.ip_network(entry, strict=False) for entry in allowed if "/" in entry
        ]

    def host_allowed(self, host: str) -> bool:
        return host in self.hosts

    def address_allowed(self, text: str) -> bool:
        address = _address(text)
        if str(address) in self.hosts or any(address in net for net in self.networks):
            return True
        return address.is_global and not address.is_multicast


def parse(url: str) -> tuple[str, int]:
    """The host and port of an acceptable URL, or TargetRefused."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        raise TargetRefused("is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("must be an http or https URL")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("must not hold a user name or password")
    if not host:
        raise TargetRefused("has no host")
    return host, port or (443 if parts.scheme == "https" else 80)


async def resolve(host: str, port: int) -> list[str]:
    try:
        found = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (OSError, UnicodeError):
        return []
    return [str(entry[4][0]) for entry in found]


async def check(url: str, policy: Policy) -> None:
    """Refuse a URL whose host is, or resolves to, an address we do not send to."""
    host, port = parse(url)
    if policy.host_allowed(host):
        return
    addresses = await resolve(host, port)
    if not addresses:
        raise TargetRefused(f"{host} does not resolve to any address")
    if not all(policy.address_allowed(address) for address in addresses):
        raise TargetRefused(
            "must not point at a loopback, private, link-local or other non-public address"
        )


def resolver(policy: Policy) -> aiohttp.abc.AbstractResolver:
    """A resolver for the delivery client that hands out only the addresses allowed: the
    connection goes to an address this very check accepted."""
    import aiohttp

    class Checked(aiohttp.abc.AbstractResolver):
        def __init__(self) -> None:
            self._inner = aiohttp.ThreadedResolver()

        async def resolve(
            self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
        ) -> list[aiohttp.abc.ResolveResult]:
            found = await self._inner.resolve(host, port, family)
            if policy.host_allowed(host.lower()):
                return found
            kept = [entry for entry in found if policy.address_allowed(entry["host"])]
            if len(kept) != len(found) or not kept:
                raise OSError(f"{host} resolves to an address webhooks are not sent to")
            return kept

        async def close(self) -> None:
            await self._inner.close()

    return Checked()
