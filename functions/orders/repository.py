"""Order storage: every read and write of orders. Status changes that give stock back (cancel,
delete of a CONFIRMED order) run in one DynamoDB transaction with the restock, conditional on the
status the order was read in, so stock is restored exactly once even when requests race."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError

from orders.models import Order, OrderLine, OrderStatus
from sales_common.dynamo import Condition, EntityStore, Expected, cancellation_codes, now_iso, product_key, to_item
from sales_common.errors import ConfigurationError, Conflict
from sales_common.shards import ORDER_SHARDS, ShardedIndex, shard_of, sharded

if TYPE_CHECKING:
    from sales_common.settings import ServiceSettings

HOLDS_STOCK = OrderStatus.CONFIRMED
T = TypeVar("T")

# The lists of orders, each write-sharded (docs/adr/0040): an order is in shard `id % ORDER_SHARDS`
# of each, under `<value>#<shard>` in the list's shard attribute.
ENTITY_SHARD, CUSTOMER_SHARD, CREATOR_SHARD, STATUS_SHARD = (
    "entityShard",
    "customerShard",
    "creatorShard",
    "statusShard",
)


def _lists(hash_key: str, by_id: str, by_time: str) -> tuple[ShardedIndex, ShardedIndex]:
    return (
        ShardedIndex(by_id, hash_key, "id", "N", ORDER_SHARDS),
        ShardedIndex(by_time, hash_key, "createdAt", "S", ORDER_SHARDS),
    )


ALL_ORDERS = _lists(ENTITY_SHARD, "byEntity", "byDate")
BY_CUSTOMER = _lists(CUSTOMER_SHARD, "byCustomer", "byCustomerDate")
BY_CREATOR = _lists(CREATOR_SHARD, "byCreator", "byCreatorDate")
BY_STATUS = ShardedIndex("byStatus", STATUS_SHARD, "createdAt", "S", ORDER_SHARDS)


def list_keys(order_id: int, customer_id: int, created_by: str, status: str) -> dict[str, str]:
    """The attributes that put order `order_id` into its shard of every list of orders."""
    shard = shard_of(order_id, ORDER_SHARDS)
    return {
        ENTITY_SHARD: sharded("order", shard),
        CUSTOMER_SHARD: sharded(customer_id, shard),
        CREATOR_SHARD: sharded(created_by, shard),
        STATUS_SHARD: sharded(status, shard),
    }


class OrderStore(EntityStore[Order]):
    """Orders in the function's TABLE_NAME. Writes that restock also need `products_table` (the
    functions that read orders are not given the Products table)."""

    entity = "order"
    model = Order

    def __init__(self, settings: ServiceSettings, products_table: str | None = None) -> None:
        super().__init__(settings)
        self.products_table = products_table

    def restock_op(self, order_id: int, line: OrderLine) -> dict[str, Any]:
        """Give `line`'s units back to its product, marking the product with the order
        (`lastRestock`: internal; it tells the domain events that an order, not the product's own
        API, moved the stock)."""
        if self.products_table is None:
            raise ConfigurationError("restocking needs the Products table (PRODUCTS_TABLE_NAME)")
        return {
            "Update": {
                "TableName": self.products_table,
                "Key": product_key(line.product_id),
                "UpdateExpression": "SET stock = stock + :q, updatedAt = :now, lastRestock = :order ADD version :one",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": to_item(
                    {":q": line.quantity, ":now": now_iso(), ":order": order_id, ":one": 1}
                ),
            }
        }

    def set_status(self, order: Order, status: OrderStatus, expected_version: Expected, actor: str) -> Order:
        """Move `order` to `status`; a cancellation restocks every line in the same transaction."""
        restock = order.items if status is OrderStatus.CANCELLED else []

        def write(lines: Sequence[OrderLine]) -> Order:
            ops = [self.restock_op(order.id, line) for line in lines]
            return self.update(
                order.id,
                {
                    "status": status.value,
                    STATUS_SHARD: sharded(status.value, shard_of(order.id, ORDER_SHARDS)),
                    "updatedBy": actor,
                },
                expected_version,
                ops,
                _in_status(order.status),
            )

        return self._with_restock(order, restock, write)

    def remove(self, order: Order, expected_version: Expected, actor: str) -> None:
        """Delete `order`; if it still holds stock, restock in the same transaction."""
        restock = order.items if order.status is HOLDS_STOCK else []

        def write(lines: Sequence[OrderLine]) -> None:
            ops = [self.restock_op(order.id, line) for line in lines]
            self.delete(order.id, actor, expected_version, ops, _in_status(order.status))

        self._with_restock(order, restock, write)

    def _with_restock(self, order: Order, lines: Sequence[OrderLine], write: Callable[[Sequence[OrderLine]], T]) -> T:
        """Run `write(lines)`. A product deleted since the order was placed has no stock to give
        back: its line is dropped and the write retried. If the order itself changed, 409."""
        remaining = list(lines)
        while True:
            try:
                return write(remaining)
            except ClientError as exc:
                codes = cancellation_codes(exc)
                if not codes or codes[0] == "ConditionalCheckFailed":
                    current = self.require(order.id)
                    raise Conflict(
                        f"Order {order.id} changed concurrently; it is now {current.status}. GET it and decide again."
                    ) from exc
                gone = {i for i, code in enumerate(codes[1:]) if code == "ConditionalCheckFailed"}
                if not gone:
                    raise
                remaining = [line for i, line in enumerate(remaining) if i not in gone]


def _in_status(status: OrderStatus) -> Condition:
    return Condition("#status = :from", {":from": status.value}, {"#status": "status"})
