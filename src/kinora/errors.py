"""The error tree. Each error carries its API code and HTTP status; api/app.py maps them.

KinoraError
├── AuthError (401)                      UNAUTHORIZED
├── NotFoundError (404, LookupError)     NOT_FOUND
│   └── MediaNotFoundError (404)         MEDIA_NOT_FOUND
├── BadRequestError (400, ValueError)    BAD_REQUEST
├── InsufficientCreditError (402)        INSUFFICIENT_CREDIT
├── NotReadyError (503)                  a derived file is still being made (Retry-After)
├── InputError (422, ValueError)         field-level validation, FastAPI's shape
│   └── FetchError (422)                 a URL could not be fetched or is not allowed
└── RenderError (RuntimeError)           a generation failed in the worker (recorded, refunded)
    └── CancelledError                   the generation was cancelled
"""

from __future__ import annotations

from typing import ClassVar


class KinoraError(Exception):
    code: ClassVar[str] = "ERROR"
    status_code: ClassVar[int] = 500

    def __init__(self, message: str = "", *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message or self.code)
        self.message = message or self.code
        self.headers = headers or {}


class AuthError(KinoraError):
    code = "UNAUTHORIZED"
    status_code = 401


class NotFoundError(KinoraError, LookupError):
    code = "NOT_FOUND"
    status_code = 404


class MediaNotFoundError(NotFoundError):
    code = "MEDIA_NOT_FOUND"


class BadRequestError(KinoraError, ValueError):
    code = "BAD_REQUEST"
    status_code = 400


class InsufficientCreditError(KinoraError):
    code = "INSUFFICIENT_CREDIT"
    status_code = 402


class RateLimitedError(KinoraError):
    code = "RATE_LIMITED"
    status_code = 429


class IdempotencyConflictError(KinoraError):
    code = "IDEMPOTENCY_IN_PROGRESS"
    status_code = 409


class PayloadTooLargeError(KinoraError, ValueError):
    code = "PAYLOAD_TOO_LARGE"
    status_code = 413


class NotReadyError(KinoraError):
    """Something a worker is making (a download rendition) did not arrive in time; retry."""

    code = "NOT_READY"
    status_code = 503


class InputError(KinoraError, ValueError):
    """A request field is invalid; reported as FastAPI's ``{"detail": [...]}`` with its name."""

    code = "VALIDATION_ERROR"
    status_code = 422

    def __init__(self, field: str | tuple[str | int, ...], message: str, kind: str = "value_error"):
        super().__init__(message)
        self.loc: tuple[str | int, ...] = (field,) if isinstance(field, str) else field
        self.kind = kind


class FetchError(InputError):
    code = "FETCH_ERROR"


class RenderError(KinoraError, RuntimeError):
    code = "RENDER_ERROR"


class CancelledError(RenderError):
    code = "CANCELLED"

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.completed: list[object] = []
        """Videos that were finished before the cancel (kept; the rest are refunded)."""


ERROR_CODES: tuple[type[KinoraError], ...] = (
    AuthError,
    NotReadyError,
    NotFoundError,
    MediaNotFoundError,
    BadRequestError,
    InsufficientCreditError,
    RateLimitedError,
    IdempotencyConflictError,
    PayloadTooLargeError,
    InputError,
    FetchError,
    RenderError,
    CancelledError,
)
