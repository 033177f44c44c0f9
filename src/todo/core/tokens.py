"""Bearer tokens: our own HS256 tokens, Better Auth HS256 tokens and JWKS-signed tokens.

Better Auth signs with BETTER_AUTH_SECRET (the same secret we use) or, with its JWT plugin,
with an asymmetric key published as a JWKS. The key is chosen from the token's `alg` before
any verification, and each key is only ever tried with the algorithm that fits it, so a token
can never make us use a public key as an HMAC secret.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import jwt

from todo.core.errors import ServiceUnavailable, Unauthorized

if TYPE_CHECKING:
    # Imported on the first JWKS fetch: httpx (and the rich it pulls in) costs ~0.15 s of
    # every start-up, and most deployments never fetch a key set.
    import httpx

_HMAC_ALGORITHM = "HS256"
# Better Auth's default (EdDSA/Ed25519) plus the common alternatives, each tied to the only
# key shape that may verify it.
_JWKS_KEY_SHAPES: dict[str, tuple[str, str | None]] = {
    "EdDSA": ("OKP", "Ed25519"),
    "RS256": ("RSA", None),
    "ES256": ("EC", "P-256"),
}
_JWKS_TIMEOUT_SECONDS = 5.0
# An unknown `kid` is attacker-controlled input: without a floor every forged token would
# cost us a request to the identity provider. Only a wasted fetch starts the floor: one made
# for a kid that the fetched set did not hold. A routine refresh, a fetch that found a
# rotated key and a failed fetch (which proves nothing) leave the next real key free to be
# fetched at once. A token held back by the floor is answered 503 with Retry-After, never
# 401: its key may be newer than our copy of the set, and its holder only has to retry.
_JWKS_REFETCH_INTERVAL_SECONDS = 10.0
# While the provider is down, the keys we have keep working; a refresh is retried this
# often, and requests in between neither wait for it nor pay its timeout.
_JWKS_RETRY_SECONDS = 5.0
# ... but not for ever: a set this old may hold keys the provider has withdrawn since.
_JWKS_STALE_MAX_SECONDS = 24 * 3600.0
# Kids proven absent from the current set; cleared with every new set, bounded against floods.
_ABSENT_KIDS_MAX = 1000
# Better Auth's JWT plugin sets no `typ` on its access tokens; RFC 9068 names "at+jwt".
# Anything else is another kind of token (Better Auth's own session cache is
# "better-auth.session-cache+jwt") that must not open the API.
_ACCESS_TOKEN_TYPES = frozenset({"jwt", "at+jwt", "application/at+jwt"})
_SESSION_CACHE_AUDIENCE = "better-auth:session-cache"
_USER_ID_CLAIMS = ("sub", "user_id", "id")
# Verified tokens are remembered, so that a client's every request does not parse and check
# the same token again (about a fifth of a millisecond, a tenth of a simple request).
_VERIFIED_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class TokenClaims:
    user_id: str
    issued_at: datetime | None
    session_version: int | None
    email: str | None
    name: str | None
    external: bool


def _invalid(detail: str = "The token is invalid.") -> Unauthorized:
    return Unauthorized(detail, code="invalid_token")


log = logging.getLogger("todo")


def _jwks_unavailable(retry_after: float = 1.0) -> ServiceUnavailable:
    return ServiceUnavailable(
        "The keys needed to check the token could not be fetched; try again later.",
        code="jwks_unavailable",
        headers={"Retry-After": str(max(1, math.ceil(retry_after)))},
    )


class TokenService:
    def __init__(
        self,
        *,
        secret: str,
        ttl: timedelta,
        issuer: str | None = None,
        audience: str | None = None,
        jwks_url: str | None = None,
        http: httpx.AsyncClient | None = None,
        leeway: timedelta = timedelta(seconds=30),
        jwks_cache_ttl: timedelta = timedelta(minutes=10),
    ) -> None:
        if not secret:
            raise ValueError("secret must not be empty")
        if ttl <= timedelta(0):
            raise ValueError("ttl must be positive")
        self._secret = secret
        self._ttl_seconds = int(ttl.total_seconds())
        self._issuer = issuer
        self._audience = audience
        self._jwks_url = jwks_url
        self._http = http
        self._owns_http = False
        self._leeway = leeway
        self._jwks_cache_ttl = jwks_cache_ttl.total_seconds()
        self._jwks_lock = asyncio.Lock()
        self._jwks: list[jwt.PyJWK] | None = None
        # time.monotonic() when the fetch that produced `_jwks` started.
        self._jwks_fetched_at = 0.0
        self._jwks_failed_at: float | None = None
        self._refetch_floor_until = 0.0
        self._absent_kids: set[object] = set()
        # token -> (claims, not valid before, not valid after), on the time.time() scale.
        self._verified: dict[str, tuple[TokenClaims, float, float]] = {}

    def issue(
        self, user_id: str, *, session_version: int, now: datetime | None = None
    ) -> tuple[str, int]:
        if now is None:
            now = datetime.now(UTC)
        elif now.tzinfo is None:
            # A naive datetime would be read as local time and shift every claim.
            raise ValueError("now must be timezone-aware")
        issued_at = int(now.timestamp())
        claims: dict[str, Any] = {
            "sub": user_id,
            "iat": issued_at,
            "nbf": issued_at,
            "exp": issued_at + self._ttl_seconds,
            "jti": secrets.token_urlsafe(16),
            "sv": session_version,
        }
        if self._issuer is not None:
            claims["iss"] = self._issuer
        if self._audience is not None:
            claims["aud"] = self._audience
        token = jwt.encode(claims, self._secret, algorithm=_HMAC_ALGORITHM)
        return token, self._ttl_seconds

    async def verify(self, token: str) -> TokenClaims:
        now = time.time()
        known = self._verified.get(token)
        if known is not None:
            claims, not_before, not_after = known
            if not_before <= now <= not_after:
                return claims
            # Expired (or a JWKS key set due for a refresh): the full check says why.
            del self._verified[token]
        # Compact JWTs are pure ASCII; anything else cannot even be encoded for PyJWT.
        if not token.isascii():
            raise _invalid()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise _invalid() from exc
        typ = header.get("typ")
        if typ is not None and (not isinstance(typ, str) or typ.lower() not in _ACCESS_TOKEN_TYPES):
            raise _not_an_access_token()
        alg = header.get("alg")
        if alg == _HMAC_ALGORITHM:
            payload = self._decode(token, self._secret, [_HMAC_ALGORITHM])
            claims = self._claims(payload, external=False)
            self._remember(token, claims, payload, now, until=math.inf)
            return claims
        if isinstance(alg, str) and alg in _JWKS_KEY_SHAPES and self._jwks_url is not None:
            key = await self._jwks_key(self._jwks_url, alg, header.get("kid"))
            # The allowed algorithm comes from the key, never from the token.
            payload = self._decode(token, key, [key.algorithm_name])
            claims = self._claims(payload, external=True)
            # A key withdrawn from the set must stop working once the set is fetched again.
            self._remember(token, claims, payload, now, until=now + self._jwks_cache_ttl)
            return claims
        raise _invalid("The token is signed with an algorithm that is not accepted.")

    def _remember(
        self, token: str, claims: TokenClaims, payload: dict[str, Any], now: float, *, until: float
    ) -> None:
        leeway = self._leeway.total_seconds()
        nbf = payload.get("nbf")
        not_before = nbf - leeway if isinstance(nbf, int | float) else -math.inf
        # `exp` is required and numeric once PyJWT has accepted the token.
        not_after = min(float(payload["exp"]) + leeway, until)
        if len(self._verified) >= _VERIFIED_CACHE_SIZE:
            # Forget the oldest entry (dicts keep insertion order).
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (claims, not_before, not_after)

    async def aclose(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None
            self._owns_http = False

    def _decode(self, token: str, key: str | jwt.PyJWK, algorithms: list[str]) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=algorithms,
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway,
                options={
                    "require": ["exp"],
                    # Better Auth always sets `aud`; only check it when we were told what to expect.
                    "verify_aud": self._audience is not None,
                },
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("The token has expired.", code="token_expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise Unauthorized("The token is not valid yet.", code="token_not_yet_valid") from exc
        except jwt.InvalidIssuerError as exc:
            raise _wrong_issuer() from exc
        except jwt.InvalidAudienceError as exc:
            raise _wrong_audience() from exc
        except jwt.MissingRequiredClaimError as exc:
            if exc.claim == "iss":
                raise _wrong_issuer() from exc
            if exc.claim == "aud":
                raise _wrong_audience() from exc
            raise _invalid(f'The token is missing the "{exc.claim}" claim.') from exc
        except jwt.PyJWTError as exc:
            raise _invalid() from exc

    def _claims(self, payload: dict[str, Any], *, external: bool) -> TokenClaims:
        audience = payload.get("aud")
        if audience == _SESSION_CACHE_AUDIENCE or (
            isinstance(audience, list) and _SESSION_CACHE_AUDIENCE in audience
        ):
            raise _not_an_access_token()
        user_id = next(
            (
                value
                for claim in _USER_ID_CLAIMS
                if isinstance(value := payload.get(claim), str) and value
            ),
            None,
        )
        if user_id is None:
            raise _invalid("The token does not identify a user.")

        session_version: int | None = None
        if not external and "sv" in payload:
            session_version = payload["sv"]
            # bool is an int subclass; `true` must not pass as version 1.
            if not isinstance(session_version, int) or isinstance(session_version, bool):
                raise _invalid()

        issued_at: datetime | None = None
        if "iat" in payload:
            try:
                issued_at = datetime.fromtimestamp(payload["iat"], UTC)
            except (TypeError, ValueError, OverflowError, OSError) as exc:
                raise _invalid() from exc
        elif session_version is not None:
            # Our own tokens always carry `iat`; session revocation compares against it.
            raise _invalid('The token is missing the "iat" claim.')

        return TokenClaims(
            user_id=user_id,
            issued_at=issued_at,
            session_version=session_version,
            email=_optional_str(payload.get("email")),
            name=_optional_str(payload.get("name")),
            external=external,
        )

    async def _jwks_key(self, url: str, alg: str, kid: object) -> jwt.PyJWK:
        arrived = time.monotonic()
        key = _select_key(await self._current_keys(url), alg, kid)
        if key is not None:
            return key
        if kid in self._absent_kids:
            raise _unknown_key()
        # Only a set fetched after this token arrived proves that its key does not exist:
        # the provider may have rotated its keys since we fetched ours.
        keys = await self._keys_fetched_since(url, arrived)
        key = _select_key(keys, alg, kid)
        if key is None:
            # Better Auth's kids are random ids, so a kid absent now cannot be planted for
            # a key created later; a new set forgets them anyway.
            if len(self._absent_kids) >= _ABSENT_KIDS_MAX:
                self._absent_kids.clear()
            self._absent_kids.add(kid)
            self._refetch_floor_until = max(
                self._refetch_floor_until, self._jwks_fetched_at + _JWKS_REFETCH_INTERVAL_SECONDS
            )
            raise _unknown_key()
        return key

    async def _current_keys(self, url: str) -> list[jwt.PyJWK]:
        """The cached set, refreshed when due; while a refresh fails, the set we have."""
        started = time.monotonic()
        if self._jwks is not None and not self._due(started):
            return self._jwks
        if (
            self._jwks is not None
            and self._may_serve_stale(started)
            and (
                self._jwks_lock.locked()
                or (
                    self._jwks_failed_at is not None
                    and started - self._jwks_failed_at < _JWKS_RETRY_SECONDS
                )
            )
        ):
            return self._jwks
        async with self._jwks_lock:
            if self._jwks is not None and not self._due(time.monotonic()):
                return self._jwks
            if self._jwks_failed_at is not None and self._jwks_failed_at >= started:
                # Someone failed to fetch while we queued; retrying at once would only stack
                # up timeouts behind the lock.
                return self._stale_or(_jwks_unavailable())
            try:
                return await self._fetch_jwks(url)
            except ServiceUnavailable as error:
                return self._stale_or(error)

    async def _keys_fetched_since(self, url: str, arrived: float) -> list[jwt.PyJWK]:
        async with self._jwks_lock:
            now = time.monotonic()
            if self._jwks is not None and self._jwks_fetched_at >= arrived:
                return self._jwks
            if self._jwks_failed_at is not None and self._jwks_failed_at >= arrived:
                raise _jwks_unavailable()
            if now < self._refetch_floor_until:
                raise _jwks_unavailable(self._refetch_floor_until - now)
            return await self._fetch_jwks(url)

    def _due(self, now: float) -> bool:
        return now - self._jwks_fetched_at >= self._jwks_cache_ttl

    def _may_serve_stale(self, now: float) -> bool:
        return now - self._jwks_fetched_at < _JWKS_STALE_MAX_SECONDS

    def _stale_or(self, error: ServiceUnavailable) -> list[jwt.PyJWK]:
        if self._jwks is not None and self._may_serve_stale(time.monotonic()):
            log.warning("JWKS refresh failed, checking tokens with the keys we have: %s", error)
            return self._jwks
        raise error

    async def _fetch_jwks(self, url: str) -> list[jwt.PyJWK]:
        import httpx

        if self._http is None:
            self._http = httpx.AsyncClient()
            self._owns_http = True
        started = time.monotonic()
        try:
            response = await self._http.get(url, timeout=_JWKS_TIMEOUT_SECONDS)
            response.raise_for_status()
            document = response.json()
            entries = document.get("keys") if isinstance(document, dict) else None
            if not isinstance(entries, list):
                raise ValueError("the JWKS document has no list of keys")
        except (httpx.HTTPError, ValueError) as exc:
            self._jwks_failed_at = time.monotonic()
            raise _jwks_unavailable() from exc
        self._jwks = [key for entry in entries if (key := _parse_jwk(entry)) is not None]
        self._jwks_fetched_at = started
        self._absent_kids.clear()
        return self._jwks


def _unknown_key() -> Unauthorized:
    return Unauthorized("The token is signed with an unknown key.", code="unknown_key")


def _not_an_access_token() -> Unauthorized:
    return Unauthorized(
        "This is not an access token (a session cookie's token, for instance).",
        code="not_an_access_token",
    )


def _wrong_issuer() -> Unauthorized:
    return Unauthorized("The token was issued by an unexpected issuer.", code="invalid_issuer")


def _wrong_audience() -> Unauthorized:
    return Unauthorized("The token is not meant for this service.", code="invalid_audience")


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _parse_jwk(entry: object) -> jwt.PyJWK | None:
    """Build a verification key, or None for entries we cannot or must not use."""
    if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
        return None
    shape = (entry.get("kty"), entry.get("crv"))
    alg = next((name for name, expected in _JWKS_KEY_SHAPES.items() if expected == shape), None)
    # A declared `alg` that disagrees with the key's shape is a misconfigured or hostile key.
    if alg is None or entry.get("alg", alg) != alg:
        return None
    try:
        return jwt.PyJWK(entry, algorithm=alg)
    except jwt.PyJWTError:
        return None


def _select_key(keys: list[jwt.PyJWK], alg: str, kid: object) -> jwt.PyJWK | None:
    if kid is None:
        candidates = [key for key in keys if key.algorithm_name == alg]
        return candidates[0] if len(candidates) == 1 else None
    same_kid = [key for key in keys if key.key_id == kid]
    # A kid whose key has another algorithm is returned anyway so that PyJWT rejects the
    # mismatch as an invalid token instead of it looking like a rotation.
    return next(
        (key for key in same_kid if key.algorithm_name == alg),
        same_kid[0] if same_kid else None,
    )
