"""The contract suite runs an app configured as a Better Auth front end deploys it: tokens
signed with EdDSA and published as a JWKS by a real local HTTP server, `iss` = `aud` = the
front end's URL, CORS open to that origin."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi import FastAPI
from jwt.algorithms import OKPAlgorithm

from tests.conftest import NewDatabase, make_settings
from todo import migrations
from todo.app import create_app
from todo.core.config import Settings

FRONTEND = "http://localhost:3000"


@dataclass
class BetterAuth:
    """Signs tokens the way Better Auth's JWT plugin does and serves its JWKS."""

    jwks_url: str
    private: ed25519.Ed25519PrivateKey
    kid: str = "better-auth-key-1"

    def token(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.private, algorithm="EdDSA", headers={"kid": self.kid})


@pytest.fixture(scope="session")
def better_auth() -> Iterator[BetterAuth]:
    private = ed25519.Ed25519PrivateKey.generate()
    jwk = json.loads(OKPAlgorithm.to_jwk(private.public_key()))
    jwk |= {"kid": BetterAuth.kid, "alg": "EdDSA"}
    body = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield BetterAuth(f"http://127.0.0.1:{server.server_address[1]}/api/auth/jwks", private)
    server.shutdown()
    server.server_close()
    thread.join()


# `settings` and `app` are redefined here (not only `settings`): a session fixture caches
# one value, and the top-level `app` must not be shared with this differently built one.
@pytest.fixture(scope="session")
def settings(
    new_database: NewDatabase, tmp_path_factory: pytest.TempPathFactory, better_auth: BetterAuth
) -> Settings:
    result = make_settings(
        new_database.url(),
        tmp_path_factory.mktemp("contract"),
        auth_jwks_url=better_auth.jwks_url,
        auth_issuer=FRONTEND,
        auth_audience=FRONTEND,
        cors_origins=[FRONTEND],
    )
    migrations.upgrade(result)
    return result


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application
