"""Read-only price quote from the Products table.

Step Functions' JSONPath intrinsics cannot multiply decimals, so line totals are computed here,
exactly, from a quote; the workflow then reserves stock on the condition that the price is still
the quoted one. A price change between quote and reservation fails the reservation, so the
stored prices are always the catalog's at reservation time."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from sales_common.dynamo import TableAccess, from_item, product_key

ARCHIVED = "ARCHIVED"  # products.models.ProductStatus.ARCHIVED (the Orders service has no Products code)

if TYPE_CHECKING:
    from orders.settings import OrderSettings


@dataclass(frozen=True)
class Quote:
    product_id: int
    name: str
    price: Decimal
    stock: int
    archived: bool = False


class Catalog(TableAccess):
    """Reads the Products table (PRODUCTS_TABLE_NAME) of an Orders function."""

    def __init__(self, settings: OrderSettings) -> None:
        super().__init__(settings, settings.PRODUCTS_TABLE_NAME)

    def quote(self, product_ids: list[int]) -> dict[int, Quote]:
        """Current name, price, stock and status of the given products that exist."""
        keys = [product_key(pid) for pid in product_ids]
        found: dict[int, Quote] = {}
        request = {
            self.table: {"Keys": keys, "ConsistentRead": True, "ProjectionExpression": "id, #n, price, stock, #s"}
        }
        request[self.table]["ExpressionAttributeNames"] = {"#n": "name", "#s": "status"}
        while request:
            result = self.client.batch_get_item(RequestItems=request)  # type: ignore[arg-type]
            for raw in result["Responses"].get(self.table, []):
                item = from_item(raw)
                archived = item.get("status") == ARCHIVED
                found[int(item["id"])] = Quote(
                    int(item["id"]), item["name"], item["price"], int(item["stock"]), archived
                )
            request = result.get("UnprocessedKeys") or {}  # type: ignore[assignment]
        return found
