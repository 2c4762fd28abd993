"""One HTTP contract for every service: the resolver factory, JSON (de)serialisation with exact
decimals, and the single mapping from errors to application/problem+json responses."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from functools import partial
from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Header, Path

from sales_common import jsonbody
from sales_common.errors import BadRequest, DomainError, ServiceUnavailable, aws_error
from sales_common.models import MAX_ID, Problem, json_number
from sales_common.preconditions import IF_MATCH_PATTERN
from sales_common.preconditions import parse_if_match as parse_if_match  # the handlers' import

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse, OpenAPIResponseHeader
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from sales_common.auth import Caller

PROBLEM_JSON = "application/problem+json"
# The largest schema-valid body is a product: 2,200 characters of name and description, each up to
# 12 bytes when JSON-escaped as a surrogate pair (\ud83d\ude00): about 26.5 KB. 32 KiB admits it.
DEFAULT_MAX_BODY_BYTES = 32 * 1024
_log = logging.getLogger("sales_common")


def _default(o: Any) -> Any:
    if isinstance(o, Decimal):
        return json_number(o)
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


dumps = partial(json.dumps, separators=(",", ":"), default=_default)
loads = jsonbody.loads

# Every response may carry customer or business data: never cached by shared caches or the
# browser, and never content-sniffed into something other than the declared type.
SECURITY_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}

# Integer path and query parameters. The contract calls them JSON Schema integers, and JSON Schema
# calls every JSON number without a fractional part an integer: `2`, `2.0`, `2e0`, `20E-1`. `resolve`
# turns each such spelling into plain digits before routing (so `/api/products/2.0` is product 2)
# and refuses what JSON does not spell as a number at all, which pydantic's lax int parsing would
# otherwise take (`+1`, ` 1`, `01`, `1_0`).
INTEGER_PARAMETERS = ("id", "limit", "customerId", "threshold")
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_MAX_SPELLING = 40  # characters; longer spellings are refused before any arithmetic

IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="The entity's id: a positive integer.")]
"""The `{id}` of a route."""

IfMatch = Annotated[
    str | None,
    Header(
        alias="if-match",
        pattern=IF_MATCH_PATTERN,
        max_length=4096,
        description=(
            'RFC 9110: the ETag you read (`"3"`), a comma-separated list of ETags, or `*`. The write applies '
            "only if the entity's current ETag is among them by the strong comparison (a weak `W/` tag "
            "never matches), else 412."
        ),
    ),
]


def problem(
    status: int,
    title: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    body = Problem(title=title, status=status, detail=detail, errors=errors or []).model_dump()  # type: ignore[arg-type]
    # powertools only serialises bodies of application/json responses itself
    return Response(status_code=status, content_type=PROBLEM_JSON, body=dumps(body), headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc[1:]] if loc and loc[0] in {"body", "path", "query", "header"} else list(map(str, loc))
    return ".".join(parts) or str(loc[0] if loc else "body")


DOCS = "/api/docs"
# What a parameter with a pattern must look like, said in words (pydantic would quote the regex).
PATTERN_MESSAGES = {
    "if-match": 'must be the ETag you read, in quotes (If-Match: "3"), a comma-separated list of ETags, or *',
    "cursor": 'must be the cursor of a Link: rel="next" header, as the API gave it',
    "from": "must be an ISO 8601 date, YYYY-MM-DD (the order list also takes a date-time: 2026-12-07T09:30:00Z)",
    "to": "must be an ISO 8601 date, YYYY-MM-DD (the order list also takes a date-time: 2026-12-07T09:30:00Z)",
}
BAD_BODY = (
    "The request body has invalid fields: each is listed in `errors` with what it must be. "
    f"Fix them and send the request again (the schemas are at {DOCS})."
)
BAD_PARAMETERS = (
    "The path, query or header parameters listed in `errors` are invalid; fix them and send the request "
    f"again (the parameters of every route are at {DOCS})."
)


def _message(field: str, error: Mapping[str, Any]) -> str:
    if error.get("type") == "string_pattern_mismatch" and field in PATTERN_MESSAGES:
        return PATTERN_MESSAGES[field]
    return str(error.get("msg", ""))


def _on_validation_error(exc: RequestValidationError) -> Response[str]:
    errors = exc.errors()
    invalid_json = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if invalid_json is not None:
        reason = str((invalid_json.get("ctx") or {}).get("error") or "").strip()
        where = f" ({reason})" if reason else ""
        return problem(400, "Malformed JSON", f"The request body is not valid JSON{where}; fix it and send it again.")
    fields = []
    for e in errors:
        field = _field(tuple(e.get("loc", ())))
        fields.append({"field": field, "message": _message(field, e), "type": e.get("type", "")})
    if all((e.get("loc") or ("body",))[0] == "body" for e in errors):
        return problem(422, "Validation failed", BAD_BODY, fields)
    return problem(400, "Invalid request parameters", BAD_PARAMETERS, fields)


UNSUPPORTED_TYPE = "The request body must be JSON: send it with `Content-Type: application/json`."


def _on_unsupported_type(_: RequestUnsupportedContentType) -> Response[str]:
    return problem(415, "Unsupported media type", UNSUPPORTED_TYPE)


def _on_undecodable_body(_: UnicodeDecodeError) -> Response[str]:
    # powertools only turns json.JSONDecodeError into a validation error; a body that is not UTF-8
    # fails earlier, while it is decoded.
    return problem(400, "Malformed JSON", "The request body is not UTF-8 text; send it as UTF-8 encoded JSON.")


def _on_domain_error(exc: DomainError) -> Response[str]:
    return problem(exc.status, exc.title, exc.detail, exc.errors, exc.headers or None)


def _on_not_found(_: NotFoundError) -> Response[str]:
    return problem(404, "Not found", f"This function serves no such route; the API's routes are described at {DOCS}.")


# AWS error codes that mean "too busy now, nothing applied": the SDK's own retries were used up.
_THROTTLED = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "LimitExceededException",
    }
)
# Failures of the connection rather than of the request (botocore.exceptions class names).
_UNREACHABLE = frozenset(
    {
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "EndpointConnectionError",
        "ConnectionClosedError",
        "ConnectionError",
    }
)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRY_AFTER_SECONDS = ServiceUnavailable.retry_after


def backing_failure(exc: BaseException) -> str | None:
    """What kind of failure of a backing AWS service `exc` is: "throttled" (it refused the
    request: nothing was applied), "failed" (it failed or could not be reached: a write may or may
    not have been applied), or None (not a backing service's failure: a bug, refused by the
    caller's code, a missing grant or resource, which stays a 500 and pages). A failure of
    powertools' idempotency store is what the SDK's error under it is (`aws_error`)."""
    exc = aws_error(exc)
    if not type(exc).__module__.startswith("botocore"):
        return None
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):  # a ClientError: the service answered
        code = str(response.get("Error", {}).get("Code", ""))
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in _THROTTLED:
            return "throttled"
        return "failed" if status >= 500 else None
    return "failed" if any(cls.__name__ in _UNREACHABLE for cls in type(exc).__mro__) else None


def _on_backing_failure(kind: str, method: str) -> Response[str]:
    """503 with Retry-After, saying whether the request may have been applied. A write whose
    answer was lost (a timeout, a 5xx after the SDK's retries) may have been applied: the client
    is told to read before repeating it, rather than to repeat it blindly."""
    if kind == "throttled" or method in _SAFE_METHODS:
        what = "busy" if kind == "throttled" else "unavailable"
        detail = f"A backing service is {what}; nothing was changed. Retry in {RETRY_AFTER_SECONDS} second(s)."
    else:
        detail = (
            "A backing service failed or did not answer in time: the change may or may not have been "
            "applied. Read the resource (or list the collection) before repeating the request; an order "
            "repeated with the same Idempotency-Key is placed at most once."
        )
    return problem(503, "Service unavailable", detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def _on_unexpected(exc: Exception, method: str = "") -> Response[str]:
    # The only broad catch in the code base: log the traceback, never send it to the client.
    from sales_common.observability import correlation_id

    kind = backing_failure(exc)
    if kind is not None:
        _log.warning("backing service failure (%s): %s", kind, type(exc).__name__, exc_info=exc)
        return _on_backing_failure(kind, method)
    _log.exception("unhandled error", exc_info=exc)
    request = correlation_id()
    logged = f"it has been logged with request id {request}" if request else "it has been logged"
    detail = f"An unexpected error occurred; {logged}. Retry later, and report the request id if it persists."
    return problem(500, "Internal server error", detail)


# What each error status means in this API; `responses()` documents them per route.
ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "Malformed or pathological JSON, or an invalid path, query or header parameter (or a tampered cursor).",
    401: (
        "No valid token: missing, malformed, badly signed, expired, or for another issuer or app client. "
        'The API Gateway JWT authorizer answers `{"message": "Unauthorized"}`; a function reached without '
        "the authorizer's claims answers a Problem."
    ),
    403: (
        "The caller's groups (`cognito:groups`) include no role allowed on this route, or the role may change "
        "only records its user created and this one was created by someone else."
    ),
    404: "No entity with this id.",
    409: (
        "The request conflicts with the current state (e.g. duplicate email, disallowed status change, "
        "deleting a product or customer that orders refer to)."
    ),
    412: "If-Match names a version other than the entity's current one.",
    428: "Setting `stock` needs If-Match with the version you read (or use POST .../stock-adjustments).",
    413: "The request body exceeds MAX_BODY_BYTES (32 KiB by default), counted in bytes.",
    415: "The request body is not application/json.",
    422: "Missing, unknown or invalid fields; every bad field is listed in `errors`.",
    429: "The caller's limit on this route is used up; `Retry-After` says in how many seconds to try again.",
    500: "Unexpected error; it was logged and no details are returned.",
    503: (
        "A backing service (DynamoDB, Step Functions) was busy, failed or did not answer in time; `detail` says "
        "whether the change may have been applied, `Retry-After` when to try again."
    ),
}

HEADER_DESCRIPTIONS: dict[str, str] = {
    "ETag": 'The entity\'s version as a strong ETag (`"3"`); send it back in If-Match.',
    "Location": "Path of the created entity.",
    "Link": 'RFC 8288 link to the next page (`rel="next"`); absent on the last page.',
    "Retry-After": "Seconds to wait before trying again.",
}


# The body API Gateway itself sends with a 401 from the JWT authorizer (not customisable on HTTP APIs).
GATEWAY_MESSAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"message": {"type": "string"}},
    "required": ["message"],
}


def responses(success: int, *errors: int, headers: Sequence[str] = ()) -> dict[int, OpenAPIResponse]:
    """OpenAPI `responses=` for a route: `success` (its body schema comes from the handler's return
    annotation; none for 204) with `headers`, each of `errors` plus 401, 403 (every route needs a
    token and a role), 429 (the stage's throttling, on every route), 500 and 503 (a backing
    service busy or failing, on every route) as
    application/problem+json. API Gateway's own 401 and 429 bodies are `{"message": ...}`."""
    ok: OpenAPIResponse = {"description": HTTPStatus(success).phrase}
    if success == 204:
        ok["content"] = {}
    if headers:
        ok["headers"] = {name: _header(HEADER_DESCRIPTIONS[name]) for name in headers}
    out: dict[int, OpenAPIResponse] = {success: ok}
    for status in sorted({*errors, 401, 403, 429, 500, 503}):
        out[status] = {
            "description": ERROR_DESCRIPTIONS[status],
            "content": {PROBLEM_JSON: {"model": Problem}},
        }
    out[503]["headers"] = {"Retry-After": _header(HEADER_DESCRIPTIONS["Retry-After"])}
    out[401]["content"] = {PROBLEM_JSON: {"model": Problem}, "application/json": {"schema": GATEWAY_MESSAGE_SCHEMA}}
    gateway_429: OpenAPIResponse = {
        "description": "The stage's throttle for this route (API Gateway answers, no function runs).",
        "content": {"application/json": {"schema": GATEWAY_MESSAGE_SCHEMA}},
    }
    if 429 in errors:  # the function's own limit too
        gateway_429 = out[429]
        gateway_429["content"] = {**gateway_429["content"], "application/json": {"schema": GATEWAY_MESSAGE_SCHEMA}}
        gateway_429["headers"] = {"Retry-After": _header(HEADER_DESCRIPTIONS["Retry-After"])}
    out[429] = gateway_429
    return out


def _header(description: str) -> OpenAPIResponseHeader:
    return {"description": description, "schema": {"type": "string"}}


def _strict_query(app: APIGatewayHttpResolver, next_middleware: Any) -> Response[Any]:
    """Refuse a query parameter the route does not declare (400 naming it and listing those it
    accepts). The route's declared `Query` parameters are also what the OpenAPI document lists, so
    the two cannot disagree. A parameter silently ignored reads as if it had applied
    (`?name=x` answering everyone reads as "everyone is called x")."""
    route = app.context.get("_route")
    accepted = sorted(p.alias for p in route.dependant.query_params) if route is not None else []
    given = app.current_event.query_string_parameters or {}
    unknown = sorted(name for name in given if name not in accepted)
    if unknown:
        listing = ", ".join(accepted) if accepted else "none"
        raise BadRequest(
            f"Unknown query parameter{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. "
            f"This route accepts: {listing} (see {DOCS}).",
            errors=[
                {"field": name, "message": f"unknown query parameter; accepted: {listing}", "type": "unknown_parameter"}
                for name in unknown
            ],
        )
    return next_middleware(app)  # type: ignore[no-any-return]


def create_app() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True, serializer=dumps, json_body_deserializer=loads)
    app.use([_strict_query])
    app.exception_handler(RequestValidationError)(_on_validation_error)
    app.exception_handler(RequestUnsupportedContentType)(_on_unsupported_type)
    app.exception_handler(UnicodeDecodeError)(_on_undecodable_body)
    app.exception_handler(DomainError)(_on_domain_error)
    app.exception_handler(NotFoundError)(_on_not_found)
    app.exception_handler(Exception)(lambda exc: _on_unexpected(exc, app.current_event.http_method))
    return app


def _max_body_bytes() -> int:
    # Read here, not in ServiceSettings: the guard runs before routing, for every function.
    raw = os.environ.get("MAX_BODY_BYTES")
    return int(raw) if raw and raw.isdigit() else DEFAULT_MAX_BODY_BYTES


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _media_type(event: dict[str, Any]) -> str:
    """The request's media type, lower case, without parameters ("" when absent)."""
    headers = event.get("headers") or {}
    value = next((v for k, v in headers.items() if k.lower() == "content-type"), None) or ""
    return value.split(";", 1)[0].strip().lower()


def _early_problem(status: int, title: str, detail: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    headers = {"Content-Type": PROBLEM_JSON}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return {
        "statusCode": status,
        "headers": headers,
        "body": problem(status, title, detail, errors).body,
        "isBase64Encoded": False,
    }


def resolve(app: APIGatewayHttpResolver, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Route the event: first refuse a caller without the route's role (401/403, see
    `sales_common.auth`), then oversized and non-JSON bodies, before any parsing happens.

    powertools would parse form and multipart bodies itself (and answer 500 for a multipart type
    without a boundary); this API takes application/json only, so any other declared media type on
    a method with a body is a 415 here."""
    from sales_common.auth import authorize

    try:
        authorize(event)
    except DomainError as exc:
        return _early_problem(exc.status, exc.title, exc.detail)
    body = event.get("body") or ""
    limit = _max_body_bytes()
    if _body_bytes(body, bool(event.get("isBase64Encoded"))) > limit:
        detail = f"The request body exceeds the {limit}-byte limit (counted in bytes); send a smaller body."
        return _secure(_early_problem(413, "Payload too large", detail))
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method", "").upper()
    if method in _BODY_METHODS and body and _media_type(event) != "application/json":
        return _secure(_early_problem(415, "Unsupported media type", UNSUPPORTED_TYPE))
    bad = _canonical_integer_parameters(event)
    if bad:
        return _secure(_early_problem(400, "Invalid request parameters", BAD_PARAMETERS, bad))
    return _secure(app.resolve(event, context))


def _integer(text: str) -> int | None:
    """The integer a JSON number spelling denotes (`2`, `2.0`, `2e0`), None when it is not a JSON
    number, not integral, or far out of any id's range (more than 20 digits)."""
    if len(text) > _MAX_SPELLING or not _JSON_NUMBER.fullmatch(text):
        return None
    number = Decimal(text)
    if number != number.to_integral_value() or number.adjusted() > 20:
        return None
    return int(number)


def _canonical_integer_parameters(event: dict[str, Any]) -> list[dict[str, Any]]:
    """Write every integer parameter of `event` in plain digits (path and query); list those that
    are no integer at all. Range checks (`ge`, `le`) stay with the route's validation."""
    bad: list[dict[str, Any]] = []
    for source in ("pathParameters", "queryStringParameters"):
        given = event.get(source) or {}
        for name in INTEGER_PARAMETERS:
            if name not in given:
                continue
            value = _integer(str(given[name]))
            if value is None:
                bad.append(
                    {"field": name, "message": f"must be an integer, e.g. 42 (got {str(given[name])[:40]!r})",
                     "type": "int_parsing"}
                )  # fmt: skip
            elif str(value) != given[name]:
                if source == "pathParameters":
                    _set_path_segment(event, name, given[name], str(value))
                given[name] = str(value)
    return bad


def _set_path_segment(event: dict[str, Any], name: str, old: str, new: str) -> None:
    """Replace path parameter `name` (written `old`) by `new` in the event's rawPath, at the place
    the route key puts it (counted from the end: a stage prefix may come first)."""
    route = str((event.get("requestContext") or {}).get("routeKey", "")).partition(" ")[2].split("/")
    raw = str(event.get("rawPath", "")).split("/")
    placeholder = f"{{{name}}}"
    if placeholder in route:
        index = route.index(placeholder) - len(route)
        if len(raw) >= -index and raw[index] == old:
            raw[index] = new
            event["rawPath"] = "/".join(raw)


def _body_bytes(body: str, base64_encoded: bool) -> int:
    """The body's size in bytes, as the client sent it (not in characters)."""
    if base64_encoded:
        return len(body) * 3 // 4 - body[-2:].count("=")
    return len(body.encode("utf-8", "surrogatepass"))


def _secure(response: dict[str, Any]) -> dict[str, Any]:
    response["headers"] = {**(response.get("headers") or {}), **SECURITY_HEADERS}
    if response.get("body") is None:  # a 204: say "no body" as "", not null (API Gateway sends neither)
        response["body"] = ""
    return response


def current_user(app: APIGatewayHttpResolver) -> str:
    """The username of the caller of the request `app` is handling (already authorized)."""
    return current_caller(app).username


def current_caller(app: APIGatewayHttpResolver) -> Caller:
    """The caller of the request `app` is handling, with their rights on this route (already
    authorized: `resolve` refused the request otherwise)."""
    from sales_common.auth import authorize

    return authorize(app.current_event.raw_event)


def json_response(
    status: int, body: Any, *, etag: int | None = None, headers: dict[str, str] | None = None
) -> Response[Any]:
    """A JSON response; `etag` is the entity version, sent as a strong ETag."""
    all_headers = dict(headers or {})
    if etag is not None:
        all_headers["ETag"] = f'"{etag}"'
    return Response(status_code=status, content_type="application/json", body=body, headers=all_headers)
