"""TokenService against real signatures and a real local JWKS endpoint."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from todo.core import tokens as tokens_module
from todo.core.errors import ServiceUnavailable, Unauthorized
from todo.core.tokens import TokenClaims, TokenService

SECRET = "better-auth-secret-" + "0123456789abcdef" * 4
TTL = timedelta(hours=1)


def _segment(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _payload(**claims: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "user-1", "iat": now, "exp": now + 600} | claims


def _hs256(claims: dict[str, Any], key: bytes, header: dict[str, Any] | None = None) -> str:
    """Sign by hand so that keys PyJWT refuses (e.g. a PEM) can still be used to attack."""
    signing_input = (
        f"{_segment({'alg': 'HS256', 'typ': 'JWT'} | (header or {}))}.{_segment(claims)}"
    )
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_segment(signature)}"


def _signed(claims: dict[str, Any]) -> str:
    """A token as Better Auth signs it with the shared secret."""
    return jwt.encode(claims, SECRET, algorithm="HS256")


async def _rejected(service: TokenService, token: str) -> str:
    with pytest.raises(Unauthorized) as excinfo:
        await service.verify(token)
    assert excinfo.value.detail
    return excinfo.value.code


async def _unavailable(service: TokenService, token: str) -> int:
    """The check could not be made (503): the Retry-After it answers, in seconds."""
    with pytest.raises(ServiceUnavailable) as excinfo:
        await service.verify(token)
    assert excinfo.value.code == "jwks_unavailable"
    return int(excinfo.value.headers["Retry-After"])


@dataclass
class SigningKey:
    alg: str
    kid: str
    private: Any
    jwk: dict[str, Any]

    def sign(self, claims: dict[str, Any], *, kid: str | None = "own") -> str:
        """Sign with this key; `kid` may name another key, or be None to leave it out."""
        headers = {} if kid is None else {"kid": self.kid if kid == "own" else kid}
        return jwt.encode(claims, self.private, algorithm=self.alg, headers=headers)


def _signing_key(alg: str, kid: str) -> SigningKey:
    private: Any
    if alg == "EdDSA":
        private = ed25519.Ed25519PrivateKey.generate()
        public_jwk = OKPAlgorithm.to_jwk(private.public_key(), as_dict=True)
    elif alg == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_jwk = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    else:
        private = ec.generate_private_key(ec.SECP256R1())
        public_jwk = ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    return SigningKey(alg, kid, private, public_jwk | {"kid": kid, "alg": alg, "use": "sig"})


@pytest.fixture(scope="module")
def keys() -> dict[str, SigningKey]:
    return {
        name: _signing_key(alg, name)
        for name, alg in [
            ("ed", "EdDSA"),
            ("rsa", "RS256"),
            ("ec", "ES256"),
            ("ed-next", "EdDSA"),
        ]
    }


@dataclass
class JwksServer:
    url: str
    keys: list[dict[str, Any]]
    status: int = 200
    body: bytes | None = None
    delay: float = 0.0
    hits: list[str] = field(default_factory=list)


@pytest.fixture
def jwks_server(keys: dict[str, SigningKey]) -> Iterator[JwksServer]:
    state = JwksServer(url="", keys=[keys[name].jwk for name in ("ed", "rsa", "ec")])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits.append(self.path)
            time.sleep(state.delay)
            body = state.body if state.body is not None else json.dumps({"keys": state.keys})
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body if isinstance(body, bytes) else body.encode())

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/api/auth/jwks"
    # A short poll keeps shutdown() from adding half a second to every test.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/jwks"


@pytest.fixture
async def make_service() -> AsyncIterator[Callable[..., TokenService]]:
    services: list[TokenService] = []

    def make(**overrides: Any) -> TokenService:
        settings: dict[str, Any] = {"secret": SECRET, "ttl": TTL, **overrides}
        service = TokenService(**settings)
        services.append(service)
        return service

    yield make
    for service in services:
        await service.aclose()


@pytest.fixture
def service(make_service: Callable[..., TokenService]) -> TokenService:
    return make_service()


# --- our own tokens -------------------------------------------------------------------------


async def test_issue_and_verify_round_trip(service: TokenService) -> None:
    now = datetime.now(UTC).replace(microsecond=0)

    token, expires_in = service.issue("user-42", session_version=3, now=now)

    assert expires_in == 3600
    assert await service.verify(token) == TokenClaims(
        user_id="user-42",
        issued_at=now,
        session_version=3,
        email=None,
        name=None,
        external=False,
    )


async def test_issued_token_carries_registered_claims(
    make_service: Callable[..., TokenService],
) -> None:
    service = make_service(issuer="https://todo.example", audience="todo-api")
    now = datetime.now(UTC).replace(microsecond=0)

    token, _ = service.issue("user-42", session_version=0, now=now)

    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="todo-api")
    issued = int(now.timestamp())
    assert claims["sub"] == "user-42"
    assert claims["iat"] == claims["nbf"] == issued
    assert claims["exp"] == issued + 3600
    assert claims["sv"] == 0
    assert claims["iss"] == "https://todo.example"
    assert claims["aud"] == "todo-api"
    again, _ = service.issue("user-42", session_version=0, now=now)
    assert isinstance(claims["jti"], str)
    assert (
        claims["jti"] != jwt.decode(again, SECRET, algorithms=["HS256"], audience="todo-api")["jti"]
    )


def test_issue_rejects_naive_now(service: TokenService) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        service.issue("user-1", session_version=1, now=datetime.now())


async def test_expired_token(service: TokenService) -> None:
    token, _ = service.issue("user-1", session_version=1, now=datetime.now(UTC) - 2 * TTL)

    assert await _rejected(service, token) == "token_expired"


async def test_token_from_the_future_is_not_yet_valid(service: TokenService) -> None:
    token, _ = service.issue(
        "user-1", session_version=1, now=datetime.now(UTC) + timedelta(hours=1)
    )

    assert await _rejected(service, token) == "token_not_yet_valid"


async def test_nbf_in_the_future(service: TokenService) -> None:
    token = _signed(_payload(nbf=int(time.time()) + 300))

    assert await _rejected(service, token) == "token_not_yet_valid"


@pytest.mark.parametrize(
    ("leeway", "code"),
    [(timedelta(seconds=30), None), (timedelta(0), "token_expired")],
)
async def test_leeway_on_exp(
    make_service: Callable[..., TokenService], leeway: timedelta, code: str | None
) -> None:
    service = make_service(leeway=leeway)
    token = _signed(_payload(exp=int(time.time()) - 10))

    if code is None:
        assert (await service.verify(token)).user_id == "user-1"
    else:
        assert await _rejected(service, token) == code


@pytest.mark.parametrize(
    ("leeway", "code"),
    [(timedelta(seconds=30), None), (timedelta(0), "token_not_yet_valid")],
)
async def test_leeway_on_nbf(
    make_service: Callable[..., TokenService], leeway: timedelta, code: str | None
) -> None:
    service = make_service(leeway=leeway)
    token = _signed(_payload(nbf=int(time.time()) + 10))

    if code is None:
        assert (await service.verify(token)).user_id == "user-1"
    else:
        assert await _rejected(service, token) == code


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_none_algorithm(service: TokenService, alg: str) -> None:
    token = f"{_segment({'alg': alg, 'typ': 'JWT'})}.{_segment(_payload())}."

    assert await _rejected(service, token) == "invalid_token"


async def test_tampered_payload(service: TokenService) -> None:
    token, _ = service.issue("user-1", session_version=1)
    header, _, signature = token.split(".")
    forged = f"{header}.{_segment(_payload(sub='admin', sv=1))}.{signature}"

    assert await _rejected(service, forged) == "invalid_token"


async def test_wrong_secret(service: TokenService) -> None:
    token = jwt.encode(
        _payload(), "another-secret-that-is-long-enough-for-hs256", algorithm="HS256"
    )

    assert await _rejected(service, token) == "invalid_token"


async def test_hmac_algorithm_other_than_hs256(service: TokenService) -> None:
    token = jwt.encode(_payload(), SECRET, algorithm="HS384")

    assert await _rejected(service, token) == "invalid_token"


async def test_asymmetric_token_without_jwks(
    service: TokenService, keys: dict[str, SigningKey]
) -> None:
    assert await _rejected(service, keys["rsa"].sign(_payload())) == "invalid_token"


async def test_algorithm_confusion_with_rsa_public_key(
    make_service: Callable[..., TokenService],
    jwks_server: JwksServer,
    keys: dict[str, SigningKey],
) -> None:
    service = make_service(jwks_url=jwks_server.url)
    public_pem = (
        keys["rsa"]
        .private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    # Prime the key cache so the public key is one the service genuinely trusts.
    assert (await service.verify(keys["rsa"].sign(_payload()))).external

    forged = _hs256(_payload(sub="admin"), public_pem, {"kid": "rsa"})

    assert await _rejected(service, forged) == "invalid_token"


async def test_symmetric_key_in_jwks_is_never_used(
    make_service: Callable[..., TokenService], jwks_server: JwksServer
) -> None:
    shared = b"published-symmetric-key-0123456789abcdef"
    jwks_server.keys = [{"kty": "oct", "k": _segment(shared), "kid": "sym", "alg": "HS256"}]
    service = make_service(jwks_url=jwks_server.url)

    assert await _rejected(service, _hs256(_payload(), shared, {"kid": "sym"})) == "invalid_token"


async def test_wrong_issuer(make_service: Callable[..., TokenService]) -> None:
    service = make_service(issuer="https://todo.example")
    other = make_service(issuer="https://evil.example")

    assert await _rejected(service, other.issue("user-1", session_version=1)[0]) == "invalid_issuer"


async def test_missing_issuer_when_configured(make_service: Callable[..., TokenService]) -> None:
    service = make_service(issuer="https://todo.example")
    token = _signed(_payload())

    assert await _rejected(service, token) == "invalid_issuer"


async def test_wrong_audience(make_service: Callable[..., TokenService]) -> None:
    service = make_service(audience="todo-api")
    other = make_service(audience="billing-api")

    assert (
        await _rejected(service, other.issue("user-1", session_version=1)[0]) == "invalid_audience"
    )


async def test_missing_audience_when_configured(make_service: Callable[..., TokenService]) -> None:
    service = make_service(audience="todo-api")
    token = _signed(_payload())

    assert await _rejected(service, token) == "invalid_audience"


async def test_matching_issuer_and_audience(make_service: Callable[..., TokenService]) -> None:
    service = make_service(issuer="https://todo.example", audience="todo-api")
    token, _ = service.issue("user-1", session_version=1)

    assert (await service.verify(token)).user_id == "user-1"


async def test_audience_is_ignored_when_not_configured(service: TokenService) -> None:
    token = _signed(_payload(aud="http://localhost:3000"))

    assert (await service.verify(token)).user_id == "user-1"


@pytest.mark.parametrize("claim", ["user_id", "id"])
async def test_better_auth_token_without_sub(service: TokenService, claim: str) -> None:
    now = int(time.time())
    claims = {
        claim: "ba-user",
        "email": "ada@example.com",
        "name": "Ada",
        "iat": now,
        "exp": now + 60,
    }
    token = _signed(claims)

    assert await service.verify(token) == TokenClaims(
        user_id="ba-user",
        issued_at=datetime.fromtimestamp(now, UTC),
        session_version=None,
        email="ada@example.com",
        name="Ada",
        external=False,
    )


async def test_sub_takes_precedence_over_fallbacks(service: TokenService) -> None:
    token = _signed(_payload(user_id="other", id="third"))

    assert (await service.verify(token)).user_id == "user-1"


@pytest.mark.parametrize(
    "claims",
    [{}, {"sub": ""}, {"user_id": 42}, {"sub": 42}],
    ids=["absent", "empty", "not-a-string", "numeric-sub"],
)
async def test_token_without_user_id(service: TokenService, claims: dict[str, Any]) -> None:
    token = _signed(claims | {"exp": int(time.time()) + 60})

    assert await _rejected(service, token) == "invalid_token"


async def test_token_without_exp(service: TokenService) -> None:
    token = _signed({"sub": "user-1", "iat": int(time.time())})

    assert await _rejected(service, token) == "invalid_token"


@pytest.mark.parametrize(
    "claims",
    [
        {"sv": 1, "iat": None},
        {"sv": True},
        {"sv": "1"},
        {"iat": "yesterday"},
    ],
    ids=["session-token-without-iat", "bool-sv", "string-sv", "string-iat"],
)
async def test_malformed_claims(service: TokenService, claims: dict[str, Any]) -> None:
    payload = {k: v for k, v in (_payload() | claims).items() if v is not None}

    assert await _rejected(service, _signed(payload)) == "invalid_token"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        ".".join(_segment(os.urandom(24)) for _ in range(3)),
        base64.urlsafe_b64encode(os.urandom(7500)).decode()[:10_240],
        "é.é.é",
        "\ud800.\ud800.\ud800",
    ],
    ids=["empty", "two-segments", "random-segments", "10kb-junk", "non-ascii", "surrogates"],
)
async def test_garbage(service: TokenService, token: str) -> None:
    assert await _rejected(service, token) == "invalid_token"


# --- JWKS-signed tokens -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ed", "rsa", "ec"])
async def test_jwks_signed_token(
    make_service: Callable[..., TokenService],
    jwks_server: JwksServer,
    keys: dict[str, SigningKey],
    name: str,
) -> None:
    service = make_service(jwks_url=jwks_server.url)
    now = int(time.time())
    token = keys[name].sign(_payload(iat=now, email="ada@example.com", name="Ada", sv=7))

    assert await service.verify(token) == TokenClaims(
        user_id="user-1",
        issued_at=datetime.fromtimestamp(now, UTC),
        session_version=None,
        email="ada@example.com",
        name="Ada",
        external=True,
    )


async def test_jwks_token_without_kid_uses_the_only_key_of_its_algorithm(
    make_service: Callable[..., TokenService],
    jwks_server: JwksServer,
    keys: dict[str, SigningKey],
) -> None:
    service = make_service(jwks_url=jwks_server.url)

    assert (await service.verify(keys["rsa"].sign(_payload(), kid=None))).external


async def test_jwks_token_without_kid_is_ambiguous_among_several_keys(
    make_service: Callable[..., TokenService],
    jwks_server: JwksServer,
    keys: dict[str, SigningKey],
) -> None:
    jwks_server.keys = [keys["ed"].jwk, keys["ed-next"].jwk]
    service = make_service(jwks_url=jwks_server.url)

    assert await _rejected(service, keys["ed"].sign(_payload(), kid=None)) == "unknown_key"


async def test_jwks_signature_from_another_key_under_a_known_kid(
    make_service: Callable[..., TokenService],
    jwks_server: JwksServer,
    keys: dict[str, SigningKey],
) -> None:
    service = make_service(jwks_url=jwks_server.url)

    assert await _rejected(service, keys["ed-next"].sign(_payload(), kid="ed")) == "invalid_token"


async def test_jwks_algorithm_that_does_not_match_the_kid(
    make_service: Callable[..., TokenService],
    jwks_server: JwksServer,
    keys: dict[str, SigningKey],
) -> None:
    service = make_service(jwks_url=jwks_server.url)

    assert await _rejected(service, keys["rsa"].sign(_payload(), kid="ec")) == "invalid_token"


async def test_jwks_token_checks_claims(
    make_service: Callable[..., TokenService],
    jwks_server: JwksServer,
    keys: dict[str, SigningKey],
) -> None:
    service = make_service(jwks_url=jwks_server.url, audience="todo-api")

    assert await _rejected(service, keys["ed"].sign(_payload(aud="other"))) == "invalid_audience"
    assert await _rejected(service, keys["ed"].sign(_payload(exp=1))) == "token_expired"


async def test_jwks_key_rotation(
    make_service: Callable[..., TokenService],
    jwks_server: JwksServer,
    keys: dict[str, SigningKey],
) -> None:
    service = make_service(jwks_url=jwks_server.url)
    assert (await service.verify(keys["ed"].sign(_payload()))).external
    jwks_server.keys = [keys["ed-next"].jwk]

    assert (await service.verify(keys["ed-next"].sign(_payload()))).external
    assert len(jwks_server.hits) == 2


async def test_forged_kids_cost_one_fetch_per_floor(
    make_service: Callable[..., TokenService],
    jwks_server: JwksServer,
    keys: dict[str, SigningKey],
) -> None:
    service = make_service(jwks_url=jwks_server.url)
    assert (await service.verify(keys["ed"].sign(_payload()))).external

    assert await _rejected(service, keys["ed"].sign(_payload(), kid="nope-1")) == "unknown_key"
    # Proven absent by a set fetched after it arrived: refused again without a fetch.
    assert await _rejected(service, keys["ed"].sign(_payload(), kid="nope-1")) == "unknown_key"
    # Another unknown kid inside the floor may be a key newer than our set: 503, not 401.
    retry_after = await _unavailable(service, keys["ed"].sign(_payload(), kid="nope-2"))
    assert 1 <= retry_after <= tokens_module._JWKS_REFETCH_INTERVAL_SECONDS
    assert len(jwks_server.hits) == 2


async def test_a_forged_kid_delays_a_real_new_key_but_never_refuses_it(
    make_service: Callable[..., TokenService],
    jwks_server: JwksServer,
    keys: dict[str, SigningKey],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = make_service(jwks_url=jwks_server.url)
    assert await _rejected(service, keys["ed"].sign(_payload(), kid="forged")) == "unknown_key"
    jwks_server.keys = [keys["ed"].jwk, keys["ed-next"].jwk]
    rotated = keys["ed-next"].sign(_payload())

    assert await _unavailable(service, rotated) >= 1
    # Once the floor has passed (here: made to have passed), the retry is let through.
    monkeypatch.setattr(service, "_refetch_floor_until", 0.0)
    assert (await service.verify(rotated)).external
    assert len(jwks_server.hits) == 2


async def test_rotations_in_quick_succession_are_all_followed(
    make_service: Callable[..., TokenService],
    jwks_server: JwksServer,
    keys: dict[str, SigningKey],
) -> None:
    third = _signing_key("EdDSA", "ed-third")
    service = make_service(jwks_url=jwks_server.url)
    assert (await service.verify(keys["ed"].sign(_payload()))).external

    jwks_server.keys = [keys["ed"].jwk, keys["ed-next"].jwk]
    assert (await service.verify(keys["ed-next"].sign(_payload()))).external
    jwks_server.keys = [keys["ed-next"].jwk, third.jwk]
    assert (await service.verify(third.sign(_payload()))).external
    assert len(jwks_server.hits) == 3


async def test_a_failed_fetch_does_not_hold_back_the_next_real_key(
    make_service: Callable[..., TokenService],
    jwks_server: JwksServer,
    keys: dict[str, SigningKey],
) -> None:
    service = make_service(jwks_url=jwks_server.url)
    assert (await service.verify(keys["ed"].sign(_payload()))).external
    jwks_server.status = 503
    rotated = keys["ed-next"].sign(_payload())
    assert await _unavailable(service, rotated) >= 1

    jwks_server.status, jwks_server.keys = 200, [keys["ed"].jwk, keys["ed-next"].jwk]

    assert (await service.verify(rotated)).external
    assert len(jwks_server.hits) == 3


async def test_cached_keys_keep_working_while_the_key_server_is_down(
    make_service: Callable[..., TokenService],
    jwks_server: JwksServer,
    keys: dict[str, SigningKey],
) -> None:
    service = make_service(jwks_url=jwks_server.url, jwks_cache_ttl=timedelta(0))
    assert (await service.verify(keys["ed"].sign(_payload()))).external
    jwks_server.status = 503

    assert (await service.verify(keys["ed"].sign(_payload(sub="user-2")))).user_id == "user-2"
    # Within the retry interval nobody waits for (or pays the timeout of) another refresh.
    assert (await service.verify(keys["rsa"].sign(_payload(sub="user-3")))).user_id == "user-3"
    assert len(jwks_server.hits) == 2


async def test_cached_keys_are_not_used_for_ever(
    make_service: Callable[..., TokenService],
    jwks_server: JwksServer,
    keys: dict[str, SigningKey],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = make_service(jwks_url=jwks_server.url, jwks_cache_ttl=timedelta(0))
    assert (await service.verify(keys["ed"].sign(_payload()))).external
    jwks_server.status = 503
    monkeypatch.setattr(tokens_module, "_JWKS_STALE_MAX_SECONDS", 0.0)

    assert await _unavailable(service, keys["ed"].sign(_payload(sub="user-2"))) >= 1


async def test_a_new_kid_while_the_key_server_is_down_is_503(
    make_service: Callable[..., TokenService],
    jwks_server: JwksServer,
    keys: dict[str, SigningKey],
) -> None:
    service = make_service(jwks_url=jwks_server.url)
    assert (await service.verify(keys["ed"].sign(_payload()))).external
    jwks_server.status = 503

    assert await _unavailable(service, keys["ed-next"].sign(_payload())) >= 1
    assert (await service.verify(keys["ed"].sign(_payload()))).external


async def test_unknown_kid_on_a_cold_cache_fetches_once(
    make_service: Callable[..., TokenService],
    jwks_server: JwksServer,
    keys: dict[str, SigningKey],
) -> None:
    service = make_service(jwks_url=jwks_server.url)

    assert await _rejected(service, keys["ed"].sign(_payload(), kid="nope")) == "unknown_key"
    assert len(jwks_server.hits) == 1


async def test_jwks_cache_is_used(
    make_service: Callable[..., TokenService],
    jwks_server: JwksServer,
    keys: dict[str, SigningKey],
) -> None:
    service = make_service(jwks_url=jwks_server.url)

    await service.verify(keys["ed"].sign(_payload()))
    await service.verify(keys["rsa"].sign(_payload()))

    assert len(jwks_server.hits) == 1


async def test_jwks_cache_expires(
    make_service: Callable[..., TokenService],
    jwks_server: JwksServer,
    keys: dict[str, SigningKey],
) -> None:
    service = make_service(jwks_url=jwks_server.url, jwks_cache_ttl=timedelta(0))

    await service.verify(keys["ed"].sign(_payload()))
    await service.verify(keys["ed"].sign(_payload()))

    assert len(jwks_server.hits) == 2


async def test_concurrent_verifications_share_one_fetch(
    make_service: Callable[..., TokenService],
    jwks_server: JwksServer,
    keys: dict[str, SigningKey],
) -> None:
    jwks_server.delay = 0.2
    service = make_service(jwks_url=jwks_server.url)
    tokens = [keys[name].sign(_payload()) for name in ("ed", "rsa", "ec") * 5]

    results = await asyncio.gather(*(service.verify(token) for token in tokens))

    assert all(claims.external for claims in results)
    assert len(jwks_server.hits) == 1


async def test_jwks_server_down(
    make_service: Callable[..., TokenService], closed_port_url: str, keys: dict[str, SigningKey]
) -> None:
    service = make_service(jwks_url=closed_port_url)

    assert await _unavailable(service, keys["ed"].sign(_payload())) >= 1


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, b"oops"), (200, b"<html>not json</html>"), (200, b'{"keys": "nope"}'), (200, b"[]")],
    ids=["server-error", "not-json", "keys-not-a-list", "not-an-object"],
)
async def test_jwks_unusable_response(
    make_service: Callable[..., TokenService],
    jwks_server: JwksServer,
    keys: dict[str, SigningKey],
    status: int,
    body: bytes,
) -> None:
    jwks_server.status, jwks_server.body = status, body
    service = make_service(jwks_url=jwks_server.url)

    assert await _unavailable(service, keys["ed"].sign(_payload())) >= 1


async def test_concurrent_verifications_share_one_failed_fetch(
    make_service: Callable[..., TokenService],
    jwks_server: JwksServer,
    keys: dict[str, SigningKey],
) -> None:
    jwks_server.status, jwks_server.delay = 503, 0.2
    service = make_service(jwks_url=jwks_server.url)
    token = keys["ed"].sign(_payload())

    results = await asyncio.gather(
        *(service.verify(token) for _ in range(5)), return_exceptions=True
    )

    assert [getattr(error, "code", error) for error in results] == ["jwks_unavailable"] * 5
    assert len(jwks_server.hits) == 1


async def test_jwks_recovers_after_an_outage(
    make_service: Callable[..., TokenService],
    jwks_server: JwksServer,
    keys: dict[str, SigningKey],
) -> None:
    jwks_server.status = 503
    service = make_service(jwks_url=jwks_server.url)
    token = keys["ed"].sign(_payload())
    assert await _unavailable(service, token) >= 1
    jwks_server.status = 200

    assert (await service.verify(token)).external


async def test_jwks_entries_that_do_not_fit_their_algorithm_are_skipped(
    make_service: Callable[..., TokenService],
    jwks_server: JwksServer,
    keys: dict[str, SigningKey],
) -> None:
    jwks_server.keys = [
        keys["ed"].jwk | {"alg": "RS256"},
        keys["rsa"].jwk | {"use": "enc"},
        {"kty": "OKP", "crv": "Ed25519", "x": "!!", "kid": "broken"},
        keys["ec"].jwk,
    ]
    service = make_service(jwks_url=jwks_server.url)

    assert (await service.verify(keys["ec"].sign(_payload()))).external
    assert await _rejected(service, keys["ed"].sign(_payload())) == "unknown_key"
    # Inside the floor that the first unknown kid started.
    assert await _unavailable(service, keys["rsa"].sign(_payload())) >= 1


async def test_aclose_leaves_a_borrowed_client_open(
    jwks_server: JwksServer, keys: dict[str, SigningKey]
) -> None:
    async with httpx.AsyncClient() as http:
        service = TokenService(secret=SECRET, ttl=TTL, jwks_url=jwks_server.url, http=http)
        assert (await service.verify(keys["ed"].sign(_payload()))).external

        await service.aclose()

        assert not http.is_closed


# --- the cache of verified tokens ---------------------------------------------------------


async def test_a_remembered_token_still_expires(make_service: Callable[..., TokenService]) -> None:
    service = make_service(leeway=timedelta(0))
    expires = int(time.time()) + 1
    token = _signed(_payload(exp=expires))

    assert (await service.verify(token)).user_id == "user-1"
    assert (await service.verify(token)).user_id == "user-1"  # from the cache
    await asyncio.sleep(expires + 1.05 - time.time())

    assert await _rejected(service, token) == "token_expired"


async def test_remembered_tokens_are_bounded(
    service: TokenService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tokens_module, "_VERIFIED_CACHE_SIZE", 3)
    for number in range(5):
        await service.verify(_signed(_payload(sub=f"user-{number}")))

    assert len(service._verified) == 3


async def test_a_remembered_jwks_token_is_checked_again_with_the_key_set(
    make_service: Callable[..., TokenService],
    jwks_server: JwksServer,
    keys: dict[str, SigningKey],
) -> None:
    # Remembered only as long as the key set itself: a withdrawn key stops working.
    token = keys["ed"].sign(_payload())
    cached = make_service(jwks_url=jwks_server.url)
    await cached.verify(token)
    await cached.verify(token)
    assert len(jwks_server.hits) == 1

    uncached = make_service(jwks_url=jwks_server.url, jwks_cache_ttl=timedelta(0))
    await uncached.verify(token)
    await uncached.verify(token)
    assert len(jwks_server.hits) == 3


# --- what kind of token ---------------------------------------------------------------------


@pytest.mark.parametrize("typ", ["better-auth.session-cache+jwt", "refresh+jwt", "JWE", 7])
async def test_a_token_that_is_not_an_access_token_is_refused(
    make_service: Callable[..., TokenService],
    jwks_server: JwksServer,
    keys: dict[str, SigningKey],
    typ: object,
) -> None:
    service = make_service(jwks_url=jwks_server.url)
    signed_by_key = jwt.encode(
        _payload(), keys["ed"].private, algorithm="EdDSA", headers={"kid": "ed", "typ": typ}
    )
    signed_by_secret = jwt.encode(_payload(), SECRET, algorithm="HS256", headers={"typ": typ})

    assert await _rejected(service, signed_by_key) == "not_an_access_token"
    assert await _rejected(service, signed_by_secret) == "not_an_access_token"


@pytest.mark.parametrize(
    "audience", ["better-auth:session-cache", ["x", "better-auth:session-cache"]]
)
async def test_a_token_for_better_auths_session_cache_is_refused(
    service: TokenService, audience: object
) -> None:
    assert await _rejected(service, _signed(_payload(aud=audience))) == "not_an_access_token"


@pytest.mark.parametrize("typ", [None, "JWT", "jwt", "at+jwt", "application/at+jwt"])
async def test_access_token_types_are_accepted(
    make_service: Callable[..., TokenService],
    jwks_server: JwksServer,
    keys: dict[str, SigningKey],
    typ: str | None,
) -> None:
    service = make_service(jwks_url=jwks_server.url)
    headers: dict[str, Any] = {"kid": "ed"} | ({} if typ is None else {"typ": typ})
    if typ is None:
        # PyJWT adds "typ": "JWT" unless told otherwise; Better Auth sends no typ at all.
        headers["typ"] = None
    token = jwt.encode(_payload(), keys["ed"].private, algorithm="EdDSA", headers=headers)

    assert (await service.verify(token)).external
