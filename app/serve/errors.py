"""Errors as OpenAI sends them: ``{"error": {"message", "type", "param", "code"}}`` with a matching status, so
every OpenAI client (the official SDKs first) raises its usual exception with the message in it."""

from __future__ import annotations

from typing import Any

from app.core.errors import AppError
from app.core.events import FailureKind

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    503: "server_error",
}


# What each status is as one of the app's failure kinds (the rest: "server").
_KINDS: dict[int, FailureKind] = {
    400: "input",
    401: "auth",
    404: "input",
    405: "input",
    413: "input",
    429: "rate_limit",
}


class ApiError(AppError):
    """A request that gets an error response. ``message`` says what happened and what to do."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, kind=_KINDS.get(status, "server"), retryable=status in (429, 503))
        self.status = status
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": _TYPES.get(self.status, "server_error" if self.status >= 500 else "invalid_request_error"),
                "param": self.param,
                "code": self.code,
            }
        }


def bad_request(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)
