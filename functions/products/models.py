"""Request and response shapes of the Products service."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictInt, StrictStr, model_validator

from sales_common.models import MAX_STOCK, Amount, ApiModel, Count, Integral, Money, PartialUpdate, StoredModel

Name = Annotated[StrictStr, Field(min_length=1, max_length=200)]
Description = Annotated[StrictStr, Field(max_length=2000)]

DEFAULT_LOW_STOCK_THRESHOLD = 5
"""A product whose stock falls to this many units or fewer is low on stock (a `StockLow` event),
unless it names its own `lowStockThreshold`; products stored before the field existed have it too."""
LowStockThreshold = Annotated[
    Count,
    Field(
        description=(
            "Stock at or below this many units is low: the product's `StockLow` event is published "
            f"when its stock falls to it. Default {DEFAULT_LOW_STOCK_THRESHOLD}; 0 means when it sells out."
        )
    ),
]


class ProductCreate(ApiModel):
    name: Name
    price: Money
    description: Description | None = None
    stock: Count = 0
    low_stock_threshold: LowStockThreshold = DEFAULT_LOW_STOCK_THRESHOLD


class ProductUpdate(PartialUpdate):
    """PUT body: only the given fields change (at least one); `description: null` clears it.
    Setting `stock` needs If-Match (428 without)."""

    not_null = ("name", "price", "stock", "low_stock_threshold")

    name: Name | None = None
    price: Money | None = None
    description: Description | None = None
    stock: Count | None = None
    low_stock_threshold: LowStockThreshold | None = None


class StockAdjustmentCreate(ApiModel):
    """POST /api/products/{id}/stock-adjustments: a relative change, e.g. goods received (+) or
    written off (-)."""

    delta: Annotated[
        StrictInt,
        Field(
            ge=-MAX_STOCK,
            le=MAX_STOCK,
            json_schema_extra={"not": {"const": 0}},
            description="Units to add (negative: to remove); not 0.",
        ),
        Integral,
    ]
    reason: Annotated[StrictStr, Field(min_length=1, max_length=200, description="Why, for the audit record.")]

    @model_validator(mode="after")
    def _not_zero(self) -> StockAdjustmentCreate:
        if self.delta == 0:
            raise ValueError("delta must not be 0")
        return self


class Product(StoredModel):
    name: str
    price: Amount
    description: str | None = None
    stock: int
    low_stock_threshold: int = DEFAULT_LOW_STOCK_THRESHOLD
