"""Request and response shapes of the Orders service."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt
from pydantic.alias_generators import to_camel

from sales_common.models import Amount, ApiModel, EntityId, Integral, Money, StoredModel

MAX_ITEMS = 25
MAX_QUANTITY = 1000

Quantity = Annotated[StrictInt, Field(ge=1, le=MAX_QUANTITY), Integral]


class OrderStatus(StrEnum):
    CONFIRMED = "CONFIRMED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"


# Allowed status changes; anything else is a 409.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.CONFIRMED: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


class OrderItemIn(ApiModel):
    product_id: EntityId
    quantity: Quantity
    price: Money | None = Field(default=None, description="Optional: the catalog price the client expects.")


class OrderCreate(ApiModel):
    customer_id: EntityId
    items: Annotated[list[OrderItemIn], Field(min_length=1, max_length=MAX_ITEMS)]


class OrderStatusUpdate(ApiModel):
    status: OrderStatus


class OrderLine(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    product_id: int
    name: str
    unit_price: Amount
    quantity: int
    line_total: Amount


class Order(StoredModel):
    customer_id: int
    status: OrderStatus
    items: list[OrderLine]
    total: Amount


class PlacementPending(BaseModel):
    """202: the placement ran but its outcome could not be learnt in time (see docs/placement.md)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    order_id: int = Field(description="The order's id, if it was placed: GET /api/orders/{orderId} tells.")
    outcome: Literal["UNKNOWN"] = "UNKNOWN"
    detail: str
