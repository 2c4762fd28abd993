"""The per-user limit on placing orders: a token bucket per caller (`sub`) in DynamoDB.

Each user may place `burst` orders at once and `per_minute` a minute after that; members of the
`integration` group (storefronts, integrations) have their own, higher numbers. Beyond them the
answer is 429 problem+json with `Retry-After`. All four numbers are template parameters
(OrdersPerMinute, OrderBurst, IntegrationOrdersPerMinute, IntegrationOrderBurst).

The bucket is kept as one number per user, its *theoretical arrival time* `tat` (GCRA, the
generic cell rate algorithm; milliseconds): an order is allowed if, after it, `tat` is at most
`burst` emission intervals ahead of now, and each allowed order moves `tat` one interval on. Both
cases are single conditional UpdateItems, so racing requests of one user can never take more than
the bucket holds and no read-modify-write window exists:

* `tat <= now` (idle: the bucket is full): `SET tat = now + interval`;
* `now < tat <= now + (burst - 1) * interval`: `SET tat = tat + interval`;
* otherwise refused; `Retry-After` is when `tat - (burst - 1) * interval` will have passed.

`tat` only grows, so a failed first update means the second case or a refusal; the loop only
repeats when the item vanished in between (expired).

One item takes about 1,000 writes a second, and each allowed order writes its bucket once, so a
limit above `ITEM_PER_MINUTE` (a storefront allowed thousands of orders a second) is split over
`ceil(per_minute / ITEM_PER_MINUTE)` buckets (`ORDERS#<sub>#<n>`), each with its share of the rate
and the burst; a container takes them in turn and tries the next one when its turn is used up
(docs/adr/0040). A split limit is exact in total but may refuse a little early when a caller's
containers have drawn unevenly; limits up to ITEM_PER_MINUTE keep the one bucket `ORDERS#<sub>`.
"""

from __future__ import annotations

import itertools
import math
import random
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError
from pydantic import Field

from sales_common import aws
from sales_common.auth import INTEGRATION
from sales_common.errors import TooManyRequests
from sales_common.settings import ServiceSettings, load_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from sales_common.auth import Caller

_ATTEMPTS = 3
ITEM_PER_MINUTE = 30_000  # at most 500 allowed orders a second on one bucket item: half its write limit
_turns = itertools.count(random.randrange(1_000_000))
_KEEP_IDLE_SECONDS = 3600  # an item outlives its bucket's refill by this much, then may expire


class QuotaSettings(ServiceSettings):
    ORDER_QUOTA_TABLE_NAME: str = Field(min_length=1)
    ORDERS_PER_MINUTE: int = Field(ge=1)
    ORDER_BURST: int = Field(ge=1)
    INTEGRATION_ORDERS_PER_MINUTE: int = Field(ge=1)
    INTEGRATION_ORDER_BURST: int = Field(ge=1)


