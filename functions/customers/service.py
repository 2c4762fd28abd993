"""Customers domain logic."""

from __future__ import annotations

from customers.models import Customer, CustomerCreate, CustomerUpdate
from customers.repository import CustomerStore
from sales_common.listing import Page, fetch_page, scope_of
from sales_common.settings import load_settings

ENTITY = "customer"


def default_store() -> CustomerStore:
    return CustomerStore(load_settings(), ENTITY)


def list_customers(limit: int, cursor: str | None, store: CustomerStore | None = None) -> Page[Customer]:
    return fetch_page(store or default_store(), limit, cursor, Customer.model_validate, scope_of("/api/customers"))


def get_customer(customer_id: int, store: CustomerStore | None = None) -> Customer:
    return Customer.model_validate((store or default_store()).require(customer_id))


def create_customer(data: CustomerCreate, actor: str, store: CustomerStore | None = None) -> Customer:
    """Create a customer; 409 when another customer has the same email (case-insensitive)."""
    attributes = {**data.model_dump(), "createdBy": actor, "updatedBy": actor}
    return Customer.model_validate((store or default_store()).create_with_email(attributes))


def update_customer(
    customer_id: int,
    data: CustomerUpdate,
    expected_version: int | None,
    actor: str,
    store: CustomerStore | None = None,
) -> Customer:
    store = store or default_store()
    changes = {**data.model_dump(include=data.model_fields_set), "updatedBy": actor}
    new_email = changes.get("email")
    if new_email is None:
        return Customer.model_validate(store.update(customer_id, changes, expected_version))
    current = store.require(customer_id)
    version = expected_version if expected_version is not None else current["version"]
    if new_email.casefold() == current["email"].casefold():
        return Customer.model_validate(store.update(customer_id, changes, version))
    return Customer.model_validate(store.change_email(customer_id, changes, current["email"], version))


def delete_customer(customer_id: int, expected_version: int | None, store: CustomerStore | None = None) -> None:
    store = store or default_store()
    current = store.require(customer_id)
    version = expected_version if expected_version is not None else current["version"]
    store.delete_with_email(customer_id, current["email"], version)
