"""The placement record: what every run of one order's placement agrees on.

One item per order id in the Orders table, ``PLACEMENT#<orderId>`` (docs/adr/0011-placement-protocol.md):

* the PlaceOrder workflow's Reserve creates it, undecided (no ``outcome``), with the order's
  lines and the ``pending``/``pendingSince`` mark, in the same transaction that takes the stock and
  records each product's ``hold_<orderId>``;
* WriteOrder sets ``outcome`` to ``PLACED`` (and drops the mark) in the transaction that stores the
  order and removes the holds;
* Decide gives an undecided or missing record a failure reason as its ``outcome`` and never
  changes a decided one. After that no run can reserve (the record exists) or store the order
  (it is decided), so whatever was reserved can be released safely.

A record keeps its ``pending`` mark while the stock its reservation took may still be held: the
sparse ``pendingHolds`` index lists exactly those, oldest first, for the sweeper. The record is
never deleted (deleting the order does not touch it): a replay years later still finds the
placement decided.

This module is the Python side of the same protocol, used by the CreateOrder function (deciding
an outcome it could not learn) and by the sweeper; the workflow's ASL does the same writes.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from orders.compensation import ReleaseLine
from sales_common.dynamo import TableAccess, from_item, now_iso, to_item
from sales_common.shards import HOLD_SHARDS, shard_of, sharded

if TYPE_CHECKING:
    from sales_common.settings import ServiceSettings

PLACED = "PLACED"
PENDING = "HOLDS"  # `pending` on every record the pendingHolds index lists is PENDING#<shard>
PENDING_INDEX = "pendingHolds"


def hold_key(order_id: int) -> str:
    """The `pending` mark of order `order_id`'s placement record: its shard of the pending holds
    (HOLD_SHARDS of them, docs/adr/0040)."""
    return sharded(PENDING, shard_of(order_id, HOLD_SHARDS))


KEY_PREFIX = "PLACEMENT#"


def record_key(order_id: int) -> dict[str, Any]:
    return {"pk": {"S": f"{KEY_PREFIX}{order_id}"}}


class PlacementRecord(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    order_id: int
    outcome: str | None = None  # None: undecided; PLACED; else why the order was not placed
    lines: Annotated[list[ReleaseLine], Field(default_factory=list)]
    pending: str | None = None
    pending_since: str | None = None

    @property
    def decided(self) -> bool:
        return self.outcome is not None

    @property
    def placed(self) -> bool:
        return self.outcome == PLACED


class PlacementRecords(TableAccess):
    """Placement records in the Orders table (the function's TABLE_NAME)."""

    def __init__(self, settings: ServiceSettings) -> None:
        super().__init__(settings)

    def get(self, order_id: int) -> PlacementRecord | None:
        found = self.client.get_item(TableName=self.table, Key=record_key(order_id), ConsistentRead=True)
        return _record(found["Item"]) if "Item" in found else None

    def decide(self, order_id: int, reason: str) -> PlacementRecord:
        """The workflow's Decide: an undecided or missing record gets `reason` as its outcome;
        a decided one keeps its own. Returns the record as it now is. Never fails on a condition,
        so it is safe to repeat and to race with the workflow and the sweeper."""
        result = self.client.update_item(
            TableName=self.table,
            Key=record_key(order_id),
            UpdateExpression=(
                "SET outcome = if_not_exists(outcome, :why), decidedAt = if_not_exists(decidedAt, :now), "
                "orderId = if_not_exists(orderId, :id)"
            ),
            ExpressionAttributeValues=to_item({":why": reason, ":now": now_iso(), ":id": order_id}),
            ReturnValues="ALL_NEW",
        )
        return _record(result["Attributes"])

    def settle(self, order_id: int) -> None:
        """Drop a decided record's pending mark, once nothing of it is held any more (the
        sweeper). Conditional on the outcome, so an undecided record keeps its mark."""
        self.client.update_item(
            TableName=self.table,
            Key=record_key(order_id),
            UpdateExpression="REMOVE pending, pendingSince",
            ConditionExpression="attribute_exists(outcome)",
        )

    def pending_before(self, cutoff: datetime, page_size: int = 100) -> Iterator[PlacementRecord]:
        """Records still marked pending whose reservation is older than `cutoff`, oldest first,
        from every shard of the sparse pendingHolds index (no scan: only marked records are in
        it), merged in time order."""
        shards = (self._pending_in(sharded(PENDING, shard), cutoff, page_size) for shard in range(HOLD_SHARDS))
        for _, item in heapq.merge(*shards, key=lambda pair: pair[0]):
            yield _record(item)

    def _pending_in(self, mark: str, cutoff: datetime, page_size: int) -> Iterator[tuple[str, dict[str, Any]]]:
        params: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": PENDING_INDEX,
            "KeyConditionExpression": "pending = :pending AND pendingSince < :cutoff",
            "ExpressionAttributeValues": to_item({":pending": mark, ":cutoff": cutoff.isoformat()}),
            "Limit": page_size,
        }
        while True:
            page = self.client.query(**params)
            for item in page.get("Items", []):
                yield item["pendingSince"]["S"], item
            if not page.get("LastEvaluatedKey"):
                return
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _record(item: dict[str, Any]) -> PlacementRecord:
    data = from_item(item)  # numbers come back as Decimal; the lines' are integers
    data["lines"] = [{k: int(v) for k, v in line.items()} for line in data.get("lines", [])]
    data["orderId"] = int(data["orderId"])
    return PlacementRecord.model_validate(data)
