"""Products domain logic. Handlers call exactly one function here; storage goes through
`EntityStore`, injected so tests can substitute it."""

from __future__ import annotations

from products.models import Product, ProductCreate, ProductUpdate, StockAdjustmentCreate
from products.repository import ProductStore
from sales_common.dynamo import EntityStore
from sales_common.errors import PreconditionRequired
from sales_common.listing import Page, fetch_page, scope_of
from sales_common.settings import load_settings

ENTITY = "product"


def default_store() -> ProductStore:
    return ProductStore(load_settings(), ENTITY)


def list_products(limit: int, cursor: str | None, store: EntityStore | None = None) -> Page[Product]:
    return fetch_page(store or default_store(), limit, cursor, Product.model_validate, scope_of("/api/products"))


def get_product(product_id: int, store: EntityStore | None = None) -> Product:
    return Product.model_validate((store or default_store()).require(product_id))


def create_product(data: ProductCreate, actor: str, store: EntityStore | None = None) -> Product:
    attributes = {**data.model_dump(), "createdBy": actor, "updatedBy": actor}
    return Product.model_validate((store or default_store()).create(attributes))


def update_product(
    product_id: int, data: ProductUpdate, expected_version: int | None, actor: str, store: EntityStore | None = None
) -> Product:
    """Change the given fields. The write is conditional on the version when If-Match is sent.
    Setting `stock` requires it (428 otherwise): an absolute stock written blind would erase the
    units orders took since the client read it. Relative changes go through `adjust_stock`."""
    changes = {**data.model_dump(include=data.model_fields_set), "updatedBy": actor}
    if "stock" in changes and expected_version is None:
        raise PreconditionRequired(
            "Setting stock needs If-Match with the version you read (its ETag), so that units taken by "
            "orders since are not overwritten; or POST a relative change to "
            f"/api/products/{product_id}/stock-adjustments."
        )
    return Product.model_validate((store or default_store()).update(product_id, changes, expected_version))


def delete_product(product_id: int, expected_version: int | None, store: EntityStore | None = None) -> None:
    (store or default_store()).delete(product_id, expected_version)


def adjust_stock(
    product_id: int, data: StockAdjustmentCreate, actor: str, store: ProductStore | None = None
) -> Product:
    """Add `data.delta` to the stock atomically (never below 0: 409), with an audit record of who."""
    store = store or default_store()
    return Product.model_validate(store.adjust_stock(product_id, data.delta, data.reason, actor))
