"""Orders after placement: reads, status changes and deletion, all through `OrderStore`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orders.models import TRANSITIONS, Order, OrderStatus
from orders.repository import ALL_ORDERS, BY_CREATOR, BY_CUSTOMER, BY_STATUS, OrderStore
from orders.settings import OrderSettings
from sales_common.auth import require_owner
from sales_common.dynamo import Condition, Expected
from sales_common.errors import BadRequest, Conflict
from sales_common.listing import Page, SortOrder, fetch_sharded, scope_of, time_range
from sales_common.settings import load_settings

if TYPE_CHECKING:
    from sales_common.auth import Caller
    from sales_common.shards import ShardedIndex

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
    first: str | None = None,
    end: str | None = None,
    order: SortOrder = SortOrder.ASC,
) -> Page[Order]:
    """One page of orders, each filter combination from the index partition that holds exactly
    its orders (docs/adr/0031): a customer's (byCustomer), a user's (byCreator), a status's
    (byStatus) or all (byEntity); in id order, or with `first` (included) / `end` (excluded),
    both `utc_instant`s, in time order on the same partition's time index. Next to `customerId`,
    `status` and `createdBy` filter that one customer's orders; `createdBy` with `status` has no
    index (one busy account's orders would be read whole to fill a page) and is refused (400)."""
    if customer_id is None and created_by is not None and status is not None:
        raise BadRequest(UNSUPPORTED_COMBINATION)
    dated = first is not None or end is not None
    lists: tuple[ShardedIndex, ShardedIndex]
    value: object
    if customer_id is not None:
        lists, value = BY_CUSTOMER, customer_id
    elif created_by is not None:
        lists, value = BY_CREATOR, created_by
    elif status is not None:
        lists, value = (BY_STATUS, BY_STATUS), status.value
    else:
        lists, value = ALL_ORDERS, "order"
    by_id, by_time = lists
    condition = ""
    values: dict[str, Any] = {}
    timed = by_time is BY_STATUS or dated
    if dated:
        bounds = time_range("createdAt", first, end)
        if bounds is None:  # from = to: nothing is in [from, to)
            return Page([], None)
        condition, values = bounds
    query: dict[str, Any] = {"key_condition": condition, "values": values, "forward": order is SortOrder.ASC}
    filters: list[Condition] = []
    if customer_id is not None and created_by is not None:
        filters.append(Condition("#createdBy = :by", {":by": created_by}, {"#createdBy": "createdBy"}))
    if customer_id is not None and status is not None:
        filters.append(Condition("#status = :status", {":status": status.value}, {"#status": "status"}))
    if filters:
        query["filter_by"] = Condition(
            " AND ".join(f.expression for f in filters),
            {k: v for f in filters for k, v in f.values.items()},
            {k: v for f in filters for k, v in f.names.items()},
        )
    scope = scope_of(
        "/api/orders",
        {
            "customerId": customer_id,
            "status": status.value if status else None,
            "createdBy": created_by,
            "from": first,
            "to": end,
            "order": None if order is SortOrder.ASC else order.value,
        },
    )
    # every order in id order: the ids after the cursor are read by key first (EntityStore.id_ordered)
    by_key = lists is ALL_ORDERS and not timed
    return fetch_sharded(
        _reader(), by_time if timed else by_id, value, limit, cursor, scope, every_entity_by_id=by_key, **query
    )


UNSUPPORTED_COMBINATION = (
    "`createdBy` and `status` do not combine without `customerId`: no index holds one user's orders of "
    "one status. Supported: at most one of customerId, createdBy, status; or customerId with createdBy "
    "and/or status; each with from, to and order."
)


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
