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

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers the answer carries besides the problem (e.g. Retry-After)."""
        return {}


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


class TooManyRequests(DomainError):
    """A limit was reached; the answer says when to try again (Retry-After, whole seconds)."""

    status, title = 429, "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, int(retry_after))

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ServiceUnavailable(DomainError):
    """A backing service was busy or failed; worth a retry in a moment (Retry-After)."""

    status, title = 503, "Service unavailable"
    retry_after = 1

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ConfigurationError(RuntimeError):
    """The function's environment is missing or has an invalid setting."""


def aws_error(exc: BaseException) -> BaseException:
    """The error to classify as an AWS call's failure: powertools' idempotency utility reports its
    table's failure in an error of its own, raised from the SDK's -- that SDK error; any other
    error as it is."""
    if type(exc).__module__.startswith("aws_lambda_powertools.utilities.idempotency") and exc.__cause__ is not None:
        return exc.__cause__
    return exc
