"""Typed settings read from the function's environment.

Settings are read per call (cheap) rather than frozen at import, so one interpreter can run
several functions with different environments (tests, the in-process local cloud, which gives
each invocation its own view of `os.environ`).
"""

from __future__ import annotations

import os
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sales_common.errors import ConfigurationError


class FunctionSettings(BaseModel):
    """Settings every function reads. Field names are the environment variable names."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    STAGE: str = "dev"
    AWS_ENDPOINT_URL: str | None = None
    AWS_REGION: str | None = None
    AWS_DEFAULT_REGION: str | None = None

    @property
    def endpoint_url(self) -> str | None:
        return self.AWS_ENDPOINT_URL or None

    @property
    def region(self) -> str | None:
        return self.AWS_REGION or self.AWS_DEFAULT_REGION or None


class ServiceSettings(FunctionSettings):
    """Settings of a service's functions: their own table, and how many ids one counter update
    reserves (`EntityStore.allocate_id`; docs/adr/0034)."""

    TABLE_NAME: str = Field(min_length=1)
    ID_BLOCK_SIZE: int = Field(default=1, ge=1, le=1000)


S = TypeVar("S", bound=FunctionSettings)


def load_settings[S: FunctionSettings](model: type[S] = ServiceSettings) -> S:  # type: ignore[assignment]
    """Validate the environment against `model`; fail fast naming every bad variable."""
    try:
        return model.model_validate(dict(os.environ))
    except ValidationError as exc:
        problems = ", ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigurationError(f"invalid function configuration ({problems})") from exc
