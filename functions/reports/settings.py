"""Typed settings of the reports functions."""

from __future__ import annotations

from pydantic import Field

from sales_common.settings import ServiceSettings


class ProjectorSettings(ServiceSettings):
    """The projector: its table, and how often it plans an event again when another event changed
    a row it read (or a transaction conflicted) before its own write landed."""

    APPLY_ATTEMPTS: int = Field(default=8, ge=1, le=50)
