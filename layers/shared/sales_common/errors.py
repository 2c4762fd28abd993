"""Domain errors. Each carries the HTTP status it maps to; `sales_common.api` renders them
as one application/problem+json shape for every service."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status: int = 400
    title: str = "Bad request"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class BadRequest(DomainError):
    status, title = 400, "Bad request"


class MalformedJson(BadRequest):
    title = "Malformed JSON"


class NotFound(DomainError):
    status, title = 404, "Not found"


class Conflict(DomainError):
    status, title = 409, "Conflict"


class PreconditionFailed(DomainError):
    status, title = 412, "Precondition failed"


class PreconditionRequired(DomainError):
    status, title = 428, "Precondition required"


class Unprocessable(DomainError):
    status, title = 422, "Unprocessable entity"


class ServiceUnavailable(DomainError):
    status, title = 503, "Service unavailable"


class ConfigurationError(RuntimeError):
    """The function's environment is missing or has an invalid setting."""
