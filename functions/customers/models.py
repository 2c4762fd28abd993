"""Request and response shapes of the Customers service."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, StrictStr, WithJsonSchema, model_validator

from sales_common.models import ApiModel, StoredModel, partial_update_schema

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


class CustomerUpdate(ApiModel):
    """PUT body: only the given fields change (at least one); phone and address may be cleared with null."""

    model_config = ConfigDict(json_schema_extra=partial_update_schema("name", "email"))

    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    address: Address | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> CustomerUpdate:
        if not self.model_fields_set:
            raise ValueError("give at least one of name, email, phone, address")
        for field in ("name", "email"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null")
        return self


class Customer(StoredModel):
    name: str
    email: str
    phone: str | None = None
    address: str | None = None
