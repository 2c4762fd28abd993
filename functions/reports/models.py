"""Response shapes of the reports."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from sales_common.models import Amount


class GroupBy(StrEnum):
    DAY = "day"
    PRODUCT = "product"
    CUSTOMER = "customer"


class _Out(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


Orders = Annotated[int, Field(ge=0, description="Orders placed (on these days).")]
Cancelled = Annotated[int, Field(ge=0, description="Of them, those cancelled since.")]
Units = Annotated[int, Field(ge=0, description="Units sold, net of the cancelled orders.")]
Revenue = Annotated[Amount, Field(description="Revenue, net of the cancelled orders; exact, like every amount.")]


class SalesFigures(_Out):
    orders: Orders
    cancelled: Cancelled
    units: Units
    revenue: Revenue


class SalesRow(_Out):
    key: Annotated[str, Field(description="The day (YYYY-MM-DD, UTC), the product id or the customer id.")]
    name: Annotated[
        str | None,
        Field(description="The product's or customer's name as the reports last saw it (null: none known, or a day)."),
    ]
    orders: Orders
    cancelled: Cancelled
    units: Units
    revenue: Revenue


class SalesReport(_Out):
    """Sales on the days `from`..`to` (UTC, inclusive), one row per day, product or customer."""

    from_: Annotated[str, Field(alias="from", description="First day (YYYY-MM-DD, UTC).")]
    to: Annotated[str, Field(description="Last day, included.")]
    group_by: GroupBy
    as_of: Annotated[
        str | None,
        Field(description="When the newest event the reports applied occurred (null: none yet): how fresh they are."),
    ]
    rows: list[SalesRow]
    totals: Annotated[SalesFigures, Field(description="All orders of the range (not the sum of product rows).")]


class LowStockItem(_Out):
    product_id: int
    name: str | None
    stock: Annotated[int, Field(description="Units in stock; a placement still in flight counts as not taken.")]
    low_stock_threshold: int
