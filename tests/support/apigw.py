"""Invoke the template's functions in-process with the event shape API Gateway (HTTP API,
payload 2.0) sends. Routes, handlers and environment come from template.yaml; the base event of
each function is its sample under events/, so those files stay exercised.

Invocations here are sequential (one at a time, as in one Lambda environment): each runs with its
function's variables set in this test process's environment for the duration of the call
(:func:`function_env`), restored afterwards. Concurrency is tested through the local cloud, whose
functions run in separate processes as on Lambda (tests/e2e).

Requests carry the JWT authorizer's claims of an `admin` user by default, in the form a deployed
HTTP API sends them (every claim a string, `cognito:groups` as "[admin]"); pass `role="sales"`,
`role="admin sales"` (several groups), `role=""` (a user in no group) or `role=None` (no
authorizer context at all), and `user=` for the username."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from localcloud import sam_template
from localcloud.sam_template import SamTemplate
from sales_common.api import dumps
from tests.support import iam

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


@cache
def template() -> SamTemplate:
    """template.yaml, read once (:mod:`localcloud.sam_template`)."""
    return SamTemplate.load(TEMPLATE)


def _resolve(value: Any) -> Any:
    """`!Ref Parameter` becomes its default (as sam local resolves it); `!Ref Resource` the marker
    ("Ref", X), resolved per invocation; plain values stay."""
    if isinstance(value, dict) and "Ref" in value:
        name = str(value["Ref"])
        parameter = template().parameters.get(name)
        if parameter is not None and "Default" in parameter:
            return str(parameter["Default"])
        return ("Ref", name)
    return str(value)


@dataclass(frozen=True)
class Function:
    logical_id: str
    handler: str
    method: str
    route: str
    environment: dict[str, Any]

    def resolved_environment(self, refs: dict[str, str]) -> dict[str, str]:
        """As sam local resolves it (!Ref Table -> logical id), except refs given explicitly
        (e.g. a state machine's ARN in the emulator)."""
        return {k: str(refs.get(v[1], v[1])) if isinstance(v, tuple) else str(v) for k, v in self.environment.items()}

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.route) + "$")

    @property
    def event_file(self) -> Path:
        service = self.route.split("/")[2]
        name = re.sub(r"(?<!^)(?=[A-Z])", "_", self.logical_id.removesuffix("Function")).lower()
        return ROOT / "events" / service / f"{name}.json"


def _environment(fn: sam_template.Function) -> dict[str, Any]:
    env = {k: _resolve(v) for k, v in fn.environment.items()}
    env.pop("AWS_ENDPOINT_URL", None)  # empty in the template; moto intercepts in-process
    return env


def function(logical_id: str) -> Function:
    """Any function of the template (also one without an HTTP route, e.g. a queue consumer)."""
    fn = template().function(logical_id)
    return Function(logical_id, fn.handler, "", "", _environment(fn))


@cache
def functions() -> tuple[Function, ...]:
    """One per operation of the API (HTTP route), in template order: not the front door's routes
    (the docs page and the unknown-route answer, `front_door()`)."""
    return tuple(
        Function(r.function, r.handler, r.method, r.path, _environment(template().function(r.function)))
        for r in template().routes()
        if r.operation
    )


@cache
def front_door() -> tuple[Function, ...]:
    """The routes that are not operations of the API: GET /, the docs page, the document, and
    ANY /{proxy+}."""
    return tuple(
        Function(r.function, r.handler, r.method, r.path, _environment(template().function(r.function)))
        for r in template().routes()
        if not r.operation
    )


class LambdaContext:
    """Lambda's context for one invocation: the remaining time counts down from the function's
    Timeout in template.yaml, as on Lambda (the placement's time budget reads it)."""

    def __init__(self, name: str, timeout_seconds: float | None = None) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.aws_request_id = "test-request"
        if timeout_seconds is None:
            timeout = template().function(name).timeout if name in template().resources(sam_template.FUNCTION) else None
            timeout_seconds = float(timeout or template().function_globals.get("Timeout", 3))
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    raw: str
    function: str = ""

    @property
    def json(self) -> Any:
        return json.loads(self.raw) if self.raw else None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


def route(method: str, path: str) -> tuple[Function, dict[str, str]]:
    for fn in functions():
        match = fn.pattern.match(path)
        if fn.method == method.upper() and match:
            return fn, match.groupdict()
    raise LookupError(f"no function in template.yaml serves {method} {path}")


DEFAULT_ROLE = "admin"


