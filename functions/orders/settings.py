"""Typed settings of the Orders functions."""

from __future__ import annotations

from pydantic import Field

from sales_common.settings import ServiceSettings


class OrderSettings(ServiceSettings):
    """Update/Delete: the Orders table plus the Products table they restock."""

    PRODUCTS_TABLE_NAME: str = Field(min_length=1)


class PlacementSettings(OrderSettings):
    """Create: also the workflow and the idempotency table."""

    PLACE_ORDER_STATE_MACHINE_ARN: str = Field(pattern=r"^arn:aws[\w-]*:states:")
    IDEMPOTENCY_TABLE_NAME: str = Field(min_length=1)
    IDEMPOTENCY_TTL_SECONDS: int = Field(default=24 * 3600, ge=60)
    IDEMPOTENCY_WAIT_SECONDS: float = Field(default=20.0, ge=0)
