"""Request and response shapes of the Customers service."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, StrictStr, WithJsonSchema

from sales_common.models import ApiModel, PartialUpdate, StoredModel

Name = Annotated[StrictStr, Field(min_length=1, max_length=200)]


# email-validator refuses addresses at special-use domains (RFC 6761: .test, .local, .invalid,
# ...); the schema says so, as a pattern they must not match (any letter case).
SPECIAL_USE_DOMAINS = ("arpa", "invalid", "local", "localhost", "onion", "test")
_SPECIAL_USE = "[@.](" + "|".join("".join(f"[{c.upper()}{c}]" for c in d) for d in SPECIAL_USE_DOMAINS) + ")$"


def _email(value: str) -> str:
    """A syntactically valid address (no DNS lookup), normalised as pydantic's EmailStr does."""
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(value, check_deliverability=False, globally_deliverable=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"value is not a valid email address: {exc}") from exc


Email = Annotated[
    StrictStr,
    Field(max_length=254),
    AfterValidator(_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 254, "not": {"pattern": _SPECIAL_USE}}),
]
Phone = Annotated[StrictStr, Field(max_length=40, pattern=r"^[0-9+()./ \-x]*$")]
Address = Annotated[StrictStr, Field(max_length=500)]


class CustomerCreate(ApiModel):
    name: Name
    email: Email
    phone: Phone | None = None
    address: Address | None = None


class CustomerUpdate(PartialUpdate):
    """PUT body: only the given fields change (at least one); phone and address may be cleared with null."""

    not_null = ("name", "email")

    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    address: Address | None = None


class Customer(StoredModel):
    name: str
    email: str
    phone: str | None = None
    address: str | None = None
