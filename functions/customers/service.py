"""Customers domain logic. Handlers call exactly one function here; storage goes through
`CustomerStore`, which returns `Customer` models and keeps emails unique."""

from __future__ import annotations

from customers.models import Customer, CustomerCreate, CustomerUpdate
from customers.repository import CustomerStore
from sales_common.dynamo import Expected
from sales_common.listing import Page, fetch_page, scope_of
from sales_common.settings import load_settings


def _store() -> CustomerStore:
    return CustomerStore(load_settings())


def list_customers(limit: int, cursor: str | None) -> Page[Customer]:
    return fetch_page(_store(), limit, cursor, scope_of("/api/customers"))


def get_customer(customer_id: int) -> Customer:
    return _store().require(customer_id)


def create_customer(data: CustomerCreate, actor: str) -> Customer:
    """Create a customer; 409 when another customer has the same email (case-insensitive)."""
    return _store().create_with_email({**data.model_dump(), "createdBy": actor, "updatedBy": actor})


def update_customer(customer_id: int, data: CustomerUpdate, expected_version: Expected, actor: str) -> Customer:
    store = _store()
    changes = {**data.model_dump(include=data.model_fields_set), "updatedBy": actor}
    new_email = changes.get("email")
    if new_email is None:
        return store.update(customer_id, changes, expected_version)
    current = store.require(customer_id)
    version = expected_version if expected_version is not None else current.version
    if new_email.casefold() == current.email.casefold():
        return store.update(customer_id, changes, version)
    return store.change_email(customer_id, changes, current.email, version)


def delete_customer(customer_id: int, expected_version: Expected, actor: str) -> None:
    store = _store()
    current = store.require(customer_id)
    version = expected_version if expected_version is not None else current.version
    store.delete_with_email(customer_id, current.email, version, actor)
