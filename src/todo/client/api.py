"""The server's HTTP API as the client uses it: one line for every way a call can fail."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib.metadata import version
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

TIMEOUT_SECONDS = 30.0
PAGE_SIZE = 500


class ClientError(Exception):
    """Something went wrong talking to the server; str() is the one line to show."""


class Unreachable(ClientError):
    """No answer: the server is down, the address is wrong, or the network is."""


class ApiError(ClientError):
    """The server answered with a problem document (or something that is not the API)."""

    def __init__(self, status: int, detail: str, code: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code


def _detail(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        code = body.get("code") if isinstance(body.get("code"), str) else None
        detail = " ".join(body["detail"].split())
        if response.status_code == 401 and code != "invalid_credentials":
            detail += " Run `todo login URL` again."
        return ApiError(response.status_code, detail, code)
    # A proxy's error page, or an address that is not a Todo server at all.
    return ApiError(
        response.status_code,
        f"{response.request.url} answered {response.status_code} "
        f"{response.reason_phrase or ''}".rstrip()
        + ": is this the address of a Todo server?",
    )


class Api:
    """A Todo server at `url`, called as the holder of `token` (when given)."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url
        headers = {"User-Agent": f"todo-cli/{version('todo')}", "Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(base_url=url, headers=headers, timeout=TIMEOUT_SECONDS)

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *_: object) -> None:
        self._http.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        try:
            response = self._http.request(
                method, path, json=json, content=content, params=params, headers=headers
            )
        except httpx.TimeoutException:
            raise Unreachable(
                f"the server at {self.url} did not answer within {TIMEOUT_SECONDS:.0f} s"
            ) from None
        except httpx.ConnectError as error:
            raise Unreachable(f"cannot reach the server at {self.url}: {_reason(error)}") from None
        except httpx.TransportError as error:
            raise Unreachable(f"the connection to {self.url} failed: {_reason(error)}") from None
        if response.status_code >= 400:
            raise _detail(response)
        if response.is_redirect:
            # Never followed: a POST would become a GET, and the token could leave for
            # another host. The address to log in to is the one it points at.
            target = response.headers.get("Location", "another address")
            raise ApiError(
                response.status_code,
                f"{response.request.url} redirects to {target}: log in with the server's own "
                "address (`todo login URL`)",
            )
        return response

    def json(self, method: str, path: str, **options: Any) -> Any:
        response = self.call(method, path, **options)
        if response.status_code == 204:
            return None
        try:
            return response.json()
        except ValueError:
            raise ApiError(
                response.status_code,
                f"{response.request.url} did not answer JSON: is this the address of a Todo "
                "server?",
            ) from None

    def pages(
        self, path: str, params: Mapping[str, Any], *, limit: int
    ) -> Iterator[dict[str, Any]]:
        """Up to `limit` items, following the server's next-page links."""
        query = {**params, "limit": min(limit, PAGE_SIZE)}
        given = 0
        while True:
            response = self.call("GET", path, params=query)
            items = self._items(response)
            for item in items:
                if given == limit:
                    return
                given += 1
                yield item
            cursor = _next_cursor(response)
            if cursor is None or given == limit:
                return
            # Only the cursor is taken from the link: behind a proxy the link may name an
            # address of the server's own that this client cannot reach.
            query = {**query, "cursor": cursor}

    def _items(self, response: httpx.Response) -> list[dict[str, Any]]:
        try:
            items = response.json()
        except ValueError:
            items = None
        if not isinstance(items, list):
            raise ApiError(
                response.status_code,
                f"{response.request.url} did not answer a list: is this a Todo server?",
            )
        return items


def _next_cursor(response: httpx.Response) -> str | None:
    link = response.links.get("next")
    if not link or "url" not in link:
        return None
    found = parse_qs(urlsplit(link["url"]).query).get("cursor")
    return found[0] if found else None


def _reason(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    # "[Errno 111] Connection refused" reads better without the number.
    if text.startswith("[Errno") and "] " in text:
        text = text.split("] ", 1)[1]
    return text[:1].lower() + text[1:]
