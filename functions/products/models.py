"""Request and response shapes of the Products service."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, model_validator

from sales_common.models import (
    MAX_STOCK,
    MULTI_LINE,
    NAME_MAX_LENGTH,
    SINGLE_LINE,
    Amount,
    ApiModel,
    Count,
    Integral,
    Money,
    PartialUpdate,
    StoredModel,
)

Name = Annotated[StrictStr, Field(min_length=1, max_length=NAME_MAX_LENGTH), SINGLE_LINE]
Description = Annotated[StrictStr, Field(max_length=2000), MULTI_LINE]


class ProductStatus(StrEnum):
    """ACTIVE: listed and orderable. ARCHIVED: no longer sold; hidden from the default list and
    refused in new orders, but its page, its orders and their restocks stay."""

    ACTIVE = "ACTIVE"
    ARCHIVED = "ARCHIVED"


class ProductListStatus(StrEnum):
    """`GET /api/products?status=`: which products the list shows (default ACTIVE)."""

    ACTIVE = "ACTIVE"
    ARCHIVED = "ARCHIVED"
    ALL = "ALL"


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
    Setting `stock` needs If-Match (428 without). `status` archives or unarchives."""

    not_null = ("name", "price", "stock", "low_stock_threshold", "status")

    name: Name | None = None
    price: Money | None = None
    description: Description | None = None
    stock: Count | None = None
    low_stock_threshold: LowStockThreshold | None = None
    status: ProductStatus | None = None


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
    reason: Annotated[
        StrictStr, Field(min_length=1, max_length=200, description="Why, for the audit record."), SINGLE_LINE
    ]

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
    # Products stored before statuses existed are active.
    status: ProductStatus = ProductStatus.ACTIVE


class StockAdjustment(BaseModel):
    """One entry of a product's stock history (`GET /api/products/{id}/stock-adjustments`), built
    from its audit record."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    delta: int
    reason: str
    stock_after: int | None = Field(
        default=None,
        alias="stockAfter",
        description="The stock right after this adjustment (absent on records made before it was kept).",
    )
    at: str = Field(validation_alias="createdAt", description="When (UTC, ISO 8601).")
    by: str | None = Field(default=None, validation_alias="createdBy", description="Who (username).")
