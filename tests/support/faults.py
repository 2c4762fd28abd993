"""Fault injection into the emulated DynamoDB, for tests only.

Faults are injected where DynamoDB answers -- moto's ``DynamoHandler`` -- so they reach every
caller the same way: the handlers' boto3 clients and the Step Functions interpreter executing
the real ASL. Production code is untouched. A fault matches an operation and, optionally, the
item keys it touches (``pk`` values, also inside transactions) and a predicate on the request;
it answers an error instead of applying the request, or after applying it (``applied=True``: the
write happened but the caller sees an error, as after a timeout or a lost response). With
``delay=`` it makes the request slow instead (before applying it, or after with ``applied=True``),
so that a workflow step outlives its TimeoutSeconds while the request still lands. With the code
``TIMEOUT`` the caller's read times out instead of getting an answer.

    def test_x(faults):
        faults.inject("TransactWriteItems", "InternalServerError", keys={"PRODUCT#2"}, when=faults.reserving)
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

# Error codes and the HTTP status DynamoDB answers them with.
STATUS = {
    "InternalServerError": 500,
    "ServiceUnavailable": 503,
    "ProvisionedThroughputExceededException": 400,
    "ThrottlingException": 400,
    "RequestLimitExceeded": 400,
    "TransactionConflictException": 400,
    "TransactionCanceledException": 400,
    "ValidationException": 400,
}
SLOW = "slow"  # not an error: `delay` seconds, then the request's own answer
# Not an answer: the caller's read times out (botocore's ReadTimeoutError, which its retry mode
# retries), as when DynamoDB's answer is lost on the way; with `applied=True` the write happened.
TIMEOUT = "timeout"


def keys_of(operation: str, body: dict[str, Any]) -> set[str]:
    """The pk values a DynamoDB request touches."""
    if operation == "TransactWriteItems":
        found = set()
        for entry in body.get("TransactItems", []):
            ((_, op),) = entry.items()
            key = op.get("Key") or op.get("Item") or {}
            if "pk" in key:
                found.add(key["pk"]["S"])
        return found
    key = body.get("Key") or body.get("Item") or {}
    return {key["pk"]["S"]} if "pk" in key else set()


def _operations(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The single request, or each operation of a transaction."""
    if "TransactItems" in body:
        return [op for entry in body["TransactItems"] for op in entry.values()]
    return [body]


@dataclass
class Fault:
    operation: str
    code: str
    keys: set[str] | None = None
    when: Callable[[dict[str, Any]], bool] | None = None
    times: int | None = None  # None: every matching request
    applied: bool = False
    delay: float = 0.0
    hits: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)

    def matches(self, operation: str, body: dict[str, Any]) -> bool:
        if operation != self.operation or (self.times is not None and self.hits >= self.times):
            return False
        if self.keys is not None and not (self.keys & keys_of(operation, body)):
            return False
        return self.when is None or self.when(body)


@dataclass
class Hook:
    """Something to do just before a matching request is applied (once): an interleaving."""

    operation: str
    action: Callable[[], Any]
    keys: set[str] | None = None
    when: Callable[[dict[str, Any]], bool] | None = None
    results: list[Any] = field(default_factory=list)

    def matches(self, operation: str, body: dict[str, Any]) -> bool:
        if self.results or operation != self.operation:
            return False
        if self.keys is not None and not (self.keys & keys_of(operation, body)):
            return False
        return self.when is None or self.when(body)


