"""Pydantic building blocks shared by every service's request and response models."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictInt,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel

MAX_PRICE = Decimal("1000000")
CENT = Decimal("0.01")
MAX_ID = 2**53 - 1
"""Ids and versions stay below 2**53: exact in every JSON client and far inside DynamoDB's 38 digits."""


def _only_json_numbers(v: Any) -> Any:
    """Accept JSON numbers only (the API parses them as int or Decimal, never float)."""
    if isinstance(v, bool) or not isinstance(v, int | Decimal):
        raise ValueError("must be a JSON number")
    return v


def _whole_cents(v: Decimal) -> Decimal:
    """At most 2 decimals, checked exactly (pydantic's decimal_places lets `1e-999999999` through),
    and stored as cents so that no literal like `1.000...0` carries 40 digits into DynamoDB."""
    cents = v.quantize(CENT)
    if cents != v:
        raise ValueError("must have at most 2 decimal places")
    return cents


Money = Annotated[
    Decimal,
    BeforeValidator(_only_json_numbers),
    Field(gt=0, le=MAX_PRICE, decimal_places=2),
    AfterValidator(_whole_cents),
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


def _integral(v: Any) -> Any:
    """JSON Schema calls `1.0` an integer, so the API does too: an integral JSON number becomes an
    int. Booleans, strings and fractions stay errors."""
    if isinstance(v, Decimal) and v.is_finite() and v == v.to_integral_value():
        return int(v)
    return v


Integral = BeforeValidator(_integral)
"""Put after the bounds (`Annotated[StrictInt, Field(ge=..), Integral]`): the JSON schema then
shows them as minimum/maximum of the integer."""

MAX_STOCK = 1_000_000_000
EntityId = Annotated[StrictInt, Field(ge=1, le=MAX_ID), Integral]
Count = Annotated[StrictInt, Field(ge=0, le=MAX_STOCK), Integral]


class ApiModel(BaseModel):
    """Base for request bodies: camelCase on the wire, unknown fields rejected. Strings are taken
    as sent (no stripping), so that what the JSON schema accepts (`minLength`) is what the API
    accepts."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        strict=False,
    )


def _partial_update_schema(schema: dict[str, Any], model: type[BaseModel]) -> None:
    schema["minProperties"] = 1
    for name in getattr(model, "not_null", ()):
        field = model.model_fields[name]
        prop = schema["properties"].get(field.alias or name) or schema["properties"][name]
        options = [o for o in prop.pop("anyOf", []) if o != {"type": "null"}]
        prop.update(options[0] if len(options) == 1 else {"anyOf": options})
        prop.pop("default", None)


class PartialUpdate(ApiModel):
    """Base for PUT bodies: only the given fields change, and at least one must be given. The
    fields named in `not_null` may be left out but not set to null (the others: null clears them).
    The JSON schema says both: `minProperties: 1`, and `not_null` properties without the `null`
    that `X | None = None` adds (None there only means "not given")."""

    not_null: ClassVar[tuple[str, ...]] = ()

    model_config = ConfigDict(json_schema_extra=_partial_update_schema)

    @model_validator(mode="after")
    def _given_and_not_null(self) -> Self:
        fields = type(self).model_fields
        if not self.model_fields_set:
            raise ValueError(f"give at least one of {', '.join(f.alias or n for n, f in fields.items())}")
        for name in self.not_null:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{fields[name].alias or name} cannot be null")
        return self


class StoredModel(BaseModel):
    """Base for responses built from stored items (internal attributes such as pk are dropped)."""

    model_config = ConfigDict(extra="ignore", alias_generator=to_camel, populate_by_name=True)

    id: int
    version: int
    created_at: str
    updated_at: str
    # The username (token's `username` claim) of who created it and who last changed it through
    # its own routes. Absent on items stored before sign-in existed.
    created_by: str | None = None
    updated_by: str | None = None


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
