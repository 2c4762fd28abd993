"""Product storage beyond plain CRUD: the status lists, deletes refused while orders refer to the
product, and relative stock adjustments with their audit records (the stock history)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from products.models import Product, ProductStatus, StockAdjustment
from sales_common.dynamo import (
    ENTITY_INDEX,
    LIST_INDEX,
    LIST_KEY,
    LIST_SORT,
    PRODUCT,
    REFERENCED,
    Condition,
    EntityStore,
    Expected,
    from_item,
    is_conditional_failure,
    list_attributes,
    now_iso,
    to_item,
)
from sales_common.errors import Conflict, NotFound
from sales_common.listing import NAME_INDEX, NAME_SORT, name_sort, status_list
from sales_common.models import MAX_STOCK

ADJUSTMENT_PREFIX = "STOCKADJ#"
# A stock adjustment's audit record waits on the product as `adj_<id>` (with `adj_<id>_stock`
# and `adj_<id>_version`) until it is moved to `STOCKADJ#<product>#<id>`.
PENDING_PREFIX = "adj_"
# The SDK sends a write again when its answer is lost (a timeout, a 5xx), with the same entry name:
# the entry still on the product is how that retry is recognised as a write already applied. An
# invocation lives at most 15 minutes (Lambda's limit), so after that no retry of an adjustment can
# still come, and another adjustment may move its entry (an entry whose own move failed).
RETRY_WINDOW = timedelta(minutes=15)
_log = logging.getLogger(__name__)


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
    # every stock change rewrites the product: its lists project keys only (docs/adr/0039)
    keys_only = frozenset({ENTITY_INDEX, LIST_INDEX, NAME_INDEX})

    def new_item(self, entity_id: int, attributes: Mapping[str, Any]) -> dict[str, Any]:
        """A new product is ACTIVE and in the byList list of its status, sorted by id, and in that
        list's byName partition, sorted by name."""
        item = super().new_item(entity_id, {"status": ProductStatus.ACTIVE.value, **attributes})
        listed = list_attributes(status_list(PRODUCT, item["status"]), entity_id)
        return {**item, **listed, NAME_SORT: name_sort(item["name"], entity_id)}

    def update_product(self, product_id: int, changes: dict[str, Any], expected_version: Expected) -> Product:
        """Apply `changes`; a status change also moves the product to that status's lists, a
        name change moves it in byName. Other changes leave the list attributes alone."""
        if "status" in changes:
            changes = {**changes, LIST_KEY: status_list(PRODUCT, changes["status"]), LIST_SORT: product_id}
        if "name" in changes:
            changes = {**changes, NAME_SORT: name_sort(changes["name"], product_id)}
        return self.update(product_id, changes, expected_version)

    def delete_unreferenced(self, product_id: int, expected_version: Expected, actor: str) -> None:
        """Delete the product unless an order refers to it (409: archive it instead). The
        reference mark is set by the reservation that takes its stock (PlaceOrder's Reserve) in the
        same conditional write, so a delete racing a placement either lands first (the reservation
        then finds no product) or is refused (docs/adr/0020)."""
        self.delete(
            product_id, actor, expected_version, condition=NOT_REFERENCED, refused=lambda _: _referenced(product_id)
        )

    # ------------------------------------------------------------------ stock history
    def adjust_stock(self, product_id: int, delta: int, reason: str, actor: str) -> Product:
        """Add `delta` to the product's stock, conditional on it existing and the stock staying
        within 0..MAX_STOCK (409 otherwise, nothing changed), with no read first: concurrent
        orders and other adjustments all compose. The same single-item write keeps the audit
        record on the product as a pending entry, with the exact stock and version it produced
        (DynamoDB evaluates `stock + :delta` and `version + :one` on the item it changes); a
        second write then moves the entry to its own record in the stock history (docs/adr/0022).
        Returns the product as this adjustment left it."""
        adjustment_id = uuid.uuid4().hex
        entry = f"{PENDING_PREFIX}{adjustment_id}"
        record = {"delta": delta, "reason": reason, "createdAt": now_iso(), "createdBy": actor}
        try:
            result = self.client.update_item(
                TableName=self.table,
                Key=self.key(product_id),
                # lastAdjustment: the product's own record of this change, which its stream record
                # carries to the StockAdjusted event (functions/events/mapping.py)
                UpdateExpression=(
                    "SET stock = stock + :delta, updatedAt = :now, updatedBy = :by, lastAdjustment = :adjustment, "
                    "#entry = :record, #after = stock + :delta, #made = version + :one ADD version :one"
                ),
                # attribute_not_exists(#entry): the SDK's retry of this very write, applied already
                ConditionExpression=(
                    "attribute_exists(pk) AND attribute_not_exists(#entry) AND stock >= :floor AND stock <= :ceiling"
                ),
                ExpressionAttributeNames={"#entry": entry, "#after": f"{entry}_stock", "#made": f"{entry}_version"},
                ExpressionAttributeValues=to_item(
                    {
                        ":delta": delta,
                        ":now": record["createdAt"],
                        ":by": actor,
                        ":record": record,
                        ":adjustment": {"id": adjustment_id, "delta": delta, "reason": reason},
                        ":one": 1,
                        ":floor": max(0, -delta),
                        ":ceiling": MAX_STOCK - max(0, delta),
                    }
                ),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",  # the item: 404 or 409, no extra read
            )
            item = from_item(result["Attributes"])
        except ClientError as exc:
            applied = self._applied_already(exc, entry)
            if applied is None:
                raise self._refused_adjustment(exc, product_id, delta) from exc
            item = applied
        self.complete_history(product_id, item, entry)
        return Product.model_validate(item)

    @staticmethod
    def _applied_already(exc: ClientError, entry: str) -> dict[str, Any] | None:
        """The product as the adjustment whose pending entry is `entry` left it, when the failed
        write was the SDK's retry of that adjustment, applied already (its first answer lost): the
        entry is on the product, with the stock and version it produced."""
        old: Mapping[str, Any] | None = exc.response.get("Item") if is_conditional_failure(exc) else None  # type: ignore[assignment]
        if not old or entry not in old:
            return None
        item = from_item(old)
        return {**item, "stock": item[f"{entry}_stock"], "version": item[f"{entry}_version"]}

    def _refused_adjustment(self, exc: ClientError, product_id: int, delta: int) -> Exception:
        if not is_conditional_failure(exc):
            return exc
        old: Mapping[str, Any] | None = exc.response.get("Item")  # type: ignore[assignment]
        if not old:
            return NotFound(f"Product {product_id} does not exist.")
        stock = int(from_item(old)["stock"])
        return Conflict(
            f"Product {product_id} has {stock} in stock; adjusting by {delta} would leave "
            f"{stock + delta}, outside 0..{MAX_STOCK}. Nothing changed."
        )

    def complete_history(self, product_id: int, item: Mapping[str, Any], own: str) -> None:
        """Move this adjustment's pending entry (`own`) on the product (`item`, as stored) to its
        record in the stock history: one transaction, the record's Put and the entry's removal
        (which changes nothing else: no version, no updatedAt). Entries left by an adjustment whose
        move failed are moved by the next adjustment of the product once they are older than
        RETRY_WINDOW (until then the SDK may still retry their write, which must find them). A
        move that fails is logged and left for later: the stock change it records has happened
        either way."""
        settled = now_iso(ago=RETRY_WINDOW)
        for entry in (k for k in item if k.startswith(PENDING_PREFIX) and k.count("_") == 1):
            if entry != own and str(item[entry].get("createdAt", "")) > settled:
                continue
            try:
                self.transact(self._move_ops(product_id, entry, item))
            except ClientError as exc:
                if not is_conditional_failure(exc):  # a condition: someone else moved it already
                    _log.warning("stock adjustment %s of product %s not moved yet", entry, product_id, exc_info=exc)

    def _move_ops(self, product_id: int, entry: str, item: Mapping[str, Any]) -> list[dict[str, Any]]:
        record = item[entry]
        audit = {
            "pk": adjustment_key(product_id, entry.removeprefix(PENDING_PREFIX)),
            "adjustmentId": entry.removeprefix(PENDING_PREFIX),
            "productId": product_id,
            **record,
            "stockAfter": int(item[f"{entry}_stock"]),
            **list_attributes(history_list(product_id), int(item[f"{entry}_version"])),
        }
        return [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_item(audit),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Update": {
                    "TableName": self.table,
                    "Key": self.key(product_id),
                    "UpdateExpression": "REMOVE #entry, #after, #made",
                    "ConditionExpression": "attribute_exists(#entry)",
                    "ExpressionAttributeNames": {
                        "#entry": entry,
                        "#after": f"{entry}_stock",
                        "#made": f"{entry}_version",
                    },
                }
            },
        ]

    def history_page(
        self, product_id: int, limit: int, start_key: dict[str, Any] | None, newest_first: bool = True
    ) -> tuple[list[StockAdjustment], dict[str, Any] | None]:
        """One page of the product's stock adjustments, newest first unless not `newest_first`
        (byList, no Scan)."""
        return self.query(
            StockAdjustment,
            limit,
            start_key,
            LIST_INDEX,
            f"{LIST_KEY} = :list",
            {":list": history_list(product_id)},
            forward=not newest_first,
        )