class Faults:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._hooks: list[Hook] = []
        self._lock = threading.Lock()
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def before(
        self,
        operation: str,
        action: Callable[[], Any],
        *,
        keys: set[str] | None = None,
        when: Callable[[dict[str, Any]], bool] | None = None,
    ) -> Hook:
        """Run `action` (once, e.g. another request through the API) just before the first request
        matching `operation`, `keys` and `when` is applied; its result lands in `hook.results`."""
        hook = Hook(operation, action, keys, when)
        with self._lock:
            self._hooks.append(hook)
        return hook

    def inject(
        self,
        operation: str,
        code: str,
        *,
        keys: set[str] | None = None,
        when: Callable[[dict[str, Any]], bool] | None = None,
        times: int | None = None,
        applied: bool = False,
        delay: float = 0.0,
    ) -> Fault:
        fault = Fault(operation, code, keys, when, times, applied, delay)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    # Predicates telling the workflow's requests apart.
    @staticmethod
    def marking_customer(body: dict[str, Any]) -> bool:
        """ValidateCustomer: the conditional update that marks the customer as referenced."""
        key = body.get("Key", {}).get("pk", {}).get("S", "")
        return key.startswith("CUSTOMER#") and "referenced" in body.get("ExpressionAttributeNames", {}).values()

    @staticmethod
    def reserving(body: dict[str, Any]) -> bool:
        """Reserve: the transaction that takes stock (and opens the placement record)."""
        return any("stock - :q" in op.get("UpdateExpression", "") for op in _operations(body))

    @staticmethod
    def writing_order(body: dict[str, Any]) -> bool:
        """WriteOrder (or Adopt): the transaction that stores the order."""
        return any(op.get("Item", {}).get("entity") == {"S": "order"} for op in _operations(body))

    @staticmethod
    def deciding(body: dict[str, Any]) -> bool:
        """Decide: the upsert of a placement record's outcome."""
        return "if_not_exists(outcome" in body.get("UpdateExpression", "")

    @staticmethod
    def releasing(body: dict[str, Any]) -> bool:
        return "stock + :q" in body.get("UpdateExpression", "") and "#hold" in body.get("ConditionExpression", "")

    def _match(self, operation: str, body: dict[str, Any]) -> Fault | None:
        with self._lock:
            self.seen.append((operation, body))
            for fault in self._faults:
                if fault.matches(operation, body):
                    fault.hits += 1
                    fault.requests.append(body)
                    return fault
        return None

    def wrap(self, original: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def call_action(handler: Any) -> Any:
            operation = handler._get_action()
            body = handler.body if isinstance(handler.body, dict) else json.loads(handler.body or "{}")
            with self._lock:
                due = [hook for hook in self._hooks if hook.matches(operation, body)]
                for hook in due:
                    hook.results.append(None)  # fired: never again, also while its action runs
            for hook in due:  # outside the lock: the action makes requests of its own
                hook.results[0] = hook.action()
            fault = self._match(operation, body)
            if fault is None:
                return original(handler)
            if fault.code == SLOW:
                if fault.applied:
                    answer = original(handler)
                    time.sleep(fault.delay)
                    return answer
                time.sleep(fault.delay)
                return original(handler)
            if fault.applied:
                original(handler)
            if fault.code == TIMEOUT:
                from botocore.exceptions import ReadTimeoutError

                raise ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com/")
            raise InjectedError(fault.code)

        return call_action


def _injected_error_class() -> type:
    from moto.core.exceptions import JsonRESTError

    class Injected(JsonRESTError):
        """DynamoDB's error answer, with the request id DynamoDB always sends."""

        def __init__(self, code: str) -> None:
            super().__init__(f"com.amazonaws.dynamodb.v20120810#{code}", f"injected {code}")
            self.code = STATUS.get(code, 400)

        def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
            return [*super().get_headers(*args, **kwargs), ("x-amzn-RequestId", uuid.uuid4().hex)]

    return Injected


def InjectedError(code: str) -> Exception:
    return _injected_error_class()(code)  # type: ignore[no-any-return]


@contextlib.contextmanager
def real_task_timeouts() -> Iterator[None]:
    """The workflow's Task timeouts as the template states them (the suite stretches them, see
    localcloud.task_timeouts), for a test about a step outliving its TimeoutSeconds."""
    from localcloud import task_timeouts

    stretched = task_timeouts.scale()
    task_timeouts.set_scale(1)
    try:
        yield
    finally:
        task_timeouts.set_scale(stretched)


def install(monkeypatch: Any) -> Iterator[Faults]:
    """Patch moto's DynamoDB request handler for one test (undone by monkeypatch)."""
    from botocore.retries.standard import ExponentialBackoff
    from moto.dynamodb.responses import DynamoHandler

    faults = Faults()
    monkeypatch.setattr(DynamoHandler, "call_action", faults.wrap(DynamoHandler.call_action))
    # The SDK still retries what a fault refuses or loses, but without its random backoff (up to a
    # second per retry): how long it waits is not what these tests are about.
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)
    yield faults
