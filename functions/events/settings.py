"""Typed settings of the event publisher."""

from __future__ import annotations

from pydantic import Field

from sales_common.settings import FunctionSettings


class PublisherSettings(FunctionSettings):
    """The bus to publish to, and how often a failed entry is sent again within one invocation."""

    EVENT_BUS_NAME: str = Field(min_length=1)
    PUT_EVENTS_ATTEMPTS: int = Field(default=3, ge=1, le=10)
    PUT_EVENTS_BACKOFF_SECONDS: float = Field(default=0.2, ge=0, le=5)
