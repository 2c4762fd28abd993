"""Request and response shapes of the Customers service."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, StrictStr, WithJsonSchema

from sales_common.models import MULTI_LINE, NAME_MAX_LENGTH, SINGLE_LINE, ApiModel, PartialUpdate, StoredModel

Name = Annotated[StrictStr, Field(min_length=1, max_length=NAME_MAX_LENGTH), SINGLE_LINE]


# email-validator refuses addresses at special-use domains (RFC 6761: .test, .local, .invalid,
# ...); the schema says so, as a pattern they must not match (any letter case).
SPECIAL_USE_DOMAINS = ("arpa", "invalid", "local", "localhost", "onion", "test")
_SPECIAL_USE = "[@.](" + "|".join("".join(f"[{c.upper()}{c}]" for c in d) for d in SPECIAL_USE_DOMAINS) + ")$"


def _email(value: str) -> str:
    """A syntactically valid address (no DNS lookup), kept as given (after the text rule's NFC):
    email-validator's normalised form would change the domain's case and spelling."""
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(value, check_deliverability=False, globally_deliverable=False)
    except EmailNotValidError as exc:
        raise ValueError(f"value is not a valid email address: {exc}") from exc
    return value


Email = Annotated[
    StrictStr,
    Field(max_length=254),
    SINGLE_LINE,
    AfterValidator(_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 254, "not": {"pattern": _SPECIAL_USE}}),
]
Phone = Annotated[StrictStr, Field(max_length=40, pattern=r"^[0-9+()./ \-x]*$"), SINGLE_LINE]
Address = Annotated[StrictStr, Field(max_length=500), MULTI_LINE]

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def email_identity(address: str) -> str:
    """What makes two addresses one: the address with its ASCII letters lowercased and nothing
    else folded. `Ann@X.com` and `ann@x.com` are one address; `straße@x.com` and
    `strasse@x.com` are two (str.lower and str.casefold would fold non-ASCII letters too)."""
    return address.translate(_ASCII_LOWER)


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
    """A customer; an erased one keeps only its id, its bookkeeping and when and by whom it was
    erased (its personal data, name, email, phone and address, are gone)."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    address: str | None = None
    erased_at: str | None = Field(default=None, description="When the customer's personal data was erased.")
    erased_by: str | None = Field(default=None, description="Who erased it (username).")
