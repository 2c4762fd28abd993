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
    # How long a request waits for a racing request with the same key to prepare the placement
    # (a quote and a counter update); it then runs the same placement too.
    IDEMPOTENCY_WAIT_SECONDS: float = Field(default=3.0, ge=0)


class SweeperSettings(OrderSettings):
    """The stale-hold sweeper: the Orders table (placement records) and the Products table."""

    # A placement record still pending after this long belongs to no running execution (the
    # state machine's TimeoutSeconds is far shorter; tests/template/test_time_budgets.py).
    STALE_AFTER_SECONDS: int = Field(ge=1)
