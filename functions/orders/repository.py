"""Order storage. Status changes that give stock back (cancel, delete of a CONFIRMED order) run in
one DynamoDB transaction with the restock, conditional on the status the order was read in, so
stock is restored exactly once even when requests race."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError

from orders.models import OrderStatus
from sales_common.dynamo import Condition, EntityStore, cancellation_codes, now_iso, to_item
from sales_common.errors import Conflict

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from orders.settings import OrderSettings

HOLDS_STOCK = OrderStatus.CONFIRMED
T = TypeVar("T")


class OrderStore(EntityStore):
    def __init__(self, settings: OrderSettings, client: DynamoDBClient | None = None) -> None:
        super().__init__(settings, "order", client)
        self.products_table = settings.PRODUCTS_TABLE_NAME

    def restock_op(self, line: dict[str, Any]) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.products_table,
                "Key": {"pk": {"S": f"PRODUCT#{line['productId']}"}},
                "UpdateExpression": "SET stock = stock + :q, updatedAt = :now ADD version :one",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": to_item({":q": line["quantity"], ":now": now_iso(), ":one": 1}),
            }
        }

    def set_status(
        self, order: dict[str, Any], status: OrderStatus, expected_version: int | None, actor: str
    ) -> dict[str, Any]:
        """Move `order` to `status`; a cancellation restocks every line in the same transaction."""
        restock = order["items"] if status is OrderStatus.CANCELLED else []

        def write(lines: Sequence[dict[str, Any]]) -> dict[str, Any]:
            ops = [self.restock_op(line) for line in lines]
            return self.update(
                order["id"],
                {"status": status.value, "updatedBy": actor},
                expected_version,
                ops,
                _in_status(order["status"]),
            )

        return self._with_restock(order, restock, write)

    def remove(self, order: dict[str, Any], expected_version: int | None) -> None:
        """Delete `order`; if it still holds stock, restock in the same transaction."""
        restock = order["items"] if order["status"] == HOLDS_STOCK else []

        def write(lines: Sequence[dict[str, Any]]) -> None:
            ops = [self.restock_op(line) for line in lines]
            self.delete(order["id"], expected_version, ops, _in_status(order["status"]))

        self._with_restock(order, restock, write)

    def _with_restock(
        self, order: dict[str, Any], lines: Sequence[dict[str, Any]], write: Callable[[Sequence[dict[str, Any]]], T]
    ) -> T:
        """Run `write(lines)`. A product deleted since the order was placed has no stock to give
        back: its line is dropped and the write retried. If the order itself changed, 409."""
        remaining = list(lines)
        while True:
            try:
                return write(remaining)
            except ClientError as exc:
                codes = cancellation_codes(exc)
                if not codes or codes[0] == "ConditionalCheckFailed":
                    current = self.require(order["id"])
                    raise Conflict(f"Order {order['id']} changed concurrently; it is now {current['status']}.") from exc
                gone = {i for i, code in enumerate(codes[1:]) if code == "ConditionalCheckFailed"}
                if not gone:
                    raise
                remaining = [line for i, line in enumerate(remaining) if i not in gone]


def _in_status(status: str) -> Condition:
    return Condition("#status = :from", {":from": status}, {"#status": "status"})
