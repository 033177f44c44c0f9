"""Cookies, CSRF protection and safe redirects of the browser app.

Every state-changing request must come from our own pages: the browser's Fetch metadata and
Origin headers must not name another site, and the request must carry a token derived from a
cookie that scripts cannot read (a hidden form field, or the X-CSRF-Token header for htmx).
A signed-in browser derives it from its session cookie; a visitor from a cookie of its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from todo.core.errors import Forbidden

SESSION_COOKIE = "todo_session"
VISITOR_COOKIE = "todo_visitor"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_NEXT_MAX_LENGTH = 2000


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def cookie_name(request: Request, base: str) -> str:
    # The __Host- prefix makes the browser refuse the cookie unless it is Secure, for "/" and
    # set by this very host: a sibling subdomain cannot plant or overwrite it.
    return f"__Host-{base}" if is_https(request) else base


def set_cookie(
    response: Response, request: Request, base: str, value: str, *, max_age: int | None
) -> None:
    response.set_cookie(
        cookie_name(request, base),
        value,
        max_age=max_age,
        path="/",
        secure=is_https(request),
        httponly=True,
        samesite="lax",
    )


def delete_cookie(response: Response, request: Request, base: str) -> None:
    response.delete_cookie(
        cookie_name(request, base),
        path="/",
        secure=is_https(request),
        httponly=True,
        samesite="lax",
    )


def session_token(request: Request) -> str | None:
    return request.cookies.get(cookie_name(request, SESSION_COOKIE)) or None


def _csrf_secret(request: Request) -> str | None:
    return session_token(request) or request.cookies.get(cookie_name(request, VISITOR_COOKIE))


def _derive(secret: str) -> str:
    digest = hmac.new(secret.encode(), b"csrf", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def csrf_token(request: Request) -> str:
    """The token this browser's forms carry. A first-time visitor is given a cookie to derive
    it from: `pending_visitor_secret` tells the page renderer to set it."""
    secret = _csrf_secret(request) or pending_visitor_secret(request)
    if secret is None:
        secret = secrets.token_urlsafe(32)
        request.state.visitor_secret = secret
    return _derive(secret)


def pending_visitor_secret(request: Request) -> str | None:
    secret = getattr(request.state, "visitor_secret", None)
    return secret if isinstance(secret, str) else None


def check_same_origin(request: Request) -> None:
    """Refuse a request that a page of another site made the browser send."""
    site = request.headers.get("sec-fetch-site")
    # "same-site" is refused too: a sibling subdomain may be someone else's.
    if site is not None and site not in ("same-origin", "none"):
        raise _cross_site()
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise _cross_site()


def check_csrf_token(request: Request, sent: str | None) -> None:
    secret = _csrf_secret(request)
    # As bytes: compare_digest refuses str with non-ASCII characters, which a form can hold.
    expected = None if secret is None else _derive(secret).encode()
    if not sent or expected is None or not hmac.compare_digest(sent.encode(), expected):
        raise Forbidden(
            "This form has expired or did not come from this site. Reload the page and try again.",
            code="csrf_failed",
        )


def _cross_site() -> Forbidden:
    return Forbidden(
        "This request came from another site, so it was refused.", code="cross_site_request"
    )


def safe_next(value: str | None, default: str = "/") -> str:
    """A path on this site to return to; anything that could leave the site becomes default."""
    if not value or len(value) > _NEXT_MAX_LENGTH or not value.startswith("/"):
        return default
    # "//host" and "/\\host" are read by browsers as another host.
    if value.startswith("//") or "\\" in value:
        return default
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def local_path(url: str | None) -> str | None:
    """The path and query of a URL of this site, such as htmx's HX-Current-URL."""
    if not url:
        return None
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return safe_next(path, default="") or None
