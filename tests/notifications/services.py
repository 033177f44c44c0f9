"""Real stand-ins for the other side: an SMTP server (aiosmtpd) and a Web Push service
that decrypts what it is sent with the browser's keys and checks the VAPID token."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import http_ece
import jwt
from aiohttp import web
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class _Inbox:
    def __init__(self, delay_s: float, on_data: Callable[[int], None] | None) -> None:
        self.messages: list[EmailMessage] = []
        self.delay_s = delay_s
        self.on_data = on_data
        self.arriving = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.arriving += 1
        if self.on_data is not None:
            self.on_data(self.arriving)
        if self.delay_s:
            import asyncio

            await asyncio.sleep(self.delay_s)
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self.messages.append(parsed)
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on 127.0.0.1 in a thread of its own; `messages` is what it accepted (a
    message whose client went away before the server's 250 is not, as in SMTP). `on_data`
    is called with the number of each message as its data arrives, before `delay_s`."""

    def __init__(
        self, *, delay_s: float = 0.0, on_data: Callable[[int], None] | None = None
    ) -> None:
        self.port = free_port()
        self._inbox = _Inbox(delay_s, on_data)
        self._controller = Controller(self._inbox, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._controller.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        return list(self._inbox.messages)

    def on_data(self, callback: Callable[[int], None] | None) -> None:
        self._inbox.on_data = callback

    def clear(self) -> None:
        self._inbox.messages.clear()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self._inbox.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """A browser's side of a push subscription: its P-256 key pair and auth secret."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def subscription(self) -> dict[str, Any]:
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": _b64(public), "auth": _b64(self.auth)},
        }


@dataclass
class Delivered:
    browser: str
    payload: dict[str, Any]
    claims: dict[str, Any]
    ttl: int


class PushService:
    """An HTTP server on 127.0.0.1 playing a push service: it refuses a message whose VAPID
    token does not verify, decrypts the rest with the browser's keys, and answers 410 for
    browsers marked gone."""

    def __init__(self, *, subject: str) -> None:
        self.port = free_port()
        self.subject = subject
        self.origin = f"http://127.0.0.1:{self.port}"
        self.browsers: dict[str, Browser] = {}
        self.gone: set[str] = set()
        self.failing: set[str] = set()
        self.delivered: list[Delivered] = []
        self.refused: list[str] = []
        self._runner: web.AppRunner | None = None

    def browser(self, name: str) -> Browser:
        made = Browser(endpoint=f"{self.origin}/push/{name}")
        self.browsers[name] = made
        return made

    async def start(self) -> None:
        application = web.Application()
        application.router.add_post("/push/{name}", self._receive)
        self._runner = web.AppRunner(application)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _claims(self, request: web.Request) -> dict[str, Any]:
        scheme, _, params = request.headers.get("Authorization", "").partition(" ")
        assert scheme == "vapid", f"not a VAPID authorization: {scheme!r}"
        fields = dict(part.strip().split("=", 1) for part in params.split(","))
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(fields["k"]))
        claims: dict[str, Any] = jwt.decode(
            fields["t"], key=key, algorithms=["ES256"], audience=self.origin
        )
        assert claims["sub"] == self.subject
        assert claims["exp"] > time.time()
        return claims

    async def _receive(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name in self.gone or name not in self.browsers:
            return web.Response(status=410)
        if name in self.failing:
            return web.Response(status=503)
        try:
            claims = self._claims(request)
        except Exception as error:
            self.refused.append(f"{type(error).__name__}: {error}")
            return web.Response(status=401)
        assert request.headers["Content-Encoding"] == "aes128gcm"
        browser = self.browsers[name]
        plain = http_ece.decrypt(
            await request.read(),
            private_key=browser.private_key,
            auth_secret=browser.auth,
            version="aes128gcm",
        )
        self.delivered.append(
            Delivered(
                browser=name,
                payload=json.loads(plain),
                claims=claims,
                ttl=int(request.headers["TTL"]),
            )
        )
        return web.Response(status=201)


def host_of(url: str) -> str:
    return urlsplit(url).netloc
