"""Lazily created, reused boto3 clients.

Clients are created on first use (not at import) and reused across warm invocations. They are
keyed by endpoint and region, so a test or the local cloud that points a function at an
emulator gets its own client rather than a stale one.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_stepfunctions import SFNClient

    from sales_common.settings import ServiceSettings

ServiceName = Literal["dynamodb", "stepfunctions", "secretsmanager"]
_clients: dict[tuple[str, str | None, str | None], Any] = {}
_lock = threading.Lock()


def client(service: ServiceName, settings: ServiceSettings) -> Any:
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


def dynamodb(settings: ServiceSettings) -> DynamoDBClient:
    return client("dynamodb", settings)  # type: ignore[no-any-return]


def stepfunctions(settings: ServiceSettings) -> SFNClient:
    return client("stepfunctions", settings)  # type: ignore[no-any-return]


C = TypeVar("C")


class Client[C]:
    """A lazily resolved client attribute for classes that have `settings`::

        class Catalog:
            client = aws.Client["DynamoDBClient"]("dynamodb")

    Reads return the client assigned to the instance (tests inject fakes or moto clients that
    way), else the shared client for the instance's settings, created on first use."""

    def __init__(self, service: ServiceName) -> None:
        self.service = service
        self.slot = "_client"

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}"

    def __get__(self, instance: Any, owner: type | None = None) -> C:
        injected = instance.__dict__.get(self.slot)
        return injected if injected is not None else client(self.service, instance.settings)  # type: ignore[no-any-return]

    def __set__(self, instance: Any, value: C | None) -> None:
        instance.__dict__[self.slot] = value
