"""One error hierarchy for the whole service, rendered as RFC 9457 problem documents."""

from __future__ import annotations

from typing import Any, ClassVar


class AppError(Exception):
    """A failure the client can act on. `code` is stable; `detail` is a human sentence."""

    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"
    default_code: ClassVar[str] = "bad_request"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        self.errors = errors
        self.headers = headers or {}


class BadRequest(AppError):
    pass


class Unauthorized(AppError):
    status = 401
    title = "Unauthorized"
    default_code = "unauthorized"

    def __init__(self, detail: str = "Authentication is required.", **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kwargs)


class Forbidden(AppError):
    status = 403
    title = "Forbidden"
    default_code = "forbidden"


class NotFound(AppError):
    status = 404
    title = "Not found"
    default_code = "not_found"


class Conflict(AppError):
    status = 409
    title = "Conflict"
    default_code = "conflict"


class PreconditionFailed(AppError):
    status = 412
    title = "Precondition failed"
    default_code = "precondition_failed"


class PayloadTooLarge(AppError):
    status = 413
    title = "Payload too large"
    default_code = "payload_too_large"


class UnsupportedMediaType(AppError):
    status = 415
    title = "Unsupported media type"
    default_code = "unsupported_media_type"


class Unprocessable(AppError):
    status = 422
    title = "Unprocessable content"
    default_code = "validation_error"


class RateLimited(AppError):
    status = 429
    title = "Too many requests"
    default_code = "rate_limited"

    def __init__(self, detail: str, *, retry_after: int, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Retry-After": str(max(1, retry_after))})
        super().__init__(detail, **kwargs)


class ServiceUnavailable(AppError):
    status = 503
    title = "Service unavailable"
    default_code = "service_unavailable"

    def __init__(self, detail: str, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Retry-After": "1"})
        super().__init__(detail, **kwargs)
