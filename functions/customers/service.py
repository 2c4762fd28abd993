"""Customers domain logic. Handlers call exactly one function here; storage goes through
`CustomerStore`, which returns `Customer` models and keeps emails unique."""

from __future__ import annotations

from customers.models import Customer, CustomerCreate, CustomerUpdate, email_identity
from customers.repository import CUSTOMER_LIST, CustomerStore, erased
from sales_common.dynamo import Expected
from sales_common.errors import BadRequest, PreconditionFailed
from sales_common.listing import Page, SortOrder, by_name_prefix, fetch_page, scope_of
from sales_common.settings import load_settings

# Erasure retries when the customer changes between its read and its write.
ERASE_ATTEMPTS = 5


def _store() -> CustomerStore:
    return CustomerStore(load_settings())


def list_customers(
    limit: int,
    cursor: str | None,
    email: str | None = None,
    q: str | None = None,
    order: SortOrder = SortOrder.ASC,
) -> Page[Customer]:
    """Customers in id order (byEntity); with `q`, those whose name starts with `q` in name order
    (byName); with `email`, the one customer with that address (its lock item: a page of 0 or 1).
    `order=desc` reverses. `email` and `q` do not combine (400)."""
    if email is not None and q is not None:
        raise BadRequest(
            "`email` and `q` do not combine: `email` finds one customer. Supported: email; q; neither; each with order."
        )
    store = _store()
    if email is not None:
        if cursor:
            raise BadRequest("`email` finds at most one customer: its list has no further pages (no cursor).")
        found = store.by_email(email)
        return Page([found] if found is not None else [], None)
    scope = scope_of("/api/customers", {"q": q, "order": None if order is SortOrder.ASC else order.value})
    query = by_name_prefix(CUSTOMER_LIST, q) if q is not None else {}
    return fetch_page(store, limit, cursor, scope, forward=order is SortOrder.ASC, **query)


def get_customer(customer_id: int) -> Customer:
    return _store().require(customer_id)


def create_customer(data: CustomerCreate, actor: str) -> Customer:
    """Create a customer; 409 when another customer has the same email (see `email_identity`)."""
    return _store().create_with_email({**data.model_dump(), "createdBy": actor, "updatedBy": actor})


def update_customer(customer_id: int, data: CustomerUpdate, expected_version: Expected, actor: str) -> Customer:
    """Change the given fields; an email with another identity moves its lock (409 if taken). An
    erased customer cannot be changed (409)."""
    store = _store()
    changes = {**data.model_dump(include=data.model_fields_set), "updatedBy": actor}
    new_email = changes.get("email")
    if new_email is None:
        return store.change(customer_id, changes, expected_version)
    current = store.require(customer_id)
    if current.email is None:  # erased
        raise erased(customer_id)({"erasedAt": current.erased_at})
    version = expected_version if expected_version is not None else current.version
    if email_identity(new_email) == email_identity(current.email):
        return store.change(customer_id, changes, version)
    return store.change_email(customer_id, changes, current.email, version)


def delete_customer(customer_id: int, expected_version: Expected, actor: str) -> None:
    """Delete a customer no order refers to (and free its email); one with orders is a 409 that
    points at erasure."""
    store = _store()
    current = store.require(customer_id)
    version = expected_version if expected_version is not None else current.version
    store.delete_unreferenced(current, version, actor)


def erase_customer(customer_id: int, actor: str) -> Customer:
    """GDPR Art. 17: remove the customer's personal data (name, email, phone, address), free its
    email, keep its id and its orders, and record when and by whom. Idempotent: an erased
    customer is answered as it is."""
    store = _store()
    for _ in range(ERASE_ATTEMPTS):
        current = store.require(customer_id)
        if current.erased_at is not None:
            return current
        try:
            return store.erase(current, actor)
        except PreconditionFailed:
            continue  # changed (or erased) since read: look again
    return store.erase(store.require(customer_id), actor)
