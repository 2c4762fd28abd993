"""The reports table: the projection's rows, and the one transaction that applies an event.

Items (``pk``, ``sk``):

=====================================  ======================================================
``EVENT#<eventId>``, ``EVENT``          the marker of an applied event
``ORDER#<id>``, ``STATE``               an order's rank and contribution (`OrderRow`)
``PRODUCT#<id>``, ``STATE``             a product's counted stock, name, threshold (`ProductRow`)
``CUSTOMER#<id>``, ``STATE``            a customer's name (`CustomerRow`)
``SALES#<DIM>#<YYYY-MM>``, ``<day>``    a sales row: a day (DAY), or a product or customer on
``...``, ``<day>#<id>``                 a day (PRODUCT, CUSTOMER); one partition per month
``META``, ``META``                      `asOf`: when the newest applied event occurred
=====================================  ======================================================

Two sparse indexes order products by stock (`stockOrder` = stock x 10^16 + id, so ties go by
id): `byStock` holds the listed products (known, not deleted, not archived), `lowStock` those at
or below their own threshold.

An event is applied in ONE `TransactWriteItems`: its marker (only if absent: a redelivered event
is refused whole), the entity rows it changes (each only if its `rev` is still the one read), and
the sales counters (`ADD`, which commute). A refused marker means the event was applied already;
a changed row means another event got there first: read again and plan again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from reports.events import DomainEvent
from reports.projection import (
    Counters,
    CustomerRow,
    Dimension,
    Line,
    OrderRow,
    Plan,
    ProductRow,
    Rows,
    SalesKey,
)
from sales_common.dynamo import TableAccess, cancellation_codes, from_item, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

STATE = "STATE"
META = {"pk": "META", "sk": "META"}
BY_STOCK = "byStock"
LOW_STOCK = "lowStock"
LISTED = "PRODUCT"  # the byStock partition
LOW = "LOW"  # the lowStock partition
ID_SPAN = 10**16  # > any id (ids stay below 2**53)
MAX_TRANSACTION_ITEMS = 100
BATCH_GET = 100


def stock_order(stock: int, product_id: int) -> int:
    """Sorts by stock, then by id; negative stock (a sum still missing an event) sorts first."""
    return stock * ID_SPAN + product_id


def entity_key(kind: str, entity_id: int) -> dict[str, str]:
    return {"pk": f"{kind.upper()}#{entity_id}", "sk": STATE}


def marker_key(event_id: str) -> dict[str, str]:
    return {"pk": f"EVENT#{event_id}", "sk": "EVENT"}


def sales_partition(dimension: Dimension, month: str) -> str:
    return f"SALES#{dimension.upper()}#{month}"


def sales_key(key: SalesKey) -> dict[str, str]:
    sort = key.day if key.dimension == "day" else f"{key.day}#{key.key}"
    return {"pk": sales_partition(key.dimension, key.day[:7]), "sk": sort}


class Duplicate(Exception):
    """The event's marker exists: it was applied before."""


class Stale(Exception):
    """A row changed since it was read (or a transaction conflicted): read and plan again."""


# ---------------------------------------------------------------- rows <-> items
def order_item(row: OrderRow, rev: int) -> dict[str, Any]:
    return {
        **entity_key("order", row.id),
        "kind": "order",
        "orderId": row.id,
        "rank": row.rank,
        "rev": rev,
        "deleted": row.deleted,
        "day": row.day,
        "customerId": row.customer_id,
        "status": row.status,
        "total": row.total,
        "lines": [{"productId": x.product_id, "quantity": x.quantity, "lineTotal": x.line_total} for x in row.lines],
    }


def order_of(item: Mapping[str, Any]) -> OrderRow:
    return OrderRow(
        id=int(item["orderId"]),
        rank=int(item["rank"]),
        deleted=bool(item["deleted"]),
        day=str(item["day"]),
        customer_id=int(item["customerId"]),
        status=str(item["status"]),
        total=Decimal(item["total"]),
        lines=tuple(Line(int(x["productId"]), int(x["quantity"]), Decimal(x["lineTotal"])) for x in item["lines"]),
        rev=int(item["rev"]),
    )


def product_item(row: ProductRow, rev: int) -> dict[str, Any]:
    item: dict[str, Any] = {
        **entity_key("product", row.id),
        "kind": "product",
        "productId": row.id,
        "stock": row.stock,
        "stockOrder": stock_order(row.stock, row.id),
        "rank": row.rank,
        "rev": rev,
        "name": row.name,
        "threshold": row.threshold,
        "status": row.status,
        "deleted": row.deleted,
    }
    if row.listed:
        item["listed"] = LISTED
    if row.low:
        item["low"] = LOW
    return {k: v for k, v in item.items() if v is not None}


