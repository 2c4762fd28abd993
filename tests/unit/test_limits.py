"""Every documented limit of a request body (docs/api.md), at its exact boundary: the last value
accepted and the first refused. The numbers are written out, not read from the code, so a limit
moved by one fails here. (The JSON parser's limits: test_jsonbody.py; the body size in bytes and
`limit` of lists: tests/integration/test_hostile_input.py.)"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from customers.models import CustomerCreate
from orders.models import OrderCreate
from orders.placement import merge_lines
from products.models import ProductCreate, StockAdjustmentCreate
from sales_common.errors import Unprocessable


def accepts(model: type[BaseModel], body: dict[str, Any]) -> bool:
    try:
        model.model_validate(body)
    except ValidationError:
        return False
    return True


def order(items: int = 1, quantity: int = 1, customer: int = 1) -> dict[str, Any]:
    return {"customerId": customer, "items": [{"productId": i + 1, "quantity": quantity} for i in range(items)]}


def product(**fields: Any) -> dict[str, Any]:
    return {"name": "Pen", "price": 1, **fields}


@pytest.mark.parametrize(
    ("model", "good", "bad"),
    [
        # orders: 1 to 25 items; quantity 1 to 1000; ids 1 to 2^53 - 1
        (OrderCreate, order(items=25), order(items=26)),
        (OrderCreate, order(items=1), order(items=0)),
        (OrderCreate, order(quantity=1000), order(quantity=1001)),
        (OrderCreate, order(quantity=1), order(quantity=0)),
        (OrderCreate, order(customer=2**53 - 1), order(customer=2**53)),
        (OrderCreate, order(customer=1), order(customer=0)),
        # products: name 1-200 chars, price > 0 and <= 1,000,000 with <= 2 decimals,
        # description <= 2000, stock 0..1,000,000,000
        (ProductCreate, product(name="n" * 200), product(name="n" * 201)),
        (ProductCreate, product(name="n"), product(name="")),
        (ProductCreate, product(price=Decimal("1000000")), product(price=Decimal("1000000.01"))),
        (ProductCreate, product(price=Decimal("0.01")), product(price=Decimal("0"))),
        (ProductCreate, product(price=Decimal("0.01")), product(price=Decimal("0.001"))),
        (ProductCreate, product(description="d" * 2000), product(description="d" * 2001)),
        (ProductCreate, product(stock=1_000_000_000), product(stock=1_000_000_001)),
        (ProductCreate, product(stock=0), product(stock=-1)),
        (StockAdjustmentCreate, {"delta": 1_000_000_000, "reason": "r"}, {"delta": 1_000_000_001, "reason": "r"}),
        (StockAdjustmentCreate, {"delta": -1_000_000_000, "reason": "r"}, {"delta": -1_000_000_001, "reason": "r"}),
        (StockAdjustmentCreate, {"delta": -1, "reason": "r" * 200}, {"delta": -1, "reason": "r" * 201}),
        (StockAdjustmentCreate, {"delta": 1, "reason": "r"}, {"delta": 0, "reason": "r"}),
        # customers: name 1-200 chars
        (CustomerCreate, {"name": "c" * 200, "email": "c@example.com"}, {"name": "c" * 201, "email": "c@example.com"}),
    ],
)
def test_the_last_value_inside_a_limit_passes_and_the_first_outside_is_refused(model, good, bad):
    assert accepts(model, good)
    assert not accepts(model, bad)


def test_a_repeated_products_lines_may_add_up_to_1000_units_and_no_more():
    items = OrderCreate.model_validate({"customerId": 1, "items": [{"productId": 1, "quantity": 500}] * 2}).items
    assert merge_lines(items)[1].quantity == 1000
    items = OrderCreate.model_validate(
        {"customerId": 1, "items": [{"productId": 1, "quantity": 500}, {"productId": 1, "quantity": 501}]}
    ).items
    with pytest.raises(Unprocessable, match="more than 1000 units"):
        merge_lines(items)
