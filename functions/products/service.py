"""Products domain logic. Handlers call exactly one function here; storage goes through
`ProductStore`, which returns `Product` models."""

from __future__ import annotations

from products.models import (
    Product,
    ProductCreate,
    ProductListStatus,
    ProductUpdate,
    StockAdjustment,
    StockAdjustmentCreate,
)
from products.repository import ProductStore
from sales_common.dynamo import PRODUCT, Expected
from sales_common.errors import BadRequest, PreconditionRequired
from sales_common.listing import (
    Page,
    SortOrder,
    by_name_prefix,
    by_status,
    fetch,
    fetch_page,
    scope_of,
    status_list,
)
from sales_common.settings import load_settings


def _store() -> ProductStore:
    return ProductStore(load_settings())


def list_products(
    limit: int,
    cursor: str | None,
    status: ProductListStatus | None = None,
    q: str | None = None,
    order: SortOrder = SortOrder.ASC,
) -> Page[Product]:
    """Active products unless `status` asks for the archived ones or all (each its own index
    partition: no filtering, so pages are full), in id order; with `q`, those of one status whose
    name starts with `q` (byName), in name order. `order=desc` reverses either."""
    shown = status or ProductListStatus.ACTIVE
    if q is not None and shown is ProductListStatus.ALL:
        raise BadRequest(
            "`q` searches the products of one status: combine it with status=ACTIVE (the default) or "
            "status=ARCHIVED, not status=ALL. Supported: status; status + q (ACTIVE or ARCHIVED); each with order."
        )
    query = by_status(PRODUCT, shown.value) if q is None else by_name_prefix(status_list(PRODUCT, shown.value), q)
    # The status is always in the scope: a cursor of the list as it was before statuses (another
    # index, another key shape) is refused as stale (400) instead of reaching DynamoDB.
    # `order` only when desc: cursors issued before it existed stay valid.
    descending = None if order is SortOrder.ASC else order.value
    scope = scope_of("/api/products", {"status": shown.value, "q": q, "order": descending})
    return fetch_page(_store(), limit, cursor, scope, forward=order is SortOrder.ASC, **query)


def get_product(product_id: int) -> Product:
    return _store().require(product_id)


def create_product(data: ProductCreate, actor: str) -> Product:
    return _store().create({**data.model_dump(by_alias=True), "createdBy": actor, "updatedBy": actor})


def update_product(product_id: int, data: ProductUpdate, expected_version: Expected, actor: str) -> Product:
    """Change the given fields. The write is conditional on the version when If-Match is sent.
    Setting `stock` requires it (428 otherwise): an absolute stock written blind would erase the
    units orders took since the client read it. Relative changes go through `adjust_stock`.
    `status` archives (hidden from the list, refused in new orders) or unarchives."""
    changes = {**data.model_dump(include=data.model_fields_set, by_alias=True), "updatedBy": actor}
    if "stock" in changes and expected_version is None:
        raise PreconditionRequired(
            "Setting stock needs If-Match with the version you read (its ETag), so that units taken by "
            "orders since are not overwritten; or POST a relative change to "
            f"/api/products/{product_id}/stock-adjustments."
        )
    return _store().update_product(product_id, changes, expected_version)


def delete_product(product_id: int, expected_version: Expected, actor: str) -> None:
    """Delete a product no order refers to; one that orders refer to is a 409 (archive it)."""
    _store().delete_unreferenced(product_id, expected_version, actor)


def adjust_stock(product_id: int, data: StockAdjustmentCreate, actor: str) -> Product:
    """Add `data.delta` to the stock atomically (never below 0: 409), with an audit record of who."""
    return _store().adjust_stock(product_id, data.delta, data.reason, actor)


def list_stock_adjustments(
    product_id: int, limit: int, cursor: str | None, order: SortOrder = SortOrder.DESC
) -> Page[StockAdjustment]:
    """The product's stock history, newest first (`order=asc`: oldest first); 404 for a product
    that does not exist."""
    store = _store()
    store.require(product_id)
    newest_first = order is SortOrder.DESC
    # A newest-first cursor keeps its scope as before (no order in it), so links issued earlier go on working.
    scope = scope_of(f"/api/products/{product_id}/stock-adjustments", None if newest_first else {"order": "asc"})
    return fetch(lambda n, start: store.history_page(product_id, n, start, newest_first), limit, cursor, scope)
