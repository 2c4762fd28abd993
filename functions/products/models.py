"""Request and response shapes of the Products service."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictInt, StrictStr, model_validator

from sales_common.models import MAX_STOCK, Amount, ApiModel, Count, Integral, Money, PartialUpdate, StoredModel

Name = Annotated[StrictStr, Field(min_length=1, max_length=200)]
Description = Annotated[StrictStr, Field(max_length=2000)]


class ProductCreate(ApiModel):
    name: Name
    price: Money
    description: Description | None = None
    stock: Count = 0


class ProductUpdate(PartialUpdate):
    """PUT body: only the given fields change (at least one); `description: null` clears it.
    Setting `stock` needs If-Match (428 without)."""

    not_null = ("name", "price", "stock")

    name: Name | None = None
    price: Money | None = None
    description: Description | None = None
    stock: Count | None = None


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
