"""Pydantic building blocks shared by every service's request and response models."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainSerializer,
    StrictInt,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

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


# ---------------------------------------------------------------- text
# The one rule for every text field of every entity (docs/text.md). Refused, with a 422 naming
# the field: control characters (Unicode category Cc: C0, DEL, C1, so NUL too), line breaks in a
# single-line field, the bidirectional embedding, override and isolate controls (which make
# "evil\u202egpj.exe" display as "evilexe.jpg"), and lone surrogates. Accepted text is stored
# in Unicode Normalization Form C, so that one name has one spelling. Lengths count the
# characters as sent (what the JSON schema's minLength/maxLength say).
LINE_BREAKS = frozenset("\n\r\u2028\u2029")
"""Allowed in multi-line fields only: LF and CR (both Cc), and U+2028/U+2029, Unicode's own line
and paragraph separators."""
BIDI_CONTROLS = frozenset(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))
"""LRE RLE PDF LRO RLO (U+202A-U+202E) and LRI RLI FSI PDI (U+2066-U+2069)."""

# The same rule as a JSON Schema pattern (ECMA-262), so that clients and generated tests see it.
_CC_BUT_BREAKS = r"\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f-\u009f"
_BIDI = r"\u202a-\u202e\u2066-\u2069"
SINGLE_LINE_PATTERN = rf"^[^{_CC_BUT_BREAKS}\u000a\u000d\u2028\u2029{_BIDI}]*$"
MULTI_LINE_PATTERN = rf"^[^{_CC_BUT_BREAKS}{_BIDI}]*$"


def _refused_character(value: str, multiline: bool) -> tuple[str, str] | None:
    """(what, code point) of the first character the text rule refuses in `value`, else None."""
    for char in value:
        point = f"U+{ord(char):04X}"
        if 0xD800 <= ord(char) <= 0xDFFF:
            return "a lone surrogate", point
        if char in LINE_BREAKS:
            if not multiline:
                return "a line break in a single-line field", point
        elif unicodedata.category(char) == "Cc":
            return "a control character", point
        elif char in BIDI_CONTROLS:
            return "a bidirectional formatting character", point
    return None


def check_text(value: Any, *, multiline: bool = False) -> Any:
    """The text rule (see above) for one value: refuses what it forbids, NFC-normalises the rest.
    Non-strings pass through untouched, for the field's type check to refuse."""
    if not isinstance(value, str):
        return value
    refused = _refused_character(value, multiline)
    if refused is not None:
        what, point = refused
        raise PydanticCustomError(
            "text_forbidden_character",
            "must not contain {what} ({point}); text may not hold control characters, bidirectional "
            "formatting characters or lone surrogates",
            {"what": what, "point": point},
        )
    return unicodedata.normalize("NFC", value)


# The longest name of a product or a customer (and so of a name prefix, `q`).
NAME_MAX_LENGTH = 200


@dataclass(frozen=True)
class TextRule:
    """`Annotated` metadata that puts a string field under the text rule: `Annotated[StrictStr,
    Field(max_length=...), SINGLE_LINE]`. It checks before pydantic's own str handling (which
    would refuse a lone surrogate with a vaguer message), so the length bounds count the
    characters as sent; and it adds the rule to the JSON schema as a `pattern`."""

    multiline: bool

    def check(self, value: Any) -> Any:
        return check_text(value, multiline=self.multiline)

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_before_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        found = handler(schema)
        # A field with a pattern of its own (a phone number) states a narrower rule already.
        found.setdefault("pattern", MULTI_LINE_PATTERN if self.multiline else SINGLE_LINE_PATTERN)
        return found


SINGLE_LINE = TextRule(multiline=False)
MULTI_LINE = TextRule(multiline=True)


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
