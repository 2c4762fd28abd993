"""The domain events' details: one envelope, one model per detail type.

Every detail carries the same envelope -- `eventId`, `occurredAt`, `actor`, `id`, `version` --
and `data`, the entity's public fields exactly as the API shows them: the services' own response
models (`Product`, `Customer`, `Order`), so a field added to the API is in the events too. A
detail type is the model's class name; its source is the service's (`sales.products`, ...).

The catalogue under docs/events/ (JSON Schema per detail type, and an AsyncAPI document) is
generated from these models (`make events-catalog`), and every event the test suite publishes is
validated against it.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from customers.models import Customer
from orders.models import Order, OrderStatus
from products.models import Product

CATALOGUE_VERSION = "1.1.0"
"""The catalogue's version (docs/events/asyncapi.yaml): the minor number grows when a field or a
detail type is added; a change that could break a consumer gets a new detail type instead."""

PRODUCTS = "sales.products"
CUSTOMERS = "sales.customers"
ORDERS = "sales.orders"
SYSTEM = "system"
"""The actor of what no user did directly (a StockLow, a change stored without a user)."""


class Envelope[D: BaseModel](BaseModel):
    """What every event's `detail` carries."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)
    source: ClassVar[str]

    event_id: Annotated[
        str,
        Field(
            json_schema_extra={"format": "uuid"},
            description=(
                "Derived from the change (table, key, version and detail type): the same change delivered "
                "twice has the same id. Deduplicate on it."
            ),
        ),
    ]
    occurred_at: Annotated[
        str,
        Field(
            json_schema_extra={"format": "date-time"},
            description="When the change was stored (UTC, ISO 8601).",
        ),
    ]
    actor: Annotated[
        str,
        Field(description='Who made the change: the username (the Cognito `sub`) of the caller, or "system".'),
    ]
    id: Annotated[int, Field(description="The entity's id.")]
    version: Annotated[
        int,
        Field(
            description=(
                "The entity's version after the change (for a deletion: the version it had). Events of one "
                "entity are published in version order; versions may skip (internal writes publish nothing)."
            )
        ),
    ]
    data: Annotated[D, Field(description="The entity's public fields, as the API shows them.")]

    @classmethod
    def detail_type(cls) -> str:
        return cls.__name__


# ---------------------------------------------------------------- products
class ProductEvent(Envelope[Product]):
    source = PRODUCTS


class ProductCreated(ProductEvent):
    """A product was created (POST /api/products)."""


class ProductUpdated(ProductEvent):
    """A product's public fields changed through its own API (PUT /api/products/{id}). Stock that
    orders take or give back is told by the order events, not here."""

    stock_delta: Annotated[
        int,
        Field(
            description=(
                "How much this change moved the stock: `data.stock` minus the stock before (0 when the stock did "
                "not change). With it, and `delta` of StockAdjusted and the order events' lines, a consumer can "
                "keep a product's stock as a sum, whatever order the events arrive in."
            )
        ),
    ]


class ProductDeleted(ProductEvent):
    """A product was deleted; `data` is the product as it was."""


class StockAdjusted(ProductEvent):
    """A manual, relative stock change (POST /api/products/{id}/stock-adjustments)."""

    adjustment_id: Annotated[str, Field(description="The adjustment's audit record id.")]
    delta: Annotated[int, Field(description="Units added (negative: removed).")]
    reason: Annotated[str, Field(description="Why, as the caller said.")]


class StockLow(ProductEvent):
    """The product's stock fell to or below its `lowStockThreshold`, whatever moved it (an order,
    an adjustment, a PUT). Published once per crossing: again only after the stock rose above the
    threshold and fell again."""

    stock: Annotated[
        int,
        Field(description="The stock that crossed the threshold, counting no order that is still being placed."),
    ]
    threshold: Annotated[int, Field(description="The product's lowStockThreshold at the time.")]


# ---------------------------------------------------------------- customers
class CustomerEvent(Envelope[Customer]):
    source = CUSTOMERS


class CustomerCreated(CustomerEvent):
    """A customer was created."""


class CustomerUpdated(CustomerEvent):
    """A customer's public fields changed."""


class CustomerDeleted(CustomerEvent):
    """A customer was deleted; `data` is the customer as they were."""


# ---------------------------------------------------------------- orders
class OrderEvent(Envelope[Order]):
    source = ORDERS


class OrderPlaced(OrderEvent):
    """An order was placed: its stock is taken (a rejected or compensated placement publishes nothing)."""


class OrderStatusChanged(OrderEvent):
    """An order moved along its lifecycle (CONFIRMED -> SHIPPED -> DELIVERED, CONFIRMED -> CANCELLED;
    a cancellation gave its stock back)."""

    from_: Annotated[OrderStatus, Field(alias="from", description="The status before.")]
    to: Annotated[OrderStatus, Field(description="The status after (also `data.status`).")]


class OrderDeleted(OrderEvent):
    """An order was deleted (a CONFIRMED one gave its stock back); `data` is the order as it was."""


CATALOGUE: tuple[type[Envelope[BaseModel]], ...] = (
    ProductCreated,
    ProductUpdated,
    ProductDeleted,
    StockAdjusted,
    StockLow,
    CustomerCreated,
    CustomerUpdated,
    CustomerDeleted,
    OrderPlaced,
    OrderStatusChanged,
    OrderDeleted,
)  # type: ignore[assignment]
"""Every detail type, in the order the catalogue lists them."""

BY_DETAIL_TYPE = {model.detail_type(): model for model in CATALOGUE}
