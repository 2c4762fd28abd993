"""Orders after placement: reads, status changes and deletion, all through `OrderStore`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orders.models import TRANSITIONS, Order, OrderStatus
from orders.repository import OrderStore
from orders.settings import OrderSettings
from sales_common.auth import require_owner
from sales_common.dynamo import Condition, Expected
from sales_common.errors import Conflict
from sales_common.listing import Page, fetch_page, scope_of
from sales_common.settings import load_settings

if TYPE_CHECKING:
    from sales_common.auth import Caller

FULFILLED = frozenset({OrderStatus.SHIPPED, OrderStatus.DELIVERED})


def _reader() -> OrderStore:
    return OrderStore(load_settings())


def _writer() -> OrderStore:
    """The store of the functions that change orders: they also restock the Products table."""
    settings = load_settings(OrderSettings)
    return OrderStore(settings, settings.PRODUCTS_TABLE_NAME)


# ---------------------------------------------------------------- the rules (no storage)
def check_transition(order: Order, status: OrderStatus) -> None:
    """CONFIRMED -> SHIPPED -> DELIVERED, CONFIRMED -> CANCELLED; any other change is a 409."""
    if status not in TRANSITIONS[order.status]:
        allowed = " or ".join(sorted(s.value for s in TRANSITIONS[order.status])) or "nothing: it is final"
        raise Conflict(
            f"Order {order.id} is {order.status.value}; it cannot become {status.value} (it can become {allowed})."
        )


def check_deletable(order: Order) -> None:
    """SHIPPED, DELIVERED: 409 -- a fulfilled order is the record of stock that left; deleting it
    would make those units vanish from the books."""
    if order.status in FULFILLED:
        raise Conflict(
            f"Order {order.id} is {order.status.value}; fulfilled orders cannot be deleted: they are the record of "
            "stock that left. Only CONFIRMED (restocked) and CANCELLED orders can be."
        )


# ---------------------------------------------------------------- reads
def list_orders(
    limit: int,
    cursor: str | None,
    customer_id: int | None = None,
    status: OrderStatus | None = None,
    created_by: str | None = None,
) -> Page[Order]:
    """Orders in id order: a customer's through the byCustomer index, else a user's through
    byCreator, else all; the other filters (status, and createdBy next to customerId) filter."""
    query: dict[str, Any] = {}
    filters: list[Condition] = []
    if customer_id is not None:
        query = {"index": "byCustomer", "key_condition": "customerId = :c", "values": {":c": customer_id}}
        if created_by is not None:
            filters.append(Condition("#createdBy = :by", {":by": created_by}, {"#createdBy": "createdBy"}))
    elif created_by is not None:
        query = {"index": "byCreator", "key_condition": "createdBy = :by", "values": {":by": created_by}}
    if status is not None:
        filters.append(Condition("#status = :status", {":status": status.value}, {"#status": "status"}))
    if filters:
        query["filter_by"] = Condition(
            " AND ".join(f.expression for f in filters),
            {k: v for f in filters for k, v in f.values.items()},
            {k: v for f in filters for k, v in f.names.items()},
        )
    scope = scope_of(
        "/api/orders",
        {"customerId": customer_id, "status": status.value if status else None, "createdBy": created_by},
    )
    return fetch_page(_reader(), limit, cursor, scope, **query)


def get_order(order_id: int) -> Order:
    return _reader().require(order_id)


# ---------------------------------------------------------------- changes
def change_status(order_id: int, status: OrderStatus, expected_version: Expected, actor: Caller) -> Order:
    """Move the order along its lifecycle; cancelling restocks (see `OrderStore.set_status`).
    A role limited to its own records (`sales`) may change only orders its user placed (403);
    `createdBy` never changes, so the check on the read order holds for the write."""
    store = _writer()
    order = store.require(order_id)
    require_owner(actor, order.created_by, f"order {order.id}")
    check_transition(order, status)
    return store.set_status(order, status, expected_version, actor.username)


def delete_order(order_id: int, expected_version: Expected, actor: Caller) -> None:
    """CONFIRMED: restock and delete atomically. CANCELLED: delete the record (it holds nothing).
    Fulfilled: 409 (`check_deletable`). Ownership as for `change_status`."""
    store = _writer()
    order = store.require(order_id)
    require_owner(actor, order.created_by, f"order {order.id}")
    check_deletable(order)
    store.remove(order, expected_version, actor.username)
