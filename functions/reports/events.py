"""The domain events the reports consume, read as any subscriber reads them: from the JSON that
EventBridge delivers (docs/events.md, the catalogue in docs/events/), not from the publisher's
code. Only the fields the projection needs are read, and fields it does not know are ignored
(the catalogue only ever adds fields).

Each SQS message body is one EventBridge event: ``{"id", "time", "source", "detail-type",
"detail": {"eventId", "occurredAt", "actor", "id", "version", "data", ...}}``. Numbers are read
as `Decimal`, so money stays exact.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

SOURCES = ("sales.products", "sales.customers", "sales.orders")
"""What the reports' rule on the bus routes to their queue (template.yaml, `ReportsRule`)."""

PRODUCT_EVENTS = frozenset({"ProductCreated", "ProductUpdated", "ProductDeleted", "StockAdjusted", "StockLow"})
CUSTOMER_EVENTS = frozenset({"CustomerCreated", "CustomerUpdated", "CustomerDeleted"})
ORDER_EVENTS = frozenset({"OrderPlaced", "OrderStatusChanged", "OrderDeleted"})
DELETIONS = frozenset({"ProductDeleted", "CustomerDeleted", "OrderDeleted"})
CANCELLED = "CANCELLED"
ARCHIVED = "ARCHIVED"

Kind = Literal["product", "customer", "order"]


class _Read(BaseModel):
    """camelCase on the wire; unknown fields ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)


class ProductData(_Read):
    id: int
    name: str
    stock: int
    low_stock_threshold: int = 5
    status: str | None = None  # ACTIVE or ARCHIVED, once products have a status


class CustomerData(_Read):
    id: int
    name: str | None = None  # an erased customer has none


class LineData(_Read):
    product_id: int
    quantity: int
    line_total: Decimal


class OrderData(_Read):
    id: int
    customer_id: int
    status: str
    items: list[LineData]
    total: Decimal
    created_at: str


class Detail(_Read):
    event_id: str = Field(min_length=1)
    occurred_at: str
    id: int
    version: int = Field(ge=1)
    data: dict[str, Any]
    stock_delta: int | None = None  # ProductUpdated (catalogue 1.1)
    delta: int | None = None  # StockAdjusted


class DomainEvent(BaseModel):
    """One delivered event: where it comes from, its type, and its detail."""

    model_config = ConfigDict(frozen=True)

    source: str
    detail_type: str
    detail: Detail

    @property
    def kind(self) -> Kind | None:
        """Which entity the event is about, None for a detail type the reports do not use."""
        if self.detail_type in PRODUCT_EVENTS:
            return "product"
        if self.detail_type in CUSTOMER_EVENTS:
            return "customer"
        if self.detail_type in ORDER_EVENTS:
            return "order"
        return None

    @property
    def deletion(self) -> bool:
        return self.detail_type in DELETIONS

    @property
    def rank(self) -> int:
        """Orders one entity's events: by version, and a deletion after any other event of the
        version it had (a deletion carries the version of the entity's last change)."""
        return rank(self.detail.version, self.deletion)

    @property
    def event_id(self) -> str:
        return self.detail.event_id

    @property
    def occurred_at(self) -> str:
        return self.detail.occurred_at

    def product(self) -> ProductData:
        return ProductData.model_validate(self.detail.data)

    def customer(self) -> CustomerData:
        return CustomerData.model_validate(self.detail.data)

    def order(self) -> OrderData:
        return OrderData.model_validate(self.detail.data)


def rank(version: int, deleted: bool) -> int:
    return version * 2 + int(deleted)


def parse(body: str | dict[str, Any]) -> DomainEvent:
    """An EventBridge event (the SQS message body, or the event as a dict); ValueError when it is
    not one."""
    raw = json.loads(body, parse_float=Decimal) if isinstance(body, str) else body
    if not isinstance(raw, dict):
        raise ValueError("not an EventBridge event")
    return DomainEvent.model_validate(
        {"source": raw.get("source"), "detail_type": raw.get("detail-type"), "detail": raw.get("detail")}
    )
