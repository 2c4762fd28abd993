"""Product storage beyond plain CRUD: the status lists, deletes refused while orders refer to the
product, and relative stock adjustments with their audit records (the stock history)."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from products.models import Product, ProductStatus, StockAdjustment
from sales_common.dynamo import (
    LIST_INDEX,
    LIST_KEY,
    LIST_SORT,
    PRODUCT,
    REFERENCED,
    Condition,
    EntityStore,
    cancellation_codes,
    from_item,
    list_attributes,
    now_iso,
    to_item,
)
from sales_common.errors import Conflict, NotFound, ServiceUnavailable
from sales_common.listing import status_list
from sales_common.models import MAX_STOCK

ADJUSTMENT_PREFIX = "STOCKADJ#"
# A stock adjustment conditions on the version it read; when an order or another adjustment lands
# in between, it retries from the version the failure returns (no extra read).
ADJUST_ATTEMPTS = 12


def adjustment_key(product_id: int, adjustment_id: str) -> str:
    return f"{ADJUSTMENT_PREFIX}{product_id}#{adjustment_id}"


def history_list(product_id: int) -> str:
    """The byList list of product `product_id`'s stock adjustments (sorted by the product version
    each one produced: the order they were applied in)."""
    return f"stockadj#{product_id}"


def _referenced(product_id: int) -> Conflict:
    return Conflict(
        f"Product {product_id} is referenced by orders, so deleting it would break their record. "
        f'Archive it instead: PUT /api/products/{product_id} {{"status": "ARCHIVED"}} hides it from the '
        "list and from new orders and keeps its orders intact."
    )


NOT_REFERENCED = Condition("attribute_not_exists(#ref)", names={"#ref": REFERENCED})


class ProductStore(EntityStore[Product]):
    entity = PRODUCT
    model = Product

    def new_item(self, entity_id: int, attributes: Mapping[str, Any]) -> dict[str, Any]:
        """A new product is ACTIVE and in the byList list of its status, sorted by id."""
        item = super().new_item(entity_id, {"status": ProductStatus.ACTIVE.value, **attributes})
        return {**item, **list_attributes(status_list(PRODUCT, item["status"]), entity_id)}

    def update_product(self, product_id: int, changes: dict[str, Any], expected_version: int | None) -> Product:
        """Apply `changes`; a status change also moves the product to that status's list."""
        if "status" in changes:
            changes = {**changes, LIST_KEY: status_list(PRODUCT, changes["status"]), LIST_SORT: product_id}
        return self.update(product_id, changes, expected_version)

    def delete_unreferenced(self, product_id: int, expected_version: int | None, actor: str) -> None:
        """Delete the product unless an order refers to it (409: archive it instead). The
        reference mark is set by the reservation that takes its stock (PlaceOrder's Reserve) in the
        same conditional write, so a delete racing a placement either lands first (the reservation
        then finds no product) or is refused (docs/adr/0020)."""
        self.delete(
            product_id, actor, expected_version, condition=NOT_REFERENCED, refused=lambda _: _referenced(product_id)
        )

    # ------------------------------------------------------------------ stock history
    def adjust_stock(self, product_id: int, delta: int, reason: str, actor: str) -> Product:
        """Add `delta` to the product's stock in one transaction with its audit record (delta,
        reason, stock after, time, who), conditional on the product still being at the version
        read and the stock staying within 0..MAX_STOCK (409 otherwise, nothing changed). A write
        that lands in between (an order, another adjustment) fails the condition, which returns
        the product as it now is: the adjustment is retried from there. The audit record's sort
        key in the history is the version the adjustment produced, so the history is exactly the
        order the adjustments were applied in, each with its exact `stockAfter`."""
        current = self.require(product_id)
        for attempt in range(ADJUST_ATTEMPTS):
            after = current.stock + delta
            if not 0 <= after <= MAX_STOCK:
                raise Conflict(
                    f"Product {product_id} has {current.stock} in stock; adjusting by {delta} would leave "
                    f"{after}, outside 0..{MAX_STOCK}. Nothing changed."
                )
            stamp, version = now_iso(), current.version + 1
            try:
                self.transact(self._adjustment_ops(current, delta, reason, actor, stamp))
            except ClientError as exc:
                current = self._after_lost_race(exc, product_id)
                time.sleep(random.uniform(0, 0.005 * 2 ** min(attempt, 6)))
                continue
            changes = {"stock": after, "version": version, "updated_at": stamp, "updated_by": actor}
            return current.model_copy(update=changes)
        raise ServiceUnavailable(f"Product {product_id} changed too often to adjust its stock; nothing changed. Retry.")

    def _adjustment_ops(
        self, current: Product, delta: int, reason: str, actor: str, stamp: str
    ) -> list[dict[str, Any]]:
        after, version = current.stock + delta, current.version + 1
        update = {
            "TableName": self.table,
            "Key": self.key(current.id),
            "UpdateExpression": "SET stock = :after, updatedAt = :now, updatedBy = :by ADD version :one",
            "ConditionExpression": "attribute_exists(pk) AND version = :read",
            "ExpressionAttributeValues": to_item(
                {":after": after, ":now": stamp, ":by": actor, ":one": 1, ":read": current.version}
            ),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        adjustment_id = str(uuid.uuid4())
        audit = {
            "TableName": self.table,
            "Item": to_item(
                {
                    "pk": adjustment_key(current.id, adjustment_id),
                    "adjustmentId": adjustment_id,
                    "productId": current.id,
                    "delta": delta,
                    "reason": reason,
                    "stockAfter": after,
                    "createdAt": stamp,
                    "createdBy": actor,
                    **list_attributes(history_list(current.id), version),
                }
            ),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        return [{"Update": update}, {"Put": audit}]

    def _after_lost_race(self, exc: ClientError, product_id: int) -> Product:
        """The product as it is now, from a failed adjustment (its condition returns the item);
        NotFound if it is gone; anything else propagates."""
        codes = cancellation_codes(exc)
        if not codes or codes[0] != "ConditionalCheckFailed":
            raise exc
        reasons: list[dict[str, Any]] = exc.response.get("CancellationReasons", [{}])  # type: ignore[assignment]
        old = reasons[0].get("Item")
        if not old:
            raise NotFound(f"Product {product_id} does not exist.") from exc
        return Product.model_validate(from_item(old))

    def history_page(
        self, product_id: int, limit: int, start_key: dict[str, Any] | None
    ) -> tuple[list[StockAdjustment], dict[str, Any] | None]:
        """One page of the product's stock adjustments, newest first (byList, no Scan)."""
        return self.query(
            StockAdjustment,
            limit,
            start_key,
            LIST_INDEX,
            f"{LIST_KEY} = :list",
            {":list": history_list(product_id)},
            forward=False,
        )
