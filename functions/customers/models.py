"""Request and response shapes of the Customers service."""

from __future__ import annotations

from typing import Annotated

from pydantic import EmailStr, Field, StrictStr, model_validator

from sales_common.models import ApiModel, StoredModel

Name = Annotated[StrictStr, Field(min_length=1, max_length=200)]
Email = Annotated[EmailStr, Field(max_length=254)]
Phone = Annotated[StrictStr, Field(max_length=40, pattern=r"^[0-9+()./ \-x]*$")]
Address = Annotated[StrictStr, Field(max_length=500)]


class CustomerCreate(ApiModel):
    name: Name
    email: Email
    phone: Phone | None = None
    address: Address | None = None


class CustomerUpdate(ApiModel):
    """PUT body: only the given fields change; phone and address may be cleared with null."""

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
