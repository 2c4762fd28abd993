"""Products domain logic. Handlers call exactly one function here; storage goes through
`ProductStore`, which returns `Product` models."""

from __future__ import annotations

from products.models import Product, ProductCreate, ProductUpdate, StockAdjustmentCreate
from products.repository import ProductStore
from sales_common.dynamo import Expected
from sales_common.errors import PreconditionRequired
from sales_common.listing import Page, fetch_page, scope_of
from sales_common.settings import load_settings


def _store() -> ProductStore:
    return ProductStore(load_settings())


def list_products(limit: int, cursor: str | None) -> Page[Product]:
    return fetch_page(_store(), limit, cursor, scope_of("/api/products"))


def get_product(product_id: int) -> Product:
    return _store().require(product_id)


def create_product(data: ProductCreate, actor: str) -> Product:
    return _store().create({**data.model_dump(by_alias=True), "createdBy": actor, "updatedBy": actor})


def update_product(product_id: int, data: ProductUpdate, expected_version: Expected, actor: str) -> Product:
    """Change the given fields. The write is conditional on the version when If-Match is sent.
    Setting `stock` requires it (428 otherwise): an absolute stock written blind would erase the
    units orders took since the client read it. Relative changes go through `adjust_stock`."""
    changes = {**data.model_dump(include=data.model_fields_set, by_alias=True), "updatedBy": actor}
    if "stock" in changes and expected_version is None:
        raise PreconditionRequired(
            "Setting stock needs If-Match with the version you read (its ETag), so that units taken by "
            "orders since are not overwritten; or POST a relative change to "
            f"/api/products/{product_id}/stock-adjustments."
        )
    return _store().update(product_id, changes, expected_version)


def delete_product(product_id: int, expected_version: Expected, actor: str) -> None:
    _store().delete(product_id, actor, expected_version)


def adjust_stock(product_id: int, data: StockAdjustmentCreate, actor: str) -> Product:
    """Add `data.delta` to the stock atomically (never below 0: 409), with an audit record of who."""
    return _store().adjust_stock(product_id, data.delta, data.reason, actor)
