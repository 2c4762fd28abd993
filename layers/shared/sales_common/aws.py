"""Lazily created, reused boto3 clients.

Clients are created on first use (not at import) and reused across warm invocations. They are
keyed by endpoint and region, so a test or the local cloud that points a function at an
emulator gets its own client rather than a stale one. Every class that talks to AWS asks here
for its client when it makes a call; none takes one as a parameter.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_stepfunctions import SFNClient

    from sales_common.settings import FunctionSettings

ServiceName = Literal["dynamodb", "stepfunctions", "secretsmanager", "events"]
_clients: dict[tuple[str, str | None, str | None], Any] = {}
_lock = threading.Lock()


def client(service: ServiceName, settings: FunctionSettings) -> Any:
    key = (service, settings.endpoint_url, settings.region)
    found = _clients.get(key)
    if found is not None:
        return found
    with _lock:
        if key not in _clients:
            import boto3  # deferred: keeps module import cheap for cold starts

            session = boto3.session.Session()
            _clients[key] = session.client(service, endpoint_url=settings.endpoint_url, region_name=settings.region)
        return _clients[key]


def dynamodb(settings: FunctionSettings) -> DynamoDBClient:
    return client("dynamodb", settings)  # type: ignore[no-any-return]


def stepfunctions(settings: FunctionSettings) -> SFNClient:
    return client("stepfunctions", settings)  # type: ignore[no-any-return]


def events(settings: FunctionSettings) -> EventBridgeClient:
    return client("events", settings)  # type: ignore[no-any-return]
