"""Completing stock releases the PlaceOrder workflow could not finish.

Each reservation records a hold on the product -- attribute ``hold_<orderId>`` = quantity -- in
the same conditional UpdateItem that takes the stock. A release gives the stock back and removes
the hold in one UpdateItem conditional on the hold, so it applies at most once however often it
is attempted or delivered, and releasing a line that was never reserved (or whose order was
stored, which removes the holds) changes nothing. The workflow releases inline; what still fails
after its retries is sent to the compensation queue, consumed by ReleaseStockFunction (here).
"""

from __future__ import annotations

from typing import Annotated

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from pydantic.alias_generators import to_camel

from sales_common.dynamo import TableAccess, now_iso, product_key, to_item

HOLD_PREFIX = "hold_"


def hold_attribute(order_id: int) -> str:
    """The product attribute that records order `order_id`'s reservation (same as the ASL's)."""
    return f"{HOLD_PREFIX}{order_id}"


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class ReleaseLine(_Model):
    product_id: Annotated[StrictInt, Field(ge=1)]
    quantity: Annotated[StrictInt, Field(ge=1)]


class PendingRelease(_Model):
    """One compensation-queue message: lines of one order whose stock must be given back."""

    order_id: Annotated[StrictInt, Field(ge=1)]
    lines: Annotated[list[ReleaseLine], Field(min_length=1)]


class StockReleaser(TableAccess):
    """Releases holds on the Products table (the function's TABLE_NAME unless `table` names it)."""

    def release(self, order_id: int, line: ReleaseLine) -> bool:
        """Give `line` back if order `order_id` still holds it; False if there was nothing held
        (never reserved, already released, or taken over by the stored order)."""
        return self._on_hold(
            order_id,
            line,
            "SET stock = stock + :q, updatedAt = :now REMOVE #hold ADD version :one",
            "#hold = :q",
            {":q": line.quantity, ":now": now_iso(), ":one": 1},
        )

    def take_over(self, order_id: int, line: ReleaseLine) -> bool:
        """Remove order `order_id`'s hold on `line`'s product without giving stock back: the
        order was stored and owns those units. False if there was no hold. (The workflow removes
        holds in the same transaction that stores the order; the sweeper uses this only should
        a hold of a stored order ever be found.)"""
        return self._on_hold(order_id, line, "REMOVE #hold", "attribute_exists(#hold)")

    def _on_hold(
        self, order_id: int, line: ReleaseLine, update: str, condition: str, values: dict[str, object] | None = None
    ) -> bool:
        """One update of `line`'s product conditional on order `order_id`'s hold; False when the
        condition failed (nothing held)."""
        request: dict[str, object] = {
            "TableName": self.table,
            "Key": product_key(line.product_id),
            "UpdateExpression": update,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#hold": hold_attribute(order_id)},
        }
        if values:
            request["ExpressionAttributeValues"] = to_item(values)
        try:
            self.client.update_item(**request)  # type: ignore[arg-type]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def complete(self, pending: PendingRelease) -> int:
        """Release every line of `pending`; returns how many were still held. Any other error
        propagates, so the message is retried (and, after the queue's maxReceiveCount, dead-lettered)."""
        return sum(self.release(pending.order_id, line) for line in pending.lines)
