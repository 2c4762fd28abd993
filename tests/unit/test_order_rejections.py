"""Why an order is refused, as a typed rejection: its reason (the OrdersRejected metric's
dimension) and its HTTP status. Pure logic, no AWS."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders import rejections
from orders.catalog import Quote
from orders.models import OrderCreate, OrderItemIn
from orders.placement import explain_failure, merge_lines, price_lines
from orders.rejections import OrderRejected
from sales_common.errors import DomainError

ORDER = OrderCreate(customer_id=4, items=[OrderItemIn(product_id=1, quantity=3), OrderItemIn(product_id=2, quantity=1)])
LINES = merge_lines(ORDER.items)


def quote(product_id: int, price: str = "1.00", stock: int = 10) -> Quote:
    return Quote(product_id, f"product {product_id}", Decimal(price), stock)


def no_requote(product_ids: list[int]) -> dict[int, Quote]:
    raise AssertionError("only a refused reservation re-reads the products")


# The placement's input as prepared: product 1 at 1.00, product 2 at 1.00.
PAYLOAD = {"items": [{"productId": 1, "unitPrice": "1.00"}, {"productId": 2, "unitPrice": "1.00"}]}


def explain(reason, requote=no_requote):
    return explain_failure(reason, ORDER, LINES, requote, PAYLOAD)


@pytest.mark.parametrize(
    ("error", "reason", "status", "detail"),
    [
        (
            "CustomerNotFound",
            "CustomerNotFound",
            422,
            "Customer 4 does not exist; GET /api/customers lists them, POST creates one.",
        ),
        (
            "CustomerErased",
            "CustomerErased",
            422,
            "Customer 4 was erased; orders cannot be placed for it (place it for another customer).",
        ),
        (
            "CustomerCheckFailed",
            "CustomerCheckFailed",
            503,
            "The customer could not be checked; no stock was taken. Please retry.",
        ),
        ("ReservationFailed", "ReservationFailed", 503, "Stock could not be reserved; no stock is kept. Please retry."),
        ("OrderWriteFailed", "WriteFailed", 503, "The order could not be stored; no stock is kept. Please retry."),
        (
            "WorkflowFailed",
            "WorkflowFailed",
            503,
            "Order placement did not complete (WorkflowFailed); no stock is kept. Please retry.",
        ),
        (
            "Abandoned",
            "WorkflowFailed",
            503,
            "Order placement did not complete (Abandoned); no stock is kept. Please retry.",
        ),
        (None, "WorkflowFailed", 503, "Order placement did not complete (None); no stock is kept. Please retry."),
    ],
)
def test_each_recorded_outcome_is_a_rejection_naming_its_reason(error, reason, status, detail):
    rejected = explain(error)

    assert isinstance(rejected, OrderRejected)
    assert (rejected.reason, rejected.status) == (reason, status)
    assert rejected.detail == detail


def test_a_refused_reservation_is_explained_from_a_fresh_quote():
    catalog = {1: quote(1, stock=2), 2: quote(2), 3: quote(3, stock=0)}
    asked: list[list[int]] = []

    def requote(ids: list[int]) -> dict[int, Quote]:
        asked.append(ids)
        return {i: catalog[i] for i in ids}

    rejected = explain("Refused", requote)

    assert asked == [[1, 2]]  # the order's products, and only them

    assert (rejected.reason, rejected.status) == ("OutOfStock", 409)
    assert "product 1: 3 requested, 2 in stock" in rejected.detail


def test_a_product_deleted_during_placement_is_an_unknown_product():
    rejected = explain("Refused", lambda ids: {1: quote(1)})

    assert (rejected.reason, rejected.status) == ("UnknownProduct", 422)
    assert "Unknown product(s): 2;" in rejected.detail


def test_a_price_changed_since_the_quote_says_so_and_names_the_current_price():
    """Not "out of stock": the 409 says the price changed, and what it is now."""
    rejected = explain("Refused", lambda ids: {1: quote(1), 2: quote(2, "1.25", stock=0)})

    assert (rejected.reason, rejected.status) == ("PriceChanged", 409)
    assert "product 2 now costs 1.25 (quoted 1.00)" in rejected.detail
    assert "stock" not in rejected.detail
    assert rejected.errors == [{"field": "items", "message": "product 2 now costs 1.25", "type": "price_changed"}]


def test_a_refusal_that_no_longer_shows_was_a_conflict_worth_a_retry():
    """Exactly the ordered quantities in stock, the quoted prices: nothing explains the refusal."""
    rejected = explain("Refused", lambda ids: {1: quote(1, stock=3), 2: quote(2, stock=1)})

    assert (rejected.reason, rejected.status) == ("ReservationFailed", 503)
    assert rejected.detail == (
        "Stock could not be reserved because of concurrent changes to the same products; "
        "nothing was reserved. Please retry."
    )


def test_a_product_archived_during_placement_is_refused_as_archived():
    rejected = explain("Refused", lambda ids: {1: quote(1), 2: Quote(2, "Lamp", Decimal("1.00"), 10, archived=True)})

    assert (rejected.reason, rejected.status) == ("ProductArchived", 422)
    assert rejected.detail == "Archived product(s) cannot be ordered: 2 (Lamp). Nothing was reserved."
    assert rejected.errors == [{"field": "items", "message": "product 2 is archived", "type": "product_archived"}]


def test_every_product_repriced_during_placement_is_named_with_both_prices():
    rejected = explain("Refused", lambda ids: {1: quote(1, "0.90"), 2: quote(2, "1.25")})

    assert (rejected.reason, rejected.status) == ("PriceChanged", 409)
    assert rejected.detail == (
        "The price changed while the order was being placed: product 1 now costs 0.90 (quoted 1.00); "
        "product 2 now costs 1.25 (quoted 1.00). Nothing was reserved; review the prices and order again."
    )
    assert rejected.errors == [
        {"field": "items", "message": "product 1 now costs 0.90", "type": "price_changed"},
        {"field": "items", "message": "product 2 now costs 1.25", "type": "price_changed"},
    ]


def test_a_refusal_names_every_short_product():
    rejected = explain("Refused", lambda ids: {1: quote(1, stock=2), 2: quote(2, stock=0)})

    assert (rejected.reason, rejected.status) == ("OutOfStock", 409)
    assert rejected.detail == (
        "Insufficient stock (product 1: 3 requested, 2 in stock; product 2: 1 requested, 0 in stock). "
        "Nothing was reserved; order at most what is in stock."
    )


def test_every_product_deleted_during_placement_is_named():
    rejected = explain("Refused", lambda ids: {})

    assert rejected.detail == "Unknown product(s): 1, 2; GET /api/products lists the catalog."


@pytest.mark.parametrize(
    ("quotes", "reason", "status"),
    [
        ({1: quote(1)}, "UnknownProduct", 422),
        ({1: quote(1, stock=2), 2: quote(2)}, "OutOfStock", 409),
    ],
)
def test_what_the_quote_already_refuses_carries_its_reason(quotes, reason, status):
    with pytest.raises(OrderRejected) as refused:
        price_lines(LINES, quotes)

    assert (refused.value.reason, refused.value.status) == (reason, status)


def test_a_stale_price_is_a_price_mismatch():
    lines = merge_lines([OrderItemIn(product_id=1, quantity=1, price=Decimal("1.00"))])
    with pytest.raises(OrderRejected) as refused:
        price_lines(lines, {1: quote(1, "2.00")})

    assert (refused.value.reason, refused.value.status) == ("PriceMismatch", 409)


def test_a_request_that_contradicts_itself_is_no_rejection_of_the_order():
    """Invalid input is a 422 like any other, not counted as a rejected order."""
    with pytest.raises(DomainError) as refused:
        merge_lines(
            [
                OrderItemIn(product_id=1, quantity=1, price=Decimal("1.00")),
                OrderItemIn(product_id=1, quantity=1, price=Decimal("2.00")),
            ]
        )
    assert not isinstance(refused.value, OrderRejected)


def test_every_rejection_has_its_own_reason():
    kinds = [k for k in vars(rejections).values() if isinstance(k, type) and issubclass(k, OrderRejected)]
    concrete = [k for k in kinds if k is not OrderRejected]

    assert len({k.reason for k in concrete}) == len(concrete) == 11
    assert all(k.status in (409, 422, 503) for k in concrete)