def product_of(item: Mapping[str, Any]) -> ProductRow:
    return ProductRow(
        id=int(item["productId"]),
        stock=int(item["stock"]),
        rank=int(item["rank"]),
        name=item.get("name"),
        threshold=int(item.get("threshold", 0)),
        status=item.get("status"),
        deleted=bool(item.get("deleted", False)),
        rev=int(item["rev"]),
    )


def customer_item(row: CustomerRow, rev: int) -> dict[str, Any]:
    item = {
        **entity_key("customer", row.id),
        "kind": "customer",
        "customerId": row.id,
        "rank": row.rank,
        "rev": rev,
        "name": row.name,
        "deleted": row.deleted,
    }
    return {k: v for k, v in item.items() if v is not None}


def customer_of(item: Mapping[str, Any]) -> CustomerRow:
    return CustomerRow(
        id=int(item["customerId"]),
        rank=int(item["rank"]),
        name=item.get("name"),
        deleted=bool(item.get("deleted", False)),
        rev=int(item["rev"]),
    )


def counters_of(item: Mapping[str, Any]) -> Counters:
    return Counters(
        int(item.get("orders", 0)),
        int(item.get("cancelled", 0)),
        int(item.get("units", 0)),
        Decimal(item.get("revenue", 0)),
    )


@dataclass(frozen=True)
class SalesRow:
    key: SalesKey
    counters: Counters


_ITEMS: dict[str, Callable[[Any, int], dict[str, Any]]] = {
    "order": order_item,
    "product": product_item,
    "customer": customer_item,
}


