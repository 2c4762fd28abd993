"""Lazily created, reused boto3 clients, each with explicit timeouts and retries.

Clients are created on first use (not at import) and reused across warm invocations. They are
keyed by endpoint and region, so a test or the local cloud that points a function at an
emulator gets its own client rather than a stale one. Every class that talks to AWS asks here
for its client when it makes a call; none takes one as a parameter.

Every client gets a botocore ``Config`` from :data:`LIMITS`: connect and read timeouts, the
``standard`` retry mode and a total number of attempts. botocore's defaults (a 60 s read timeout,
and up to 10 attempts for DynamoDB in legacy mode) would let one call outlive its function. With
explicit limits every call has a bounded worst case (:func:`worst_case_seconds`), on which the
order placement's time budget is built (docs/adr/0012-time-budgets.md);
tests/template/test_time_budgets.py proves that the budgets nest, from these numbers, the
workflow's ASL and template.yaml.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from botocore.config import Config
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_stepfunctions import SFNClient

    from sales_common.settings import FunctionSettings

ServiceName = Literal["dynamodb", "stepfunctions", "secretsmanager", "events"]


@dataclass(frozen=True)
class ClientLimits:
    """How long one call to a service may take: per attempt, and how many attempts in all."""

    connect_timeout: float  # seconds to establish a connection
    read_timeout: float  # seconds to wait for the answer (socket read)
    max_attempts: int  # attempts in all, the first one included (botocore's total_max_attempts)
    mode: Literal["standard", "legacy", "adaptive"] = "standard"  # botocore's retry mode
    pool: int = 10  # connections kept open (botocore's max_pool_connections): concurrent calls

    def config(self) -> Config:
        from botocore.config import Config

        return Config(
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            retries={"mode": self.mode, "total_max_attempts": self.max_attempts},
            max_pool_connections=self.pool,
        )


LIMITS: dict[ServiceName, ClientLimits] = {
    # DynamoDB answers in milliseconds; 3 s is a stuck request. Two attempts: one retry of a
    # throttle or a lost answer. The placement's writes are conditional or upserts, so a retried
    # write that had applied is recognised (see docs/adr/0011-placement-protocol.md). Worst case
    # 9 s, within every function's Timeout.
    # A sharded list queries its 16 shards at once (docs/adr/0040): a connection each, and room.
    "dynamodb": ClientLimits(connect_timeout=1.0, read_timeout=3.0, max_attempts=2, pool=32),
    # StartSyncExecution answers when the execution ends: after at most the PlaceOrder state
    # machine's TimeoutSeconds (20 s), plus 2 s for the answer. Never retried by the SDK: the
    # caller decides the placement's outcome itself (orders.placement) within its own budget.
    "stepfunctions": ClientLimits(connect_timeout=1.0, read_timeout=22.0, max_attempts=1),
    # The cursor-signing key, read once per warm container.
    "secretsmanager": ClientLimits(connect_timeout=1.0, read_timeout=3.0, max_attempts=2),
    # PutEvents of the domain-event publisher (a stream consumer: its event source mapping
    # retries a failed batch, so one SDK retry is enough).
    "events": ClientLimits(connect_timeout=1.0, read_timeout=3.0, max_attempts=2),
}


def worst_case_seconds(service: ServiceName) -> float:
    """The longest one call to `service` can take with its limits: every attempt waiting out
    both timeouts, plus the longest backoff botocore's standard retry mode can draw before each
    retry (its own constants: ``min(2 ** (i - 1), max_backoff)`` for the i-th retry, plus the
    ``x-amz-retry-after`` allowance when botocore's new retry behaviour is on)."""
    from botocore import configprovider
    from botocore.retries.standard import ExponentialBackoff

    limits = LIMITS[service]
    per_attempt = limits.connect_timeout + limits.read_timeout
    base, ceiling = getattr(ExponentialBackoff, "_BASE"), getattr(ExponentialBackoff, "_MAX_BACKOFF")  # noqa: B009
    extra = getattr(ExponentialBackoff, "_RETRY_AFTER_MAX_ADDITIONAL", 0) if configprovider.NEW_RETRIES_ENABLED else 0
    backoff = sum(min(base ** (i - 1), ceiling) + extra for i in range(1, limits.max_attempts))
    return float(limits.max_attempts * per_attempt + backoff)


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
            _clients[key] = session.client(
                service,
                endpoint_url=settings.endpoint_url,
                region_name=settings.region,
                config=LIMITS[service].config(),
            )
        return _clients[key]


def dynamodb(settings: FunctionSettings) -> DynamoDBClient:
    return client("dynamodb", settings)  # type: ignore[no-any-return]


def stepfunctions(settings: FunctionSettings) -> SFNClient:
    return client("stepfunctions", settings)  # type: ignore[no-any-return]


def events(settings: FunctionSettings) -> EventBridgeClient:
    return client("events", settings)  # type: ignore[no-any-return]