def claims(role: str, user: str | None = None) -> dict[str, str]:
    """Claims of a Cognito access token as the HTTP API JWT authorizer passes them: strings, the
    groups list as "[a b]". `role` is a space-separated list of groups ("" for none)."""
    username = user or f"{role.replace(' ', '-') or 'nogroup'}-user"
    out = {
        "auth_time": "1795521500",
        "client_id": "4example5client6id7abc8def9",
        "event_id": "5b0ddb6a-7a4b-4a5d-9d3f-2c1e8f6a9b10",
        "exp": "1795525100",
        "iat": "1795521500",
        "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE",
        "jti": "0f7e2c1a-3b4d-4e5f-8a9b-1c2d3e4f5a6b",
        "scope": "aws.cognito.signin.user.admin",
        "sub": username,
        "token_use": "access",
        "username": username,
    }
    if role:
        out["cognito:groups"] = f"[{role}]"
    return out


def build_event(
    fn: Function,
    path: str,
    params: dict[str, str],
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, Any] | None = None,
    raw_body: str | None = None,
    role: str | None = DEFAULT_ROLE,
    user: str | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(fn.event_file.read_text())
    if role is None:
        event["requestContext"].pop("authorizer", None)
    else:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": claims(role, user), "scopes": None}}
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["pathParameters"] = params or None
    if not params:
        event.pop("pathParameters")
    merged = {k: v for k, v in event["headers"].items() if k not in {"content-length", "content-type"}}
    merged.update({k.lower(): v for k, v in (headers or {}).items()})
    text = raw_body if raw_body is not None else (dumps(body) if body is not None else None)
    if text is not None:
        merged.setdefault("content-type", "application/json")
        event["body"] = text
    else:
        event.pop("body", None)
    event["headers"] = merged
    if query:
        event["queryStringParameters"] = {k: str(v) for k, v in query.items()}
        event["rawQueryString"] = urlencode(query)
    return event


_env_lock = threading.Lock()
_env_active = 0  # invocations inside function_env now, in any thread
_env_before: dict[str, str | None] = {}  # each variable's value before the first of them


@contextlib.contextmanager
def function_env(variables: Mapping[str, str]) -> Iterator[None]:
    """The function's variables in ``os.environ`` for the duration of one invocation (test-side
    only, like ``monkeypatch.setenv``); the previous values come back when the last invocation
    in flight ends. Invocations racing in threads (the race tests) share one environment while
    they overlap; restoring per invocation would let the last to finish put back a value another
    one had set, leaking it into every later test of the worker."""
    global _env_active
    with _env_lock:
        for key in variables:
            _env_before.setdefault(key, os.environ.get(key))
        _env_active += 1
        os.environ.update({key: str(value) for key, value in variables.items()})
    try:
        yield
    finally:
        with _env_lock:
            _env_active -= 1
            if _env_active == 0:
                for key, value in _env_before.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
                _env_before.clear()


_handlers: dict[str, Any] = {}


def _handler(fn: Function, refs: dict[str, str] | None = None) -> Any:
    """The function's handler, imported once (with the test session's POWERTOOLS_* settings)."""
    if fn.handler not in _handlers:
        module_name, _, attr = fn.handler.rpartition(".")
        _handlers[fn.handler] = getattr(importlib.import_module(module_name), attr)
    return _handlers[fn.handler]


def invoke(
    fn: Function, event: dict[str, Any], refs: dict[str, str] | None = None, time_left: float | None = None
) -> dict[str, Any]:
    """One invocation; `time_left` (seconds) starts it with less than the function's Timeout left."""
    handler = _handler(fn, refs)
    with function_env(fn.resolved_environment(refs or {})), iam.acting_as(fn.logical_id):
        return handler(event, LambdaContext(fn.logical_id, time_left))  # type: ignore[no-any-return]


class Api:
    """`api.post("/api/products", {...})` -> Reply, through the function template.yaml routes it to."""

    def __init__(self, refs: dict[str, str] | None = None) -> None:
        self.refs = refs or {}

    def request(self, method: str, path: str, body: Any = None, time_left: float | None = None, **kwargs: Any) -> Reply:
        fn, params = route(method, path)
        result = invoke(fn, build_event(fn, path, params, body, **kwargs), self.refs, time_left)
        return Reply(result["statusCode"], result.get("headers") or {}, result.get("body") or "", fn.logical_id)

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.request("PUT", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Reply:
        return self.request("DELETE", path, **kwargs)