# ---------------------------------------------------------------- the store
class ReportStore(TableAccess):
    """The reports table (the function's TABLE_NAME, or `table`)."""

    # ------------------------------------------------------------ applying events
    def read(self, event: DomainEvent, orders: set[int], products: set[int], customers: set[int]) -> Rows:
        """The rows planning `event` needs (strongly consistent); Duplicate if its marker exists."""
        keys = [marker_key(event.event_id)]
        keys += [entity_key("order", i) for i in sorted(orders)]
        keys += [entity_key("product", i) for i in sorted(products)]
        keys += [entity_key("customer", i) for i in sorted(customers)]
        found = self.get_many(keys)
        if any(item["pk"].startswith("EVENT#") for item in found):
            raise Duplicate(event.event_id)
        by_kind: dict[str, list[dict[str, Any]]] = {}
        for item in found:
            by_kind.setdefault(str(item.get("kind")), []).append(item)
        return Rows(
            orders={row.id: row for row in map(order_of, by_kind.get("order", []))},
            products={row.id: row for row in map(product_of, by_kind.get("product", []))},
            customers={row.id: row for row in map(customer_of, by_kind.get("customer", []))},
        )

    def get_many(self, keys: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """BatchGetItem (consistent), in chunks, until nothing is left unprocessed."""
        out: list[dict[str, Any]] = []
        for start in range(0, len(keys), BATCH_GET):
            pending: dict[str, Any] = {
                self.table: {"Keys": [to_item(k) for k in keys[start : start + BATCH_GET]], "ConsistentRead": True}
            }
            attempt = 0
            while pending:
                answer = self.client.batch_get_item(RequestItems=pending)
                out += [from_item(item) for item in answer.get("Responses", {}).get(self.table, [])]
                pending = dict(answer.get("UnprocessedKeys") or {})
                if pending:
                    attempt += 1
                    time.sleep(min(0.05 * 2**attempt, 1.0) * random.random())  # jitter, not security
        return out

    def apply(self, event: DomainEvent, plan: Plan) -> None:
        """Write `plan` and `event`'s marker in one transaction. Duplicate: the marker exists;
        Stale: a row changed since it was read, or the transaction conflicted with another."""
        ops = [self._marker_op(event), *self._row_ops(plan), *self._sales_ops(plan.sales)]
        if len(ops) > MAX_TRANSACTION_ITEMS:
            raise ValueError(f"event {event.event_id} needs {len(ops)} writes; a transaction holds 100")
        try:
            self.client.transact_write_items(TransactItems=cast("list[TransactWriteItemTypeDef]", ops))
        except ClientError as exc:
            codes = cancellation_codes(exc)
            if not codes:
                raise
            if codes[0] == "ConditionalCheckFailed":
                raise Duplicate(event.event_id) from exc
            if any(code in ("ConditionalCheckFailed", "TransactionConflict") for code in codes):
                raise Stale(event.event_id) from exc
            raise

    def _marker_op(self, event: DomainEvent) -> dict[str, Any]:
        item = {
            **marker_key(event.event_id),
            "kind": "event",
            "detailType": event.detail_type,
            "entityId": event.detail.id,
            "version": event.detail.version,
            "occurredAt": event.occurred_at,
        }
        return {
            "Put": {"TableName": self.table, "Item": to_item(item), "ConditionExpression": "attribute_not_exists(pk)"}
        }

    def _row_ops(self, plan: Plan) -> Iterator[dict[str, Any]]:
        rows: list[tuple[str, int, Any]] = [
            *(("order", r.id, r) for r in plan.orders),
            *(("product", r.id, r) for r in plan.products),
            *(("customer", r.id, r) for r in plan.customers),
        ]
        for kind, entity_id, row in rows:
            expected = plan.expected[(kind, entity_id)]
            rev = (expected or 0) + 1
            item = _ITEMS[kind](row, rev)
            put: dict[str, Any] = {"TableName": self.table, "Item": to_item(item)}
            if expected is None:
                put["ConditionExpression"] = "attribute_not_exists(pk)"
            else:
                put["ConditionExpression"] = "#rev = :rev"
                put["ExpressionAttributeNames"] = {"#rev": "rev"}
                put["ExpressionAttributeValues"] = to_item({":rev": expected})
            yield {"Put": put}

    def _sales_ops(self, sales: Mapping[SalesKey, Counters]) -> Iterator[dict[str, Any]]:
        for key, delta in sales.items():
            yield {
                "Update": {
                    "TableName": self.table,
                    "Key": to_item(sales_key(key)),
                    "UpdateExpression": (
                        "SET #kind = :kind, #dim = :dim, #day = :day, #key = :key "
                        "ADD orders :orders, cancelled :cancelled, units :units, revenue :revenue"
                    ),
                    "ExpressionAttributeNames": {"#kind": "kind", "#dim": "dim", "#day": "day", "#key": "key"},
                    "ExpressionAttributeValues": to_item(
                        {
                            ":kind": "sales",
                            ":dim": key.dimension,
                            ":day": key.day,
                            ":key": key.key,
                            ":orders": delta.orders,
                            ":cancelled": delta.cancelled,
                            ":units": delta.units,
                            ":revenue": delta.revenue,
                        }
                    ),
                }
            }

    def advance_as_of(self, occurred_at: str) -> None:
        """`asOf` becomes `occurred_at` unless it is later already (events arrive in any order)."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key=to_item(META),
                UpdateExpression="SET asOf = :t",
                ConditionExpression="attribute_not_exists(asOf) OR asOf < :t",
                ExpressionAttributeValues=to_item({":t": occurred_at}),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    # ------------------------------------------------------------ reading reports
    def as_of(self) -> str | None:
        found = self.client.get_item(TableName=self.table, Key=to_item(META))
        value = from_item(found["Item"]).get("asOf") if "Item" in found else None
        return str(value) if value is not None else None

    def sales(self, dimension: Dimension, months: Iterable[str], first: str, last: str) -> list[SalesRow]:
        """The `dimension`'s rows of the days `first`..`last` (inclusive), one Query per month."""
        upper = last if dimension == "day" else f"{last}#~"  # "~" sorts after every id
        out = []
        for month in months:
            params: dict[str, Any] = {
                "TableName": self.table,
                "KeyConditionExpression": "pk = :pk AND sk BETWEEN :first AND :last",
                "ExpressionAttributeValues": to_item(
                    {":pk": sales_partition(dimension, month), ":first": first, ":last": upper}
                ),
            }
            while True:
                answer = self.client.query(**params)
                for item in map(from_item, answer.get("Items", [])):
                    key = SalesKey(dimension, str(item["day"]), str(item["key"]))
                    out.append(SalesRow(key, counters_of(item)))
                if "LastEvaluatedKey" not in answer:
                    break
                params["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        return out

    def names(self, kind: str, ids: Iterable[int]) -> dict[int, str | None]:
        """The names the projection last saw of these products or customers (None: none known)."""
        items = self.get_many([entity_key(kind, i) for i in sorted(set(ids))])
        rows = [product_of(i) for i in items] if kind == "product" else [customer_of(i) for i in items]
        return {row.id: row.name for row in rows}

    def stock_page(
        self, threshold: int | None, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[ProductRow], dict[str, Any] | None]:
        """Listed products lowest stock first: at or below `threshold`, or (None) each at or
        below its own threshold. The DynamoDB key to continue from, None at the end."""
        values: dict[str, Any]
        if threshold is None:
            index, condition, values = LOW_STOCK, "#p = :p", {":p": LOW}
        else:
            index, condition = BY_STOCK, "#p = :p AND stockOrder < :below"
            values = {":p": LISTED, ":below": stock_order(threshold + 1, 0)}
        params: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": {"#p": "low" if threshold is None else "listed"},
            "ExpressionAttributeValues": to_item(values),
            "Limit": limit,
        }
        if start:
            params["ExclusiveStartKey"] = start
        answer = self.client.query(**params)
        return [product_of(from_item(i)) for i in answer.get("Items", [])], answer.get("LastEvaluatedKey")
