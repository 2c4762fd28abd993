"""Products domain logic. Handlers call exactly one function here; storage goes through
`EntityStore`, injected so tests can substitute it."""

from __future__ import annotations

from products.models import Product, ProductCreate, ProductUpdate
from sales_common.dynamo import EntityStore
from sales_common.listing import Page, fetch_page, scope_of
from sales_common.settings import load_settings

ENTITY = "product"


def default_store() -> EntityStore:
    return EntityStore(load_settings(), ENTITY)


def list_products(limit: int, cursor: str | None, store: EntityStore | None = None) -> Page[Product]:
    return fetch_page(store or default_store(), limit, cursor, Product.model_validate, scope_of("/api/products"))


def get_product(product_id: int, store: EntityStore | None = None) -> Product:
    return Product.model_validate((store or default_store()).require(product_id))


def create_product(data: ProductCreate, store: EntityStore | None = None) -> Product:
    return Product.model_validate((store or default_store()).create(data.model_dump()))


def update_product(
    product_id: int, data: ProductUpdate, expected_version: int | None, store: EntityStore | None = None
) -> Product:
    """Change the given fields. The write is conditional on the version when If-Match is sent,
    and stock is assigned in the same atomic update, so a concurrent order (which bumps the
    version) is never silently overwritten by a client that read an older version."""
    changes = data.model_dump(include=data.model_fields_set)
    return Product.model_validate((store or default_store()).update(product_id, changes, expected_version))


def delete_product(product_id: int, expected_version: int | None, store: EntityStore | None = None) -> None:
    (store or default_store()).delete(product_id, expected_version)