@dataclass(frozen=True)
class Limit:
    per_minute: int
    burst: int

    @property
    def interval_ms(self) -> int:
        """Milliseconds between orders at the steady rate (rounded up: never more than the rate)."""
        return math.ceil(60_000 / self.per_minute)

    @property
    def buckets(self) -> int:
        """How many bucket items the limit is split over (1 up to ITEM_PER_MINUTE)."""
        return math.ceil(self.per_minute / ITEM_PER_MINUTE)

    def share(self) -> Limit:
        """One bucket's part of a split limit: the rate and the burst divided (at least 1)."""
        n = self.buckets
        return Limit(max(1, self.per_minute // n), max(1, math.ceil(self.burst / n)))


def limit_for(groups: frozenset[str], settings: QuotaSettings) -> Limit:
    if INTEGRATION in groups:
        return Limit(settings.INTEGRATION_ORDERS_PER_MINUTE, settings.INTEGRATION_ORDER_BURST)
    return Limit(settings.ORDERS_PER_MINUTE, settings.ORDER_BURST)


def take(caller: Caller, now_ms: int | None = None) -> None:
    """Count one order placement for `caller`; 429 (TooManyRequests) when their limit is used up."""
    settings = load_settings(QuotaSettings)
    limit = limit_for(caller.groups, settings)
    client = aws.dynamodb(settings)
    if limit.buckets == 1:
        _take_from(_Bucket(client, settings.ORDER_QUOTA_TABLE_NAME, f"ORDERS#{caller.sub}"), limit, now_ms)
        return
    turn = next(_turns)
    tries = [turn % limit.buckets, (turn + 1) % limit.buckets]
    for n, part in enumerate(tries):
        bucket = _Bucket(client, settings.ORDER_QUOTA_TABLE_NAME, f"ORDERS#{caller.sub}#{part:02d}")
        try:
            _take_from(bucket, limit.share(), now_ms, limit)
            return
        except TooManyRequests:
            if n == len(tries) - 1:
                raise


def _take_from(bucket: _Bucket, limit: Limit, now_ms: int | None, told: Limit | None = None) -> None:
    """Take one order from `bucket` with `limit`; 429 saying `told` (the caller's whole limit)."""
    told = told or limit
    interval = limit.interval_ms
    for _ in range(_ATTEMPTS):
        now = int(time.time() * 1000) if now_ms is None else now_ms
        ceiling = now + (limit.burst - 1) * interval
        expires = (ceiling + interval) // 1000 + _KEEP_IDLE_SECONDS
        if bucket.update(
            "SET #tat = :next", "attribute_not_exists(#tat) OR #tat <= :now", expires, next=now + interval, now=now
        ):
            return
        values = {"interval": interval, "now": now, "ceiling": ceiling}
        if bucket.update("SET #tat = #tat + :interval", "#tat > :now AND #tat <= :ceiling", expires, **values):
            return
        if bucket.seen is not None and bucket.seen > ceiling:
            wait_ms = bucket.seen - (limit.burst - 1) * interval - now
            raise TooManyRequests(
                f"You may place {told.burst} orders at once and {told.per_minute} a minute; try again in a moment.",
                retry_after=math.ceil(wait_ms / 1000),
            )
    raise TooManyRequests("Too many orders at once; try again in a moment.", retry_after=1)


class _Bucket:
    """One user's item: conditional updates of its `tat` (and the expiry that goes with it), each
    recording the take it counts (`lastTake`) and conditional on it not being recorded yet: when
    DynamoDB's answer is lost and the SDK sends the update again, the retry fails its condition and
    finds its own take recorded -- counted once, not twice."""

    def __init__(self, client: DynamoDBClient, table: str, key: str) -> None:
        self.client, self.table, self.key = client, table, key
        self.seen: int | None = None  # `tat` as the last failed update found it
        self.take = uuid.uuid4().hex  # the take being counted (a bucket is made per order placement)

    def update(self, expression: str, condition: str, expires: int, **values: int) -> bool:
        """Apply `expression` if `condition` holds; False (and `seen`) when it does not."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"pk": {"S": self.key}},
                UpdateExpression=f"{expression}, #exp = :exp, #last = :take",
                # and not counted yet: the SDK's retry of an applied update must not count it again
                ConditionExpression=f"({condition}) AND (attribute_not_exists(#last) OR #last <> :take)",
                ExpressionAttributeNames={"#tat": "tat", "#exp": "expiresAt", "#last": "lastTake"},
                ExpressionAttributeValues={
                    **{f":{k}": {"N": str(v)} for k, v in {**values, "exp": expires}.items()},
                    ":take": {"S": self.take},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            old = exc.response.get("Item", {})
            if old.get("lastTake", {}).get("S") == self.take:  # type: ignore[attr-defined]
                return True  # this very update, applied already (its answer was lost)
            found = old.get("tat", {}).get("N")  # type: ignore[attr-defined]
            self.seen = int(found) if found is not None else None
            return False
        return True
