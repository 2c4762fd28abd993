"""Pydantic building blocks shared by every service's request and response models."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, StrictInt, WithJsonSchema
from pydantic.alias_generators import to_camel

MAX_PRICE = Decimal("1000000")


def _only_json_numbers(v: Any) -> Any:
    """Accept JSON numbers only (the API parses them as int or Decimal, never float)."""
    if isinstance(v, bool) or not isinstance(v, int | Decimal):
        raise ValueError("must be a JSON number")
    return v


Money = Annotated[
    Decimal,
    BeforeValidator(_only_json_numbers),
    Field(gt=0, le=MAX_PRICE, decimal_places=2),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": 1000000, "multipleOf": 0.01}),
]
"""A positive amount with at most 2 decimals, exact (Decimal end to end)."""


def json_number(v: Decimal) -> int | float:
    return int(v) if v == v.to_integral_value() else float(v)


Amount = Annotated[
    Decimal,
    PlainSerializer(json_number, when_used="json"),
    WithJsonSchema({"type": "number", "minimum": 0}),
]
"""A stored exact amount in a response: a Decimal in Python, a JSON number on the wire. Our
bounds (<= 13 significant digits) make the shortest float repr exact."""

EntityId = Annotated[StrictInt, Field(ge=1)]
Count = Annotated[StrictInt, Field(ge=0, le=1_000_000_000)]


class ApiModel(BaseModel):
    """Base for request bodies: camelCase on the wire, unknown fields rejected."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        str_strip_whitespace=True,
        strict=False,
    )


class StoredModel(BaseModel):
    """Base for responses built from stored items (internal attributes such as pk are dropped)."""

    model_config = ConfigDict(extra="ignore", alias_generator=to_camel, populate_by_name=True)

    id: int
    version: int
    created_at: str
    updated_at: str


class FieldError(BaseModel):
    field: str
    message: str
    type: str


class Problem(BaseModel):
    """The one error body every endpoint returns (RFC 9457 application/problem+json)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] = []
