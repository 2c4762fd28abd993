"""Merging an order's lines and pricing them from a quote: pure logic, no AWS."""

from decimal import Decimal

import pytest

from orders.catalog import Quote
from orders.models import MAX_QUANTITY, OrderItemIn
from orders.placement import merge_lines, order_total, price_lines
from sales_common.errors import Conflict, Unprocessable


def line(product_id: int, quantity: int, price: str | None = None) -> OrderItemIn:
    return OrderItemIn(product_id=product_id, quantity=quantity, price=None if price is None else Decimal(price))


def quote(product_id: int, price: str, stock: int) -> Quote:
    return Quote(product_id, f"product {product_id}", Decimal(price), stock)


def test_repeated_products_merge_into_one_line_with_the_quantities_added():
    merged = merge_lines([line(1, 2), line(2, 1), line(1, 3)])

    assert {pid: item.quantity for pid, item in merged.items()} == {1: 5, 2: 1}


def test_merging_keeps_the_price_one_of_the_lines_names():
    merged = merge_lines([line(1, 1), line(1, 1, "9.99")])

    assert merged[1].price == Decimal("9.99")


def test_merging_leaves_the_request_lines_untouched():
    first = line(1, 2)
    merge_lines([first, line(1, 3)])

    assert first.quantity == 2


def test_two_lines_naming_different_prices_for_one_product_are_422():
    with pytest.raises(Unprocessable, match="different prices"):
        merge_lines([line(1, 1, "9.99"), line(1, 1, "10.00")])


def test_merged_lines_obey_the_per_line_cap():
    assert merge_lines([line(1, MAX_QUANTITY - 1), line(1, 1)])[1].quantity == MAX_QUANTITY
    with pytest.raises(Unprocessable, match=f"more than {MAX_QUANTITY}"):
        merge_lines([line(1, MAX_QUANTITY), line(1, 1)])


def test_line_totals_are_exact_decimal_products_of_the_quoted_price():
    priced = price_lines(merge_lines([line(1, 3), line(2, 7)]), {1: quote(1, "0.10", 5), 2: quote(2, "19.99", 9)})

    assert priced == [
        {"productId": 1, "name": "product 1", "quantity": 3, "unitPrice": "0.10", "lineTotal": "0.30"},
        {"productId": 2, "name": "product 2", "quantity": 7, "unitPrice": "19.99", "lineTotal": "139.93"},
    ]


def test_a_product_missing_from_the_quote_is_422_naming_it():
    with pytest.raises(Unprocessable, match=r"Unknown product\(s\): 2"):
        price_lines(merge_lines([line(1, 1), line(2, 1)]), {1: quote(1, "1.00", 5)})


def test_a_price_the_catalog_no_longer_has_is_409():
    with pytest.raises(Conflict, match=r"costs 2\.00, not 1\.00"):
        price_lines(merge_lines([line(1, 1, "1.00")]), {1: quote(1, "2.00", 5)})


def test_more_than_the_quoted_stock_is_409_before_anything_is_reserved():
    with pytest.raises(Conflict, match="3 requested, 2 in stock"):
        price_lines(merge_lines([line(1, 3)]), {1: quote(1, "1.00", 2)})


def test_the_order_total_is_the_exact_sum_of_the_line_totals():
    priced = price_lines(merge_lines([line(1, 3), line(2, 7)]), {1: quote(1, "0.10", 5), 2: quote(2, "0.20", 9)})

    assert order_total(priced) == Decimal("1.70")  # 0.30 + 1.40: in binary floats, 1.7000000000000002
    assert str(order_total(priced)) == "1.70"


# ---------------------------------------------------------------- a product repeated in one order
@pytest.mark.parametrize("named", [0, 1, 2])
def test_a_price_named_on_any_line_of_a_repeated_product_is_checked_against_the_quote(named):
    """Whichever of the product's lines names the (stale) price, and however many lines it has,
    the merged line keeps it and the quote refuses it; a current price passes."""
    lines = [line(2, 1), line(1, 1), line(2, 2), line(2, 4)]
    stale = [*lines]
    stale[[0, 2, 3][named]] = line(2, stale[[0, 2, 3][named]].quantity, "5.00")
    quotes = {1: quote(1, "1.00", 9), 2: quote(2, "6.00", 9)}
    with pytest.raises(Conflict, match=r"product 2 costs 6\.00, not 5\.00"):
        price_lines(merge_lines(stale), quotes)
    current = [*lines]
    current[[0, 2, 3][named]] = line(2, current[[0, 2, 3][named]].quantity, "6.00")
    priced = price_lines(merge_lines(current), quotes)
    assert priced == [
        {"productId": 2, "name": "product 2", "quantity": 7, "unitPrice": "6.00", "lineTotal": "42.00"},
        {"productId": 1, "name": "product 1", "quantity": 1, "unitPrice": "1.00", "lineTotal": "1.00"},
    ]


