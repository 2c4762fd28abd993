"""Product storage beyond plain CRUD: relative stock adjustments with their audit records."""

from __future__ import annotations

import uuid

from botocore.exceptions import ClientError

from products.models import Product
from sales_common.dynamo import PRODUCT, EntityStore, cancellation_codes, now_iso, to_item
from sales_common.errors import Conflict
from sales_common.models import MAX_STOCK


def adjustment_key(product_id: int, adjustment_id: str) -> str:
    return f"STOCKADJ#{product_id}#{adjustment_id}"


class ProductStore(EntityStore[Product]):
    entity = PRODUCT
    model = Product

    def adjust_stock(self, product_id: int, delta: int, reason: str, actor: str) -> Product:
        """Add `delta` to the product's stock in one transaction with its audit record
        (`STOCKADJ#<product>#<uuid>`: delta, reason, time, who), conditional on the product existing
        and the stock staying within 0..MAX_STOCK. The product keeps the adjustment's id, delta and
        reason as `lastAdjustment` (internal: the domain events read it from the product's change).
        No read first: concurrent orders and other adjustments all compose. Returns the product as
        it stands right after (a strongly consistent read: its stock includes this adjustment and
        any write that landed since)."""
        stamp = now_iso()
        adjustment_id = str(uuid.uuid4())
        update = {
            "TableName": self.table,
            "Key": self.key(product_id),
            # lastAdjustment: the product's own record of this change (its stream record carries
            # delta and reason, so the StockAdjusted event follows the product's version order)
            "UpdateExpression": (
                "SET updatedAt = :now, updatedBy = :by, lastAdjustment = :adjustment ADD stock :delta, version :one"
            ),
            "ConditionExpression": "attribute_exists(pk) AND stock >= :floor AND stock <= :ceiling",
            "ExpressionAttributeValues": to_item(
                {
                    ":now": stamp,
                    ":by": actor,
                    ":adjustment": {"id": adjustment_id, "delta": delta, "reason": reason},
                    ":delta": delta,
                    ":one": 1,
                    ":floor": max(0, -delta),
                    ":ceiling": MAX_STOCK - max(0, delta),
                }
            ),
        }
        audit = {
            "TableName": self.table,
            "Item": to_item(
                {
                    "pk": adjustment_key(product_id, adjustment_id),
                    "adjustmentId": adjustment_id,
                    "productId": product_id,
                    "delta": delta,
                    "reason": reason,
                    "createdAt": stamp,
                    "createdBy": actor,
                }
            ),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        try:
            self.transact([{"Update": update}, {"Put": audit}])
        except ClientError as exc:
            codes = cancellation_codes(exc)
            if not codes or codes[0] != "ConditionalCheckFailed":
                raise
            current = self.require(product_id)  # 404 when it does not exist
            raise Conflict(
                f"Product {product_id} has {current.stock} in stock; adjusting by {delta} would leave "
                f"{current.stock + delta}, outside 0..{MAX_STOCK}. Nothing changed."
            ) from exc
        return self.require(product_id)
