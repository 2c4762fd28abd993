"""The order status lifecycle as a table, and the decisions taken from it: pure logic, no AWS."""

import pytest

from orders.lifecycle import check_deletable, check_transition
from orders.models import TRANSITIONS, Order, OrderStatus
from sales_common.errors import Conflict

C, S, D, X = OrderStatus.CONFIRMED, OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.CANCELLED


def test_every_status_has_an_entry():
    assert set(TRANSITIONS) == set(OrderStatus)


@pytest.mark.parametrize(("current", "allowed"), [(C, {S, X}), (S, {D}), (D, set()), (X, set())])
def test_allowed_changes(current, allowed):
    assert TRANSITIONS[current] == allowed


def test_no_status_goes_back_to_confirmed_or_to_itself():
    assert all(C not in targets and status not in targets for status, targets in TRANSITIONS.items())


def test_delivered_and_cancelled_are_final():
    assert not TRANSITIONS[D] and not TRANSITIONS[X]


def order(status: OrderStatus) -> Order:
    return Order.model_validate(
        {
            "id": 7,
            "customerId": 1,
            "status": status,
            "items": [{"productId": 1, "name": "p", "unitPrice": "1.00", "quantity": 2, "lineTotal": "2.00"}],
            "total": "2.00",
            "version": 1,
            "createdAt": "2026-12-01T00:00:00.000Z",
            "updatedAt": "2026-12-01T00:00:00.000Z",
        }
    )


@pytest.mark.parametrize("current", list(OrderStatus))
@pytest.mark.parametrize("target", list(OrderStatus))
def test_a_status_change_is_allowed_exactly_when_the_table_allows_it(current, target):
    if target in TRANSITIONS[current]:
        check_transition(order(current), target)
    else:
        with pytest.raises(Conflict, match=f"Order 7 is {current.value}; it cannot become {target.value}"):
            check_transition(order(current), target)


@pytest.mark.parametrize(
    ("current", "target", "says"),
    [
        (C, D, "(it can become CANCELLED or SHIPPED)."),
        (S, X, "(it can become DELIVERED)."),
        (D, X, "(it can become nothing: it is final)."),
        (X, C, "(it can become nothing: it is final)."),
    ],
)
def test_a_refused_status_change_says_what_the_order_can_become(current, target, says):
    """The 409 tells the client its way forward, not only that this change is refused."""
    with pytest.raises(Conflict) as refused:
        check_transition(order(current), target)
    assert refused.value.detail.endswith(says), refused.value.detail


@pytest.mark.parametrize("current", [C, X])
def test_confirmed_and_cancelled_orders_may_be_deleted(current):
    check_deletable(order(current))


@pytest.mark.parametrize("current", [S, D])
def test_fulfilled_orders_cannot_be_deleted(current):
    with pytest.raises(Conflict, match=f"Order 7 is {current.value}; fulfilled orders cannot be deleted") as refused:
        check_deletable(order(current))
    # why, and which orders can be, so the client knows what to do instead: the whole answer
    assert refused.value.detail == (
        f"Order 7 is {current.value}; fulfilled orders cannot be deleted: they are the record of stock that left. "
        "Only CONFIRMED (restocked) and CANCELLED orders can be."
    )


def test_a_store_without_the_products_table_refuses_to_restock():
    """The functions that only read orders are not given the Products table: fail closed."""
    from orders.repository import OrderStore
    from sales_common.errors import ConfigurationError
    from sales_common.settings import ServiceSettings

    store = OrderStore(ServiceSettings(TABLE_NAME="OrdersTable"))
    # what the operator reads in the log: which table, and the variable that names it
    with pytest.raises(ConfigurationError, match=r"^restocking needs the Products table \(PRODUCTS_TABLE_NAME\)$"):
        store.restock_op(7, order(C).items[0])
    assert OrderStore(store.settings, "ProductsTable").restock_op(7, order(C).items[0])["Update"]["Key"] == {
        "pk": {"S": "PRODUCT#1"}
    }