def test_each_product_is_priced_from_its_own_quote():
    priced = price_lines(
        merge_lines([line(1, 1), line(2, 1), line(1, 1)]), {1: quote(1, "3.00", 9), 2: quote(2, "5.00", 9)}
    )
    assert [(p["productId"], p["unitPrice"], p["lineTotal"]) for p in priced] == [
        (1, "3.00", "6.00"),
        (2, "5.00", "5.00"),
    ]


# ---------------------------------------------------------------- what a refused order says
# The client reads these answers: each names every product concerned, the numbers it needs to
# fix the order, and (for the 422s) one `errors` entry per product.
def archived_quote(product_id: int) -> Quote:
    return Quote(product_id, f"product {product_id}", Decimal("1.00"), 9, archived=True)


def test_two_lines_naming_the_same_price_merge_into_one_line_at_that_price():
    merged = merge_lines([line(1, 1, "9.99"), line(1, 2, "9.99")])

    assert (merged[1].quantity, merged[1].price) == (3, Decimal("9.99"))


def test_lines_adding_up_past_the_cap_are_a_422_naming_the_product_and_the_cap():
    with pytest.raises(Unprocessable) as refused:
        merge_lines([line(2, 1), line(7, MAX_QUANTITY), line(7, 1)])

    assert refused.value.detail == f"Product 7: its lines add up to more than {MAX_QUANTITY} units."
    assert refused.value.errors == [
        {
            "field": "items",
            "message": f"quantities of product 7 add up to more than {MAX_QUANTITY}",
            "type": "less_than_equal",
        }
    ]


def test_ordering_exactly_the_quoted_stock_is_accepted():
    priced = price_lines(merge_lines([line(1, 2), line(1, 3)]), {1: quote(1, "1.00", 5)})

    assert [(p["productId"], p["quantity"]) for p in priced] == [(1, 5)]


def test_every_unknown_product_is_named():
    with pytest.raises(Unprocessable) as refused:
        price_lines(merge_lines([line(3, 1), line(1, 1), line(2, 1)]), {1: quote(1, "1.00", 5)})

    assert refused.value.detail == "Unknown product(s): 2, 3; GET /api/products lists the catalog."


def test_every_archived_product_is_named_with_one_error_each():
    quotes = {1: quote(1, "1.00", 5), 2: archived_quote(2), 3: archived_quote(3)}
    with pytest.raises(Unprocessable) as refused:
        price_lines(merge_lines([line(3, 1), line(1, 1), line(2, 1)]), quotes)

    assert refused.value.detail == (
        "Archived product(s) cannot be ordered: 2 (product 2), 3 (product 3). Nothing was reserved."
    )
    assert refused.value.errors == [
        {"field": "items", "message": "product 2 is archived", "type": "product_archived"},
        {"field": "items", "message": "product 3 is archived", "type": "product_archived"},
    ]


def test_every_stale_price_is_named_with_the_current_one():
    quotes = {1: quote(1, "2.00", 5), 2: quote(2, "3.00", 5), 3: quote(3, "4.00", 5)}
    with pytest.raises(Conflict) as refused:
        price_lines(merge_lines([line(1, 1, "1.00"), line(2, 1, "3.00"), line(3, 1, "3.50")]), quotes)

    assert refused.value.detail == (
        "Prices have changed: product 1 costs 2.00, not 1.00; product 3 costs 4.00, not 3.50. "
        "Send the current prices, or leave `price` out."
    )


def test_every_short_product_is_named_with_what_was_asked_and_what_is_there():
    quotes = {1: quote(1, "1.00", 2), 2: quote(2, "1.00", 9), 3: quote(3, "1.00", 0)}
    with pytest.raises(Conflict) as refused:
        price_lines(merge_lines([line(1, 3), line(2, 9), line(3, 1)]), quotes)

    assert refused.value.detail == (
        "Insufficient stock (product 1: 3 requested, 2 in stock; product 3: 1 requested, 0 in stock). "
        "Nothing was reserved; order at most what is in stock."
    )
